"""dYdX v4: trades of type LIQUIDATED on the indexer's `v4_trades` channel (complete), BTC-USD trades as prices.

Real frame (shape of the indexer's TradeChannelData; nautilus_trader dYdX test data, one item typed
LIQUIDATED here, see tests/data/dydx/SOURCES.md):
    {"type":"channel_data","connection_id":"conn-abc123-def456-ghi789","message_id":3,"id":"BTC-USD",
     "channel":"v4_trades","version":"1.0.0","contents":{"trades":[{"id":"trade-002","side":"SELL",
     "size":"1.2","price":"43248.0","type":"LIQUIDATED","createdAt":"2024-01-01T00:00:01.000Z",
     "createdAtHeight":"12345678"}]}}
-> a long liquidated, qty 1.2 BTC (size is in base units), price 43248, ts_event createdAt, symbol
BTCUSDT.

Side: a trade is the taker fill ("Unique id of the trade, which is the taker fill id", indexer
websocket docs) and its `side` is the taker's order side. TradeType LIQUIDATED is "the trade type for
a fill with a liquidated taker order" (v4-chain indexer, postgres trade-types.ts): the taker is the
liquidated subaccount, so SELL closed a long (long liquidated) and BUY a short. DELEVERAGED trades
(a bankrupt position closed against an offsetting one, auto-deleveraging) are not counted as
liquidations, as on Hyperliquid. tardis-dev's dYdX v4 mapper maps LIQUIDATED the same way (its
`sell` is a long liquidation); no disagreement to settle. Verified 2026-12-01 against
docs.dydx.xyz (TradeType: Limit, Liquidated, Deleveraged) and the indexer websocket docs.

Symbols: `BTC-USD` becomes BTCUSDT, the repo's one canonical symbol per coin (OKX's inverse
BTC-USD-SWAP does the same), so dYdX flow aggregates with the USDT venues; native_symbol keeps
`BTC-USD`.

Replay: the `subscribed` reply carries the market's recent trades (the REST /v4/trades page). Its
liquidations younger than REPLAY_MAX_AGE_S at receipt are kept (they cover the gap of a
reconnect; repeats are dropped by the ingester's Deduper); older ones are history, not news, and
are skipped rather than replayed as a burst.

Limits: no all-markets channel, so one subscription per tracked market (DEFAULT_SYMBOLS when none
are configured), at most 32 per connection (the first 32 are kept) and 2 subscribe messages per
second (the runner paces them, SUBSCRIBE_INTERVAL_S; nautilus_trader's dYdX client applies the same
limits, citing dYdX's indexer websocket rate limits). The server pings every 30 s (protocol ping,
answered by the library).

Market context (`v4_markets`, one subscription for every market; verified 2026-12-01 against the
v4-chain indexer websocket docs and its message types):
    {"type":"channel_data","channel":"v4_markets","version":"0.0.1","contents":{"trading":{"BTC-USD":
     {"nextFundingRate":"0.00006821875"}},"oraclePrices":{"BTC-USD":{"oraclePrice":"60001.75",
     "effectiveAt":"2026-08-27T00:00:00.000Z","effectiveAtHeight":"123456","marketId":0}}}}
-> MarketContext per market: `openInterest` (base units: coins), `nextFundingRate` (hourly: x 8 for the
8 h basis), the oracle price as both mark and index (dYdX margins and liquidates at the oracle price, and
the oracle is its index: its basis is 0 by construction), ts_event `effectiveAt` for oracle prices and the
receive time for trading updates (they carry no time). The `subscribed` reply lists every market
(`contents.markets`, the REST /v4/perpetualMarkets page); updates carry only changed fields, and a market
update with none of ours (24 h volume alone) is no event. Docs and indexer disagree on the oracle field:
the older docs' interface says `price`, the current docs and the indexer's types say `oraclePrice`; we
read `oraclePrice`, then `price`.
"""
from __future__ import annotations

from typing import Any

import orjson

from common.schema import LONG, SHORT, Liquidation, MarketContext, PriceTick
from ingest.exchanges.base import (
    BadFrame,
    Event,
    Report,
    events_or_raise,
    iso_to_ns,
    liquidation,
    load_object,
    lookup,
    positive,
    price_tick,
    symbol_of,
)
from ingest.exchanges.context_fields import FUNDING_8H, market_context, optional
from ingest.symbols import from_dash

NAME = "dydx"
URL = "wss://indexer.dydx.trade/v4/ws"
COMPLETENESS = "complete"  # every liquidation trade
KEEPALIVE: tuple[str, float] | None = None  # the server pings every 30 s; the websockets library answers
STALE_AFTER_S = 60.0  # BTC-USD trades can pause tens of seconds on dYdX; a 30 s watchdog would flap
REPLAY_MAX_AGE_S = 120.0
SUBSCRIBE_INTERVAL_S = 0.55  # the indexer takes at most 2 subscribe messages per second per connection
MAX_MARKETS = 32  # and at most 32 v4_trades subscriptions per connection
CHANNEL = "v4_trades"
MARKETS = "v4_markets"
FUNDING_HOURS = 1.0  # dYdX funding accrues every hour
LIQUIDATED = "LIQUIDATED"
DELEVERAGED = "DELEVERAGED"  # neither a liquidation nor a market price (filled at the bankruptcy price)
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "LINKUSDT", "AVAXUSDT",
                   "SUIUSDT", "LTCUSDT", "ADAUSDT")

_SIDE = {"SELL": LONG, "BUY": SHORT}  # the liquidated taker's order side -> its position
_QUIET = ("connected", "unsubscribed", "pong")


