"""Lighter: liquidations from the `trade/{market_id}` channel's `liquidation_trades` (complete), BTC trades as prices.

Real frame (Lighter websocket docs' trade channel shape; nautilus_trader Lighter test data, the
item moved to `liquidation_trades` and typed "liquidation" here, see tests/data/lighter/SOURCES.md):
    {"channel":"trade:1","liquidation_trades":[{"trade_id":16164557907,"type":"liquidation",
     "market_id":1,"size":"0.1336","price":"97181.8","is_maker_ask":false,"timestamp":1773854156654,
     ...}],"nonce":8630448841,"trades":[],"type":"update/trade"}
-> a long liquidated, qty 0.1336 BTC (size is in base units), price 97181.8, ts_event timestamp (ms).

Which trades: Lighter's Trade `type` is one of trade, liquidation, deleverage, market-settlement
(Lighter's OpenAPI / TS client enum). Items of type "liquidation" count, from `liquidation_trades`
and, should the server also list them there, from `trades` (one per trade_id per frame). Deleverage
(ADL) and market-settlement trades are not liquidations and not market prices.

Side (verified 2026-12-01 only as far as the docs go; no recorded liquidation frame was in the
reference index): the liquidation engine closes the account with an order that takes liquidity ("a
partial liquidation sells into the book", df-lighter-core's reading of Lighter's liquidations API),
so the liquidated account is the taker. `is_maker_ask` false means the maker sold, so the taker sold:
a long was liquidated; true: a short. Where the trade carries the taker's signed
`taker_position_size_before` (REST trades do), its sign must agree, else the item is a bad frame:
a wrong assumption shows up as counted bad frames, never as inverted sides.

Markets are integer ids (0 ETH, 1 BTC, ...): `set_markets` installs the id table
(`ingest.lighter_markets`, bundled, refreshed at startup by `ingest.venue_setup`). There is no
all-markets channel: one subscription per tracked market (every market of the table when none is
configured).

Replay: the `subscribed/trade` reply repeats recent trades. Its liquidations younger than
REPLAY_MAX_AGE_S are kept (they cover a reconnect's gap; repeats are dropped by the ingester's
Deduper); older ones are history and skipped. Keepalive: the server closes connections that sent
nothing for 2 minutes; we send `{"type":"ping"}` every 20 s, and its pong keeps a quiet
feed from looking stale.

Market context (`market_stats/{market_id}` per tracked market; fields verified 2026-12-01 against
Lighter's websocket reference and live frames quoted by public clients):
    {"channel":"market_stats:0","market_stats":{"market_id":0,"index_price":"3335.04",
     "mark_price":"3335.09","open_interest":"235.25","current_funding_rate":"0.0057",
     "funding_rate":"0.0005","funding_timestamp":1722337200000,...},"type":"update/market_stats"}
-> MarketContext: mark, index, funding = `current_funding_rate` (the live estimate, as Bybit's and
Binance's are; `funding_rate` is the last settled one). Units, which the docs do not state:
`open_interest` is read as USD (one side), as a data vendor's Lighter tables and a public OI
aggregator that sums it across markets read it; coins = USD / mark. Funding rates are in percent per
hour (Lighter clamps funding at 0.5 % an hour; the docs' 0.0057 and live frames' -0.0019 are
plausible only as percent): / 100 x 8 for the 8 h basis. Updates carry only changed fields and
(newer frames) a message `timestamp` in ms; a frame without one takes the receive time.
"""
from __future__ import annotations

from typing import Any

import orjson

