"""Gate USDT perpetuals: `futures.public_liquidates` (every contract) liquidations and `futures.trades` prices.

Real frame (Gate futures WS docs, public liquidates push; the docs' trailing comma removed):
    {"channel":"futures.public_liquidates","event":"update","time":1541505434,"time_ms":1541505434123,
     "result":[{"price":215.1,"size":"-124","time_ms":1541486601123,"contract":"BTC_USDT"}]}
-> a long liquidated (size < 0 is the sell order that closed a long), qty |size| x quanto_multiplier
(contracts -> coins), price = the liquidation order's price, ts_event = result[].time_ms.

Sizes are strings that may be fractional when the connection sends `X-Gate-Size-Decimal: 1` (HEADERS;
without it Gate rounds fractional sizes down to integers, changelog 2025-12-09).

Completeness (checked 2026-12-01): the channel page says "each contract pushes at most one liquidation
order per second" (Gate futures WS v4 docs, zh_CN copy updated 2026-05-27). Its changelog lists the
channel's launch (2025-02-19) and decimal sizes (2025-12-09), and no later change to the push rule:
we found no changelog entry saying that every liquidation is now pushed, batched each second. So
this venue is `throttled` (counts censored, USD a lower bound) until Gate's docs say otherwise.

Contract sizes (`quanto_multiplier`) come from a module-level table (`set_contracts`, filled at
startup by `ingest.venue_setup`); a contract missing from it is a bad item, never a guess.

Market context (`futures.tickers` for the tracked contracts; fields verified 2026-12-01 against Gate's
FuturesTicker model (gateapi docs) and live captures quoted by public projects, which agree; the WS page
lists the same fields):
    {"time":1789456337,"time_ms":1789456337808,"channel":"futures.tickers","event":"update","result":[{
     "contract":"BTC_USDT","last":"77175.1","mark_price":"77183.5","funding_rate":"0.000072",
     "funding_interval":28800,"index_price":"77221.8","t":1789456337802,...}]}
-> MarketContext: funding per `funding_interval` s (28800: 8 h; others rescaled to 8 h), mark, index,
ts_event `t`. `total_size` (open interest in contracts) x quanto_multiplier is the OI in coins when the
push carries it; a push without it leaves OI to the merge's last value.
"""
from __future__ import annotations

import time
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
    ms_to_ns,
    number,
    positive,
    price_tick,
    symbol_of,
)
from ingest.exchanges.context_fields import DEFAULT_SYMBOLS as DEFAULT_CONTEXT_SYMBOLS
from ingest.exchanges.context_fields import FUNDING_8H, market_context, optional
from ingest.symbols import from_underscored

NAME = "gate"
URL = "wss://fx-ws.gateio.ws/v4/ws/usdt"
CONTRACTS_URL = "https://api.gateio.ws/api/v4/futures/usdt/contracts"
COMPLETENESS = "throttled"
HEADERS = {"X-Gate-Size-Decimal": "1"}
# Application ping (docs: `futures.ping` -> `futures.pong`). The runner sends KEEPALIVE verbatim, so the
# request `time` is a constant; the docs' pong echoes nothing of it (unverified against the live server).
KEEPALIVE: tuple[str, float] | None = ('{"time":0,"channel":"futures.ping"}', 15.0)
STALE_AFTER_S = 30.0  # futures.trades on BTC_USDT never pauses this long on a live connection
LIQUIDATES = "futures.public_liquidates"
TRADES = "futures.trades"
TICKERS = "futures.tickers"
_QUIET = ("futures.pong",)

_contracts: contract_specs.Table = contract_specs.bundled(NAME)


def set_contracts(table: contract_specs.Table) -> None:
    """Replace the quanto_multiplier table the parser uses (the runner calls it once at startup)."""
    global _contracts
    _contracts = dict(table)


def contract_rows(doc: Any) -> list[tuple[str, contract_specs.Spec]]:
    """Gate's contracts list -> (name, Spec); raises ValueError on an error body ({"label": ...})."""
    if not isinstance(doc, list):
        raise ValueError(f"not a contracts list: {str(doc)[:120]}")
    return contract_specs.skip_bad_rows(doc, lambda r: (str(r["name"]), contract_specs.spec(r["quanto_multiplier"])),
                                        NAME)


