"""BitMEX: the `liquidation` table (order-level, every instrument) and `trade:XBTUSD` prices.

Real frame (a `liquidation` insert as BitMEX sends it, from the bitmex-liquidation example on PyPI):
    {"table":"liquidation","action":"insert","data":[{"orderID":"8b4a95db-815a-f93a-c9a2-ffbbabeddbac",
     "symbol":"TRXZ19","side":"Buy","price":2.17e-06,"leavesQty":5000}]}
(TRXZ19 is a dated future: skipped). On XBTUSD `{"side":"Sell","price":60000,"leavesQty":3000}` is a
long liquidated (side is the liquidation ORDER's side: Sell closes a long), 3000 USD of notional
(XBTUSD contracts are 1 USD each, inverse), qty 3000 / 60000 = 0.05 BTC.

The table holds the liquidation orders currently in the book: `insert` is a new liquidation order (an
event, with leavesQty = its size), `update` only lowers leavesQty as it fills and `delete` removes it
(neither is a new liquidation), and the `partial` sent on subscribe lists orders that were already
in the book, which the previous connection (or nobody) saw inserted: not reported, so a reconnect
never counts an order twice. Rows carry no time: ts_event is the receive time.

Units: XBTUSD is inverse (1 USD per contract); linear contracts (XBTUSDT, ETHUSDT, ...) are
1/underlyingToPositionMultiplier coins each; quantos (ETHUSD, value in XBT) are skipped. Sizes come
from `ingest.contract_specs` (`set_contracts`, loaded at startup from /api/v1/instrument/active);
an instrument missing from the table is a bad item. XBT is BTC. Completeness: every liquidation
order is inserted in the table (`complete`), checked 2026-12-01 against BitMEX's WebSocket API docs
as read by public clients (tardis-node maps `insert` rows only, as here).

Market context (`instrument:<SYMBOL>` per tracked perpetual: XBTUSD for BTC, `<COIN>USDT` for the others;
fields verified 2026-12-01 against BitMEX's REST/WS instrument docs and a recorded instrument row in a
public client, which agree):
    {"table":"instrument","action":"partial","data":[{"symbol":"XBTUSD","isInverse":true,
     "fundingInterval":"2000-01-01T08:00:00.000Z","fundingRate":0.000224,"openInterest":286362900,
     "openValue":461319177384,"markPrice":62074.87,"indicativeSettlePrice":62072.67,
     "timestamp":"2024-03-02T02:44:11.507Z",...}]}
-> MarketContext: OI 286,362,900 USD (XBTUSD contracts are 1 USD) = openValue 4613.19 XBT (in XBt,
1e-8 XBT); linear contracts x their size in coins. Funding per `fundingInterval` (8 h on every perpetual
listed; a row naming another interval is rescaled, an update without one is taken as 8 h), mark, index =
`indicativeSettlePrice` (a perpetual's index). `partial` then `update`s carrying only the changed fields:
the missing ones are NaN and `ingest.context_merge` keeps the last; a row with no context field (a
last-price update) is no event.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from common.schema import LONG, SHORT, Liquidation, MarketContext, PriceTick
from ingest import contract_specs
from ingest.exchanges.base import (
    BadFrame,
    Event,
    Report,
    SubscriptionRejected,
    each_item,
    events_or_raise,
    liquidation,
    load_object,
    lookup,
    positive,
    price_tick,
    symbol_of,
)
from ingest.exchanges.context_fields import DEFAULT_SYMBOLS as DEFAULT_CONTEXT_SYMBOLS
from ingest.exchanges.context_fields import FUNDING_8H, NAN, market_context, optional
from ingest.symbols import QUOTES, from_bitmex

NAME = "bitmex"
URL = "wss://ws.bitmex.com/realtime"
CONTRACTS_URL = "https://www.bitmex.com/api/v1/instrument/active"
COMPLETENESS = "complete"
KEEPALIVE: tuple[str, float] | None = ("ping", 10.0)  # docs: text "ping" -> "pong"
STALE_AFTER_S = 30.0  # trade:XBTUSD never pauses this long on a live connection

_SIDE = {"Sell": LONG, "Buy": SHORT}  # the liquidation order's side -> the position it closes
_CONTEXT_FIELDS = ("openInterest", "openValue", "fundingRate", "markPrice", "indicativeSettlePrice")
XBT_PER_XBT_UNIT = 1e-8  # openValue of XBT-settled inverse contracts is in XBt (satoshis)
_FUNDING_EPOCH_NS = 946_684_800 * 1_000_000_000  # fundingInterval is a time on 2000-01-01
_contracts: contract_specs.Table = contract_specs.bundled(NAME)


def set_contracts(table: contract_specs.Table) -> None:
    """Replace the contract-size table the parser uses (the runner calls it once at startup)."""
    global _contracts
    _contracts = dict(table)


def _row(r: dict[str, Any]) -> tuple[str, contract_specs.Spec] | None:
    if r.get("isInverse"):
        return str(r["symbol"]), contract_specs.spec(1.0, "inverse")  # XBTUSD: 1 USD per contract
    if r.get("isQuanto"):
        return str(r["symbol"]), contract_specs.spec(1.0, "quanto")
    mult = r.get("underlyingToPositionMultiplier")
    return (str(r["symbol"]), contract_specs.spec(1.0 / float(mult))) if mult else None


def contract_rows(doc: Any) -> list[tuple[str, contract_specs.Spec]]:
    """BitMEX's active instruments -> (symbol, Spec); ValueError on an error body."""
    if not isinstance(doc, list):
        raise ValueError(f"not an instrument list: {str(doc)[:120]}")
    return contract_specs.skip_bad_rows(doc, _row, NAME)