from common.schema import LONG, SHORT, Liquidation, MarketContext, PriceTick
from ingest import lighter_markets
from ingest.exchanges.base import (
    BadFrame,
    Event,
    Report,
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
from ingest.symbols import canonical

NAME = "lighter"
URL = "wss://mainnet.zklighter.elliot.ai/stream"
COMPLETENESS = "complete"  # every liquidation trade
KEEPALIVE: tuple[str, float] | None = ('{"type":"ping"}', 20.0)  # docs: something every 2 min; pongs prove liveness
STALE_AFTER_S = 30.0  # BTC trades on Lighter never pause this long on a live connection
REPLAY_MAX_AGE_S = 120.0
LIQUIDATION = "liquidation"

_QUIET = ("connected", "ping", "pong", "unsubscribed/trade", "unsubscribed/market_stats")
_STATS = ("subscribed/market_stats", "update/market_stats")
FUNDING_PERCENT_PER_HOUR = FUNDING_8H / 100.0  # Lighter's percent per hour -> a fraction per 8 h
_markets: lighter_markets.Table = lighter_markets.bundled()


def set_markets(table: lighter_markets.Table) -> None:
    """Replace the market-id table (the runner calls it once at startup)."""
    global _markets
    _markets = dict(table)


def market_ids() -> dict[str, int]:
    """Canonical symbol -> market id, for the markets of the table that map to a canonical symbol."""
    out: dict[str, int] = {}
    for market_id, base in sorted(_markets.items()):
        try:
            out.setdefault(canonical(base)[0], market_id)
        except ValueError:
            continue
    return out


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    return base


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    """One `trade/{id}` per tracked market the table knows, the price market first; then `market_stats/{id}`
    (market context) per tracked market, or per default context symbol when none is configured."""
    ids = market_ids()
    wanted = (price_symbol, *symbols) if symbols else (price_symbol, *ids)
    channels = dict.fromkeys(f"trade/{ids[s]}" for s in wanted if s in ids)
    channels.update(dict.fromkeys(f"market_stats/{ids[s]}" for s in symbols or DEFAULT_CONTEXT_SYMBOLS if s in ids))
    return [orjson.dumps({"type": "subscribe", "channel": c}).decode() for c in channels]


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    return events_or_raise(parse_report(frame, ts_recv_ns))


def parse_report(frame: str | bytes, ts_recv_ns: int) -> Report:
    """Like `parse`, but returns skipped bad items of a frame instead of raising for them."""
    msg = load_object(frame)
    kind = msg.get("type")
    if kind in _QUIET:
        return Report([], [])
    if kind == "error" or "error" in msg:
        err = msg.get("error") if isinstance(msg.get("error"), dict) else msg
        raise BadFrame(f"error {err.get('code')!r:.20}: {str(err.get('message'))[:200]}")
    if kind in _STATS:
        return _market_stats(msg, ts_recv_ns)
    if kind not in ("subscribed/trade", "update/trade"):
        raise BadFrame(f"unknown message type {kind!r:.80}")
    trades, liqs = msg.get("trades") or [], msg.get("liquidation_trades") or []
    if not isinstance(trades, list) or not isinstance(liqs, list):
        raise BadFrame("trades or liquidation_trades is not an array")
    min_ts = ts_recv_ns - int(REPLAY_MAX_AGE_S * 1e9) if kind == "subscribed/trade" else 0
    events: list[Event] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for item, listed_as_liquidation in [(t, False) for t in trades] + [(t, True) for t in liqs]:
        try:
            ev = _item(item, listed_as_liquidation, ts_recv_ns)
        except BadFrame as exc:
            skipped.append(f"{msg.get('channel')!s:.20}: {exc}")
            continue
        if isinstance(ev, Liquidation):
            trade_id = str(item.get("trade_id_str", item.get("trade_id", "")))
            if ev.ts_event < min_ts or (trade_id and trade_id in seen):
                continue  # history in the subscribe reply, or the same trade listed twice
            seen.add(trade_id)
        if ev is not None:
            events.append(ev)
    return Report(events, skipped)


def _item(item: Any, listed_as_liquidation: bool, ts_recv_ns: int) -> Liquidation | PriceTick | None:
    if not isinstance(item, dict):
        raise BadFrame("trade is not an object")
    kind = item.get("type")
    if kind != LIQUIDATION and (listed_as_liquidation or kind != "trade"):
        return None  # deleverage, market-settlement: neither a liquidation nor a market price
    market_id = item.get("market_id")
    base = _markets.get(market_id) if type(market_id) is int else None
    if base is None:
        raise BadFrame(f"unknown market_id {market_id!r:.20} (refresh the market table)")
    symbol, mult = symbol_of(canonical, base)
    price = positive(item.get("price"), "price")
    qty = positive(item.get("size"), "size")
    ts = ms_to_ns(item.get("timestamp"), "timestamp")
    if kind != LIQUIDATION:
        return price_tick(NAME, symbol, price / mult, qty * mult, ts, ts_recv_ns)
    return liquidation(NAME, symbol, base, _side(item), price / mult, qty * mult, qty * price, ts, ts_recv_ns,
                       COMPLETENESS)


def _side(item: dict[str, Any]) -> str:
    """The liquidated taker's position: the maker sold (is_maker_ask) -> the taker bought -> a short."""
    maker_ask = item.get("is_maker_ask")
    if type(maker_ask) is not bool:
        raise BadFrame(f"bad is_maker_ask {maker_ask!r:.20}")
    side = SHORT if maker_ask else LONG
    before = item.get("taker_position_size_before")
    if before is not None:
        size = number(before, "taker_position_size_before")
        if size and (LONG if size > 0 else SHORT) != side:
            raise BadFrame(f"is_maker_ask={maker_ask} contradicts taker_position_size_before {before!r:.20}")
    return side


def _market_stats(msg: dict[str, Any], ts_recv_ns: int) -> Report:
    """One market's stats (`market_stats/{id}`) or every market's (`market_stats/all`: keyed by id)."""
    stats = msg.get("market_stats")
    if not isinstance(stats, dict):
        raise BadFrame("market_stats is not an object")
    items = [stats] if "market_id" in stats else list(stats.values())
    ts = msg.get("timestamp")
    ts_event = ms_to_ns(ts, "timestamp") if ts is not None else ts_recv_ns
    events: list[Event] = []
    skipped: list[str] = []
    for item in items:
        try:
            ev = _stats(item, ts_event, ts_recv_ns)
        except BadFrame as exc:
            skipped.append(f"{msg.get('channel')!s:.30}: {exc}")
            continue
        if ev is not None:
            events.append(ev)
    return Report(events, skipped)


def _stats(item: Any, ts_event: int, ts_recv_ns: int) -> MarketContext | None:
    if not isinstance(item, dict):
        raise BadFrame("market stats item is not an object")
    oi_usd, mark, index = (optional(item.get(k), k) for k in ("open_interest", "mark_price", "index_price"))
    funding = optional(item.get("current_funding_rate"), "current_funding_rate") * FUNDING_PERCENT_PER_HOUR
    if all(x != x for x in (oi_usd, mark, index, funding)):
        return None  # an update of fields we do not read (24 h volume, last price)
    market_id = item.get("market_id")
    base = _markets.get(market_id) if type(market_id) is int else None
    if base is None:
        raise BadFrame(f"unknown market_id {market_id!r:.20} (refresh the market table)")
    symbol, mult = symbol_of(canonical, base)
    return market_context(NAME, symbol, base, oi=oi_usd / mark * mult, oi_usd=oi_usd, funding=funding,
                          mark=mark / mult, index=index / mult, ts_event=ts_event, ts_recv=ts_recv_ns)