def contract(symbol: str) -> str:
    """Canonical `BTCUSDT` -> `BTC_USDT`."""
    if not symbol.endswith("USDT") or len(symbol) <= 4:
        raise ValueError(f"not a canonical USDT symbol: {symbol!r}")
    return f"{symbol[:-4]}_USDT"


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    return base


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    """`!all` contracts' liquidations (filtered downstream to tracked symbols), the BTC trades and the tracked
    contracts' tickers (market context)."""
    now = int(time.time())
    tickers = [contract(s) for s in dict.fromkeys(symbols or DEFAULT_CONTEXT_SYMBOLS)]
    return [orjson.dumps({"time": now, "channel": LIQUIDATES, "event": "subscribe", "payload": ["!all"]}).decode(),
            orjson.dumps({"time": now, "channel": TRADES, "event": "subscribe",
                          "payload": [contract(price_symbol)]}).decode(),
            orjson.dumps({"time": now, "channel": TICKERS, "event": "subscribe", "payload": tickers}).decode()]


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    return events_or_raise(parse_report(frame, ts_recv_ns))


def parse_report(frame: str | bytes, ts_recv_ns: int) -> Report:
    """Like `parse`, but returns skipped bad items of a batch instead of raising for them."""
    msg = load_object(frame)
    channel, event = msg.get("channel"), msg.get("event")
    error = msg.get("error")
    if error:  # {"error":{"code":2,"message":"invalid argument"}} on a refused request
        detail = f"{channel}: {str(error)[:200]}"
        if event == "subscribe":
            raise SubscriptionRejected(f"subscribe failed: {detail}", detail)
        raise BadFrame(f"error {detail}")
    if channel in _QUIET or event in ("subscribe", "unsubscribe"):
        return Report([], [])
    if event != "update":
        raise BadFrame(f"unknown event {event!r:.40} on {channel!r:.80}")
    if channel == LIQUIDATES:
        convert = _liquidation
    elif channel == TRADES:
        convert = _trade
    elif channel == TICKERS:
        convert = _ticker
    else:
        raise BadFrame(f"unknown channel {channel!r:.80}")
    result = msg.get("result")
    items = result if isinstance(result, list) else [result]
    return each_item(channel, items, lambda item: convert(item, ts_recv_ns))


def _sized(item: dict[str, Any]) -> tuple[str, str, float, float, float]:
    """(native, canonical, |contracts| x quanto_multiplier in the contract's unit, symbol multiplier, side sign)."""
    native = item.get("contract")
    symbol, mult = symbol_of(from_underscored, native)
    spec = _contracts.get(native)  # type: ignore[arg-type]
    if spec is None:
        raise BadFrame(f"no quanto_multiplier for {native!r} (refresh the contracts table)")
    size = number(item.get("size"), "size")
    if size == 0.0:
        raise BadFrame("size must be non-zero")
    return str(native), symbol, abs(size) * spec.size, mult, size


def _liquidation(item: dict[str, Any], ts_recv_ns: int) -> Liquidation:
    native, symbol, qty, mult, size = _sized(item)
    price = positive(item.get("price"), "price")
    return liquidation(NAME, symbol, native, LONG if size < 0 else SHORT, price / mult, qty * mult, qty * price,
                       ms_to_ns(item.get("time_ms"), "time_ms"), ts_recv_ns, COMPLETENESS)


def _trade(item: dict[str, Any], ts_recv_ns: int) -> PriceTick:
    _, symbol, qty, mult, _ = _sized(item)
    price = positive(item.get("price"), "price")
    return price_tick(NAME, symbol, price / mult, qty * mult,
                      ms_to_ns(item.get("create_time_ms"), "create_time_ms"), ts_recv_ns)


def _ticker(item: dict[str, Any], ts_recv_ns: int) -> MarketContext:
    """One contract's ticker -> MarketContext: total_size contracts -> coins, funding -> the 8 h basis."""
    native = item.get("contract")
    symbol, mult = symbol_of(from_underscored, native)
    oi = optional(item.get("total_size"), "total_size")
    if oi == oi:
        spec = _contracts.get(native)  # type: ignore[arg-type]
        if spec is None:
            raise BadFrame(f"no quanto_multiplier for {native!r} (refresh the contracts table)")
        oi *= spec.size * mult
    funding = optional(item.get("funding_rate"), "funding_rate")
    interval = item.get("funding_interval")
    if interval is not None:  # seconds between fundings
        funding *= FUNDING_8H * 3600 / positive(interval, "funding_interval")
    t = item.get("t")
    return market_context(NAME, symbol, str(native), oi=oi, funding=funding,
                          mark=optional(item.get("mark_price"), "mark_price") / mult,
                          index=optional(item.get("index_price"), "index_price") / mult,
                          ts_event=ms_to_ns(t, "t") if t is not None else ts_recv_ns, ts_recv=ts_recv_ns)