def native_symbol(symbol: str) -> str:
    """Canonical `BTCUSDT` -> `XBTUSD` for the price feed (BitMEX's main, inverse book)."""
    base = symbol[:-4] if symbol.endswith("USDT") else symbol
    return f"{'XBT' if base == 'BTC' else base}USD"


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    return base


def context_symbol(symbol: str) -> str:
    """The perpetual whose instrument row gives a symbol's context: XBTUSD (BitMEX's main BTC book), else the
    linear `<COIN>USDT` (the `<COIN>USD` books of other coins are quantos, valued in XBT)."""
    native = native_symbol(symbol)
    return native if native == "XBTUSD" else f"{native.removesuffix('USD')}USDT"


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    """Every instrument's liquidations (filtered downstream to tracked symbols), the BTC trades and the tracked
    perpetuals' instrument rows (BitMEX acks or refuses each topic on its own)."""
    context = [f"instrument:{context_symbol(s)}" for s in dict.fromkeys(symbols or DEFAULT_CONTEXT_SYMBOLS)]
    args = ["liquidation", f"trade:{native_symbol(price_symbol)}", *context]
    return [orjson.dumps({"op": "subscribe", "args": args}).decode()]


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    return events_or_raise(parse_report(frame, ts_recv_ns))


def parse_report(frame: str | bytes, ts_recv_ns: int) -> Report:
    """Like `parse`, but returns skipped bad items of a batch instead of raising for them."""
    if frame in ("pong", b"pong"):
        return Report([], [])
    msg = load_object(frame)
    table = msg.get("table")
    if table is None:
        if "error" in msg:  # {"status":400,"error":"Unknown table: foo","request":{...}}
            detail = str(msg.get("error"))[:200]
            request = msg.get("request")
            if isinstance(request, dict) and request.get("op") == "subscribe":
                raise SubscriptionRejected(f"subscribe failed: {detail}", detail)
            raise BadFrame(f"error {detail}")
        if "info" in msg or "success" in msg:  # welcome banner, subscribe ack
            return Report([], [])
        raise BadFrame("no table")
    action, data = msg.get("action"), msg.get("data")
    if not isinstance(data, list):
        raise BadFrame(f"{table}: data is not an array")
    if table == "liquidation":
        if action in ("partial", "update", "delete"):
            return Report([], [])  # see the module docstring: only inserts are new liquidations
        convert = _liquidation
    elif table == "trade":
        convert = _trade
    elif table == "instrument":
        if action not in ("partial", "insert", "update"):
            raise BadFrame(f"unknown action {action!r:.40} on {table}")
        return each_item(table, data, lambda item: _instrument(item, ts_recv_ns))
    else:
        raise BadFrame(f"unknown table {table!r:.80}")
    if action not in ("partial", "insert"):
        raise BadFrame(f"unknown action {action!r:.40} on {table}")
    return each_item(table, data, lambda item: convert(item, ts_recv_ns))


