"""Binance USD-M futures: `!forceOrder@arr` liquidations and `<symbol>@aggTrade` prices.

Real frame (combined mode, `/market/stream?streams=...`):
    {"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1634653599186,"o":{"s":"IOTXUSDT",
     "S":"SELL","o":"LIMIT","f":"IOC","q":"3661","p":"0.06606","ap":"0.06669","X":"FILLED",
     "l":"962","z":"3661","T":1634653599180}}}
-> a long liquidated (S=SELL is the order that closed a long), qty z=3661 (not l), price ap.

Market context (`!markPrice@arr@1s`, verified against Binance's USD-M docs on 2026-12-01): every
second, one array of all perpetuals, e.g.
    {"stream":"!markPrice@arr@1s","data":[{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT",
     "p":"11185.87786614","i":"11784.62659091","P":"11784.25641265","r":"0.00030000","T":1562306400000}]}
-> MarketContext per item: mark p, index i, funding r (per 8 h for the majors; "" for delivery contracts:
NaN), ts_event E. Open interest is not on any stream: `ingest.binance_oi` polls `/fapi/v1/openInterest`
and `parse_open_interest` reads its reply.

Only the `/market` base delivers these streams since 2026-04-23; the legacy base acks and then
stays silent. At most one liquidation per symbol per second is pushed, so counts are censored.
"""
from __future__ import annotations

from typing import Any

from common.schema import LONG, SHORT, Liquidation, MarketContext, PriceTick
from ingest.exchanges.base import (
    BadFrame,
    Event,
    Report,
    events_or_raise,
    liquidation,
    load_object,
    lookup,
    ms_to_ns,
    positive,
    price_tick,
    symbol_of,
)
from ingest.exchanges.context_fields import market_context, optional
from ingest.symbols import from_concatenated

NAME = "binance"
URL = "wss://fstream.binance.com/market"
COMPLETENESS = "throttled"  # at most one liquidation per symbol per second
KEEPALIVE: tuple[str, float] | None = None  # the server pings every 3 min; the library answers
STALE_AFTER_S = 30.0  # aggTrade on BTC never pauses this long on a live connection
MAX_CONNECTION_S = 23.5 * 3600  # Binance closes at 24 h; rotate before

_SIDE = {"SELL": LONG, "BUY": SHORT}
MARK_PRICE_STREAM = "!markPrice@arr@1s"
OPEN_INTEREST_PATH = "/fapi/v1/openInterest"  # REST, weight 1 (polled by ingest.binance_oi)


_NATIVE = {"PEPEUSDT": "1000PEPEUSDT", "BONKUSDT": "1000BONKUSDT", "FLOKIUSDT": "1000FLOKIUSDT",
           "SHIBUSDT": "1000SHIBUSDT"}


def native_symbol(symbol: str) -> str:
    """Canonical -> Binance's contract name where it lists a 1000x contract (what the REST query needs)."""
    return _NATIVE.get(symbol, symbol)


def streams(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    return ["!forceOrder@arr", f"{price_symbol.lower()}@aggTrade", MARK_PRICE_STREAM]


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    """Combined-stream URL: each event arrives wrapped as {"stream": ..., "data": ...}."""
    return f"{base.rstrip('/')}/stream?streams=" + "/".join(streams(symbols, price_symbol))


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    return []  # the streams are in the URL


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    msg = load_object(frame)
    data = msg.get("data", msg) if "stream" in msg else msg
    if isinstance(data, list):  # !markPrice@arr: every perpetual in one frame
        return events_or_raise(_mark_prices(data, ts_recv_ns))
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


def _mark_prices(items: list[Any], ts_recv_ns: int) -> Report:
    events: list[Event] = []
    skipped: list[str] = []
    for item in items:
        try:
            if not isinstance(item, dict) or item.get("e") != "markPriceUpdate":
                raise BadFrame("not a markPriceUpdate")
            symbol, mult = symbol_of(from_concatenated, item.get("s"))
            events.append(market_context(
                NAME, symbol, str(item.get("s")), funding=optional(item.get("r"), "r"),
                mark=positive(item.get("p"), "p") / mult, index=optional(item.get("i"), "i") / mult,
                ts_event=ms_to_ns(item.get("E"), "E"), ts_recv=ts_recv_ns))
        except BadFrame as exc:
            skipped.append(f"markPrice {item.get('s') if isinstance(item, dict) else item!r:.40}: {exc}")
    return Report(events, skipped)


def parse_open_interest(body: str | bytes, ts_recv_ns: int) -> MarketContext:
    """`GET /fapi/v1/openInterest?symbol=BTCUSDT` reply -> MarketContext with open interest only (coins).

    Real reply (docs): {"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}
    """
    msg = load_object(body)
    if "code" in msg and "msg" in msg:
        raise BadFrame(f"error {msg.get('code')!r:.40}: {msg.get('msg')!r:.200}")
    native = msg.get("symbol")
    symbol, mult = symbol_of(from_concatenated, native)
    oi = optional(msg.get("openInterest"), "openInterest")
    if oi != oi:
        raise BadFrame("no openInterest")
    return market_context(NAME, symbol, str(native), oi=oi * mult, ts_event=ms_to_ns(msg.get("time"), "time"),
                          ts_recv=ts_recv_ns)