def ticker(symbol: str) -> str:
    """Canonical `BTCUSDT` -> dYdX market `BTC-USD`."""
    return f"{symbol[:-4]}-USD" if symbol.endswith("USDT") else f"{symbol}-USD"


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    return base


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    """One v4_trades subscription per market, the price market first so liveness starts at once, then the
    one v4_markets subscription (context for every market), then the other markets' trades."""
    markets = list(dict.fromkeys(ticker(s) for s in (price_symbol, *(symbols or DEFAULT_SYMBOLS))))
    trades = [orjson.dumps({"type": "subscribe", "channel": CHANNEL, "id": m}).decode() for m in markets[:MAX_MARKETS]]
    return [trades[0], orjson.dumps({"type": "subscribe", "channel": MARKETS}).decode(), *trades[1:]]


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    return events_or_raise(parse_report(frame, ts_recv_ns))


def parse_report(frame: str | bytes, ts_recv_ns: int) -> Report:
    """Like `parse`, but returns skipped bad items of a batch instead of raising for them."""
    msg = load_object(frame)
    kind = msg.get("type")
    if kind in _QUIET:
        return Report([], [])
    if kind == "error":
        raise BadFrame(f"error: {str(msg.get('message'))[:200]}")
    if kind not in ("subscribed", "channel_data", "channel_batch_data"):
        raise BadFrame(f"unknown message type {kind!r:.80}")
    if msg.get("channel") == MARKETS:
        return _markets(kind, msg.get("contents"), ts_recv_ns)
    if msg.get("channel") != CHANNEL:
        raise BadFrame(f"unexpected channel {msg.get('channel')!r:.80}")
    native = msg.get("id")
    symbol, mult = symbol_of(from_dash, native)
    contents = msg.get("contents")
    batches = contents if kind == "channel_batch_data" else [contents]
    if not isinstance(batches, list):
        raise BadFrame("batched contents is not an array")
    min_ts = ts_recv_ns - int(REPLAY_MAX_AGE_S * 1e9) if kind == "subscribed" else 0
    events: list[Event] = []
    skipped: list[str] = []
    for part in batches:
        trades = part.get("trades") if isinstance(part, dict) else None
        if not isinstance(trades, list):
            raise BadFrame("contents without a trades array")
        for item in trades:
            try:
                ev = _trade(item, str(native), symbol, mult, ts_recv_ns)
            except BadFrame as exc:
                skipped.append(f"{native}: {exc}")
                continue
            if ev is None or (isinstance(ev, Liquidation) and ev.ts_event < min_ts):
                continue  # deleveraging; or history in the subscribe reply, not a live liquidation
            events.append(ev)
    return Report(events, skipped)


def _trade(item: Any, native: str, symbol: str, mult: float, ts_recv_ns: int) -> Liquidation | PriceTick | None:
    if not isinstance(item, dict):
        raise BadFrame("trade is not an object")
    if item.get("type") == DELEVERAGED:
        return None
    price = positive(item.get("price"), "price")
    qty = positive(item.get("size"), "size")
    ts = iso_to_ns(item.get("createdAt"), "createdAt")
    if item.get("type") != LIQUIDATED:
        return price_tick(NAME, symbol, price / mult, qty * mult, ts, ts_recv_ns)
    side = lookup(_SIDE, item.get("side"), "side")
    return liquidation(NAME, symbol, native, side, price / mult, qty * mult, qty * price, ts, ts_recv_ns,
                       COMPLETENESS)


def _markets(kind: object, contents: object, ts_recv_ns: int) -> Report:
    """A v4_markets message (the subscribe reply's `markets`, or updates' `trading` / `oraclePrices`, possibly
    batched) -> one MarketContext per market it names with a context field."""
    parts = contents if kind == "channel_batch_data" else [contents]
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise BadFrame("v4_markets contents is not an object")
    events: list[Event] = []
    skipped: list[str] = []
    for part in parts:
        for key, convert in (("markets", _market), ("trading", _market), ("oraclePrices", _oracle)):
            table = part.get(key, {})
            if not isinstance(table, dict):
                raise BadFrame(f"v4_markets {key} is not an object")
            for native, item in table.items():
                try:
                    if not isinstance(item, dict):
                        raise BadFrame("not an object")
                    ev = convert(native, item, ts_recv_ns)
                except BadFrame as exc:
                    skipped.append(f"{MARKETS} {native!r:.40}: {exc}")
                    continue
                if ev is not None:
                    events.append(ev)
    return Report(events, skipped)


def _market(native: str, item: dict[str, Any], ts_recv_ns: int) -> MarketContext | None:
    """A market's trading fields: open interest in coins, hourly funding -> 8 h, the oracle price if listed."""
    oi = optional(item.get("openInterest"), "openInterest")
    funding = optional(item.get("nextFundingRate"), "nextFundingRate") * (FUNDING_8H / FUNDING_HOURS)
    oracle = optional(item.get("oraclePrice"), "oraclePrice")
    if oi != oi and funding != funding and oracle != oracle:
        return None  # an update of fields we do not read (24 h volume, status)
    symbol, mult = symbol_of(from_dash, native)
    return market_context(NAME, symbol, native, oi=oi * mult, funding=funding, mark=oracle / mult,
                          index=oracle / mult, ts_event=ts_recv_ns, ts_recv=ts_recv_ns)


def _oracle(native: str, item: dict[str, Any], ts_recv_ns: int) -> MarketContext:
    symbol, mult = symbol_of(from_dash, native)
    price = positive(item.get("oraclePrice", item.get("price")), "oraclePrice") / mult
    at = item.get("effectiveAt")
    return market_context(NAME, symbol, native, mark=price, index=price,
                          ts_event=iso_to_ns(at, "effectiveAt") if at is not None else ts_recv_ns, ts_recv=ts_recv_ns)