def _contract(item: dict[str, Any]) -> tuple[str, str, float, contract_specs.Spec]:
    """(native, canonical, symbol multiplier, contract spec) of a row; BadFrame for an unknown or quanto one."""
    native = item.get("symbol")
    symbol, mult = symbol_of(from_bitmex, native)
    spec = _contracts.get(native)  # type: ignore[arg-type]
    if spec is None or spec.kind == "quanto":
        raise BadFrame(f"no contract size for {native!r}" + (" (quanto)" if spec else " (refresh the table)"))
    return str(native), symbol, mult, spec


def _sized(item: dict[str, Any], qty_field: str) -> tuple[str, str, float, float, float]:
    """(native, canonical, price per coin, qty in coins, USD notional) of one row."""
    native, symbol, mult, spec = _contract(item)
    price = positive(item.get("price"), "price")
    contracts = positive(item.get(qty_field), qty_field)
    if spec.kind == "inverse":
        notional = contracts * spec.size
        return native, symbol, price / mult, notional / price * mult, notional
    qty = contracts * spec.size
    return native, symbol, price / mult, qty * mult, qty * price


def _liquidation(item: dict[str, Any], ts_recv_ns: int) -> Liquidation | None:
    native = item.get("symbol")
    if isinstance(native, str) and not native.endswith(QUOTES):
        return None  # dated futures (XBTZ26, TRXZ19) share the table: not perpetuals, not bad
    side = lookup(_SIDE, item.get("side"), "side")
    native, symbol, price, qty, notional = _sized(item, "leavesQty")
    return liquidation(NAME, symbol, native, side, price, qty, notional, ts_recv_ns, ts_recv_ns, COMPLETENESS)


def _trade(item: dict[str, Any], ts_recv_ns: int) -> PriceTick:
    _, symbol, price, qty, _ = _sized(item, "size")
    return price_tick(NAME, symbol, price, qty, _iso_ns(item.get("timestamp")), ts_recv_ns)


def _iso_ns(value: object) -> int:
    """BitMEX times are ISO 8601 strings ("2026-12-01T05:00:00.123Z") -> ns."""
    if not isinstance(value, str) or len(value) > 40:
        raise BadFrame(f"bad timestamp {value!r:.80}")
    try:
        when = datetime.fromisoformat(value)
        ns = int(when.timestamp() * 1000) * 1_000_000
    except (ValueError, OverflowError):
        raise BadFrame(f"bad timestamp {value!r:.80}") from None
    if when.tzinfo is None or not 0 < ns < 2**63:
        raise BadFrame(f"timestamp out of range {value!r:.80}")
    return ns


def _instrument(item: dict[str, Any], ts_recv_ns: int) -> MarketContext | None:
    """One instrument row (partial or update) -> the context fields it carries; None for a row with none."""
    if not any(k in item for k in _CONTEXT_FIELDS):
        return None
    native, symbol, mult, spec = _contract(item)
    mark = optional(item.get("markPrice"), "markPrice")
    contracts = optional(item.get("openInterest"), "openInterest")
    if spec.kind == "inverse":  # contracts are USD; the coins are openValue (XBt), or USD / mark
        oi_usd = contracts * spec.size
        value = optional(item.get("openValue"), "openValue")
        oi = value * XBT_PER_XBT_UNIT if value == value else oi_usd / mark
    else:
        oi, oi_usd = contracts * spec.size, NAN
    ts = item.get("timestamp")
    return market_context(NAME, symbol, native, oi=oi * mult, oi_usd=oi_usd,
                          funding=optional(item.get("fundingRate"), "fundingRate") * _per_8h(item),
                          mark=mark / mult, index=optional(item.get("indicativeSettlePrice"),
                                                           "indicativeSettlePrice") / mult,
                          ts_event=_iso_ns(ts) if ts is not None else ts_recv_ns, ts_recv=ts_recv_ns)


def _per_8h(item: dict[str, Any]) -> float:
    """Factor from the row's funding interval to the 8 h basis (1 when the row does not name it)."""
    interval = item.get("fundingInterval")
    if interval is None:
        return 1.0
    hours = (_iso_ns(interval) - _FUNDING_EPOCH_NS) / 3.6e12
    if not 0 < hours <= 24 * 7:
        raise BadFrame(f"bad fundingInterval {interval!r:.40}")
    return FUNDING_8H / hours
