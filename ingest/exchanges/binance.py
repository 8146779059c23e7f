"""Binance USD-M futures: `!forceOrder@arr` liquidations and `<symbol>@aggTrade` prices.

Real frame (combined mode, `/market/stream?streams=...`):
    {"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1634653599186,"o":{"s":"IOTXUSDT",
     "S":"SELL","o":"LIMIT","f":"IOC","q":"3661","p":"0.06606","ap":"0.06669","X":"FILLED",
     "l":"962","z":"3661","T":1634653599180}}}
-> a long liquidated (S=SELL is the order that closed a long), qty z=3661 (not l), price ap.

Only the `/market` base delivers these streams since 2026-04-23; the legacy base acks and then
stays silent. At most one liquidation per symbol per second is pushed, so counts are censored.
"""
from __future__ import annotations

from typing import Any

from common.schema import LONG, SHORT, Liquidation, PriceTick
from ingest.exchanges.base import (
    BadFrame,
    Event,
    liquidation,
    load_object,
    lookup,
    ms_to_ns,
    positive,
    price_tick,
    symbol_of,
)
from ingest.symbols import from_concatenated

NAME = "binance"
URL = "wss://fstream.binance.com/market"
COMPLETENESS = "throttled"  # at most one liquidation per symbol per second
KEEPALIVE: tuple[str, float] | None = None  # the server pings every 3 min; the library answers
STALE_AFTER_S = 30.0  # aggTrade on BTC never pauses this long on a live connection
MAX_CONNECTION_S = 23.5 * 3600  # Binance closes at 24 h; rotate before

_SIDE = {"SELL": LONG, "BUY": SHORT}


def streams(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    return ["!forceOrder@arr", f"{price_symbol.lower()}@aggTrade"]


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    """Combined-stream URL: each event arrives wrapped as {"stream": ..., "data": ...}."""
    return f"{base.rstrip('/')}/stream?streams=" + "/".join(streams(symbols, price_symbol))


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    return []  # the streams are in the URL


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    msg = load_object(frame)
    data = msg.get("data", msg) if "stream" in msg else msg
    if not isinstance(data, dict):
        raise BadFrame("data is not an object")
    kind = data.get("e")
    if kind == "forceOrder":
        return [_liquidation(data, ts_recv_ns)]
    if kind == "aggTrade":
        return [_agg_trade(data, ts_recv_ns)]
    if "result" in data and "id" in data:  # SUBSCRIBE ack: {"result":null,"id":1}
        return []
    if "code" in data and "msg" in data:  # request error, logged by the runner via BadFrame
        raise BadFrame(f"error {data.get('code')!r:.40}: {data.get('msg')!r:.200}")
    raise BadFrame(f"unknown event type {kind!r:.80}")


def _liquidation(data: dict[str, Any], ts_recv_ns: int) -> Liquidation:
    o = data.get("o")
    if not isinstance(o, dict):
        raise BadFrame("forceOrder without order object")
    native = o.get("s")
    side = lookup(_SIDE, o.get("S"), "side")
    symbol, mult = symbol_of(from_concatenated, native)
    qty = positive(o.get("z"), "z")
    ap = o.get("ap")
    price = positive(o.get("p") if ap in (None, "0", "0.0", "0.00") else ap, "price")
    return liquidation(NAME, symbol, native, side, price / mult, qty * mult, qty * price,
                       ms_to_ns(o.get("T"), "T"), ts_recv_ns, COMPLETENESS)


def _agg_trade(data: dict[str, Any], ts_recv_ns: int) -> PriceTick:
    native = data.get("s")
    symbol, mult = symbol_of(from_concatenated, native)
    price = positive(data.get("p"), "p")
    qty = positive(data.get("q"), "q")
    return price_tick(NAME, symbol, price / mult, qty * mult, ms_to_ns(data.get("T"), "T"), ts_recv_ns)
