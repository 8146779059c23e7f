"""Bybit v5 linear: `allLiquidation.<SYMBOL>` liquidations and `publicTrade.BTCUSDT` prices.

Real frame (docs, all-liquidation.mdx):
    {"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,
     "data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}
-> a short liquidated (S is the *position* side: Buy = long, the opposite of Binance's raw value),
qty v=20000 ROSE, price p (bankruptcy), ts_event T.

There is no all-symbols wildcard: one topic per tracked symbol, pushed every 500 ms with every
liquidation in `data` (not throttled). The old `liquidation.<SYMBOL>` topic is rejected by the server
("handler not found"); its object-shaped frames are still parsed for old recordings.

Market context (`tickers.<SYMBOL>`, verified against Bybit's v5 docs and public clients on 2026-12-01):
    {"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","markPrice":"17217.33",
     "indexPrice":"17227.36","openInterest":"68744.761","openInterestValue":"1183601235.91",
     "fundingRate":"-0.000212",...},"cs":24987956059,"ts":1673272861686}
-> MarketContext: OI 68744.761 BTC ($1.18B), funding -0.0212 % per 8 h, mark, index, ts_event `ts`.
The first push is a snapshot, then `delta`s carry only the fields that changed: the missing ones are NaN
here and `ingest.context_merge` keeps their last value.

Batch policy (`data` arrays): good items become events, bad items are skipped and reported by
`parse_report`; `parse` raises BadFrame only when every item of a frame is bad.
"""
from __future__ import annotations

import math
import re
from functools import partial
from typing import Any

import numpy as np
import orjson

from common.columns import LiquidationBatch
from common.schema import LONG, SHORT, Liquidation, MarketContext, PriceTick
from common.wire import COLUMNS_MIN
from ingest.exchanges.base import (
    MAX_TS_MS,
    BadFrame,
    Event,
    Report,
    SubscriptionRejected,
    each_item,
    events_or_raise,
    liquidation,
    liquidation_columns,
    load_object,
    lookup,
    ms_to_ns,
    positive,
    price_tick,
    symbol_of,
)
from ingest.exchanges.context_fields import DEFAULT_SYMBOLS as DEFAULT_CONTEXT_SYMBOLS
from ingest.exchanges.context_fields import market_context, optional
from ingest.symbols import UnknownSymbol, from_concatenated

NAME = "bybit"
URL = "wss://stream.bybit.com/v5/public/linear"
COMPLETENESS = "complete"  # every liquidation
KEEPALIVE: tuple[str, float] | None = ('{"op":"ping"}', 20.0)  # docs: ping every 20 s
STALE_AFTER_S = 30.0  # publicTrade.BTCUSDT never pauses this long on a live connection
MAX_ARGS_PER_REQUEST = 10

# Used when no symbols are configured: Bybit has no wildcard, so "everything" means a fixed list.
# Scaled contracts are listed under their Bybit names (1000PEPEUSDT), which is what the topic needs.
DEFAULT_SYMBOLS = (
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "ADAUSDT", "AVAXUSDT",
    "LINKUSDT", "SUIUSDT", "LTCUSDT", "DOTUSDT", "TRXUSDT", "TONUSDT", "NEARUSDT", "APTUSDT",
    "ARBUSDT", "OPUSDT", "WIFUSDT", "HYPEUSDT", "1000PEPEUSDT", "1000BONKUSDT",
)
# Canonical -> Bybit name where Bybit trades a scaled contract. Any symbol not listed is used as is,
# so a configured Bybit-native name ("1000FLOKIUSDT") also works.
_NATIVE = {"PEPEUSDT": "1000PEPEUSDT", "BONKUSDT": "1000BONKUSDT", "FLOKIUSDT": "1000FLOKIUSDT"}

# allLiquidation: S is the position side. Deprecated liquidation topic: same semantics (docs fix 2023).
_SIDE = {"Buy": LONG, "Sell": SHORT}
_SIDE_TABLE = [LONG, SHORT]  # `_SIDE` as a column's table and codes
_SIDE_CODE = {"Buy": 0, "Sell": 1}
_REFUSED_TOPIC = re.compile(r"(?:allLiquidation|publicTrade|tickers)\.([A-Za-z0-9]+)")


def native_symbol(symbol: str) -> str:
    return _NATIVE.get(symbol, symbol)


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    return base


def topics(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    natives = dict.fromkeys(native_symbol(s) for s in (symbols or DEFAULT_SYMBOLS))
    context = dict.fromkeys(native_symbol(s) for s in (symbols or DEFAULT_CONTEXT_SYMBOLS))
    return ([f"publicTrade.{native_symbol(price_symbol)}"] + [f"allLiquidation.{n}" for n in natives]
            + [f"tickers.{n}" for n in context])


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    """One request per 10 topics; the price topic is in the first so liveness starts at once."""
    ts = topics(symbols, price_symbol)
    return [
        orjson.dumps({"op": "subscribe", "args": ts[i:i + MAX_ARGS_PER_REQUEST],
                      "req_id": f"sub-{i // MAX_ARGS_PER_REQUEST}"}).decode()
        for i in range(0, len(ts), MAX_ARGS_PER_REQUEST)
    ]


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    return events_or_raise(parse_report(frame, ts_recv_ns))


def parse_report(frame: str | bytes, ts_recv_ns: int) -> Report:
    """Like `parse`, but returns skipped bad items of a batch instead of raising for them."""
    msg = load_object(frame)
    topic = msg.get("topic")
    if topic is None and "op" in msg:
        # subscribe ack {"success":true,...,"op":"subscribe"}, pong {"success":true,"ret_msg":"pong",...}
        if msg.get("success") is True:
            return Report([], [])
        detail = str(msg.get("ret_msg"))[:200]
        if msg.get("op") == "subscribe":  # e.g. "error:handler not found,topic:allLiquidation.FOOUSDT"
            symbols = tuple(dict.fromkeys(_REFUSED_TOPIC.findall(detail)))
            raise SubscriptionRejected(f"subscribe failed: {detail}", detail, symbols)
        raise BadFrame(f"{str(msg.get('op'))[:40]} failed: {detail}")
    if not isinstance(topic, str):
        raise BadFrame("no topic")
    data = msg.get("data")
    if topic.startswith("liquidation."):  # deprecated object form, kept for old recordings
        if not isinstance(data, dict):
            raise BadFrame("liquidation data is not an object")
        item = {"T": data.get("updatedTime"), "s": data.get("symbol"), "S": data.get("side"),
                "v": data.get("size"), "p": data.get("price")}
        return Report([_liquidation(item, ts_recv_ns)], [])
    if topic.startswith("tickers."):
        if not isinstance(data, dict):
            raise BadFrame(f"{topic}: data is not an object")
        return Report([_ticker(data, msg.get("ts"), ts_recv_ns)], [])
    if topic.startswith("allLiquidation."):
        if isinstance(data, list) and len(data) >= COLUMNS_MIN:
            batch = _columns(data, ts_recv_ns)
            if batch is not None:
                return Report(batch, [])
        convert = _liquidation
    elif topic.startswith("publicTrade."):
        convert = _trade
    else:
        raise BadFrame(f"unknown topic {topic!r:.80}")
    if not isinstance(data, list) or not data:
        raise BadFrame(f"{topic}: data is not a non-empty array")
    return each_item(topic, data, partial(convert, ts_recv_ns=ts_recv_ns))


def _symbol(native: object) -> tuple[str, float]:
    return symbol_of(from_concatenated, native)


def _columns(data: list[Any], ts_recv_ns: int) -> LiquidationBatch | None:
    """A whole `data` array as columns when every item is the usual one (an object naming one native symbol, a
    known side, string size and price, an integer ms time, all in range), else None: the per-item path then keeps
    the good items and names the others. On a busy topic Bybit pushes hundreds of items every 500 ms, and this
    reads them without a Python call or struct per event; the values are `_liquidation`'s, bit for bit (the same
    float() of each string, the same IEEE operations on whole columns)."""
    n = len(data)
    try:
        natives = {d["s"] for d in data}
        vs, ps, ts = [d["v"] for d in data], [d["p"] for d in data], [d["T"] for d in data]
        codes = np.fromiter(map(_SIDE_CODE.__getitem__, [d["S"] for d in data]), np.intp, n)
    except (KeyError, TypeError):  # an item that is not an object, lacks a field, or has an unhashable value
        return None
    if len(natives) != 1 or {*map(type, vs), *map(type, ps)} != {str} or set(map(type, ts)) != {int}:
        return None
    native = natives.pop()
    if type(native) is not str or len(native) > 64:
        return None
    try:
        symbol, mult = from_concatenated(native)
        qty, price = np.fromiter(map(float, vs), np.float64, n), np.fromiter(map(float, ps), np.float64, n)
        t = np.array(ts, dtype=np.int64)
    except (UnknownSymbol, ValueError, OverflowError):
        return None
    if not ((qty > 0.0) & (qty < math.inf) & (price > 0.0) & (price < math.inf) & (t > 0) & (t <= MAX_TS_MS)).all():
        return None
    return liquidation_columns(NAME, symbol, native, _SIDE_TABLE, codes, price / mult, qty * mult, qty * price,
                               t * 1_000_000, ts_recv_ns, COMPLETENESS)


def _liquidation(item: dict[str, Any], ts_recv_ns: int) -> Liquidation:
    native, side, v, p, t = item.get("s"), item.get("S"), item.get("v"), item.get("p"), item.get("T")
    # The usual item (string size and price, integer ms time, a known side) inline: the checks below accept
    # exactly what the general path does and build the same event, without its seven calls per event (the
    # throughput path's tape is these items). Anything else goes the general way, which names the fault.
    if (type(native) is str and len(native) <= 64 and type(side) is str and type(v) is str and type(p) is str
            and type(t) is int):
        try:
            symbol, mult = from_concatenated(native)
            qty, price = float(v), float(p)
        except (UnknownSymbol, ValueError):
            pass
        else:
            pos = _SIDE.get(side)
            if pos is not None and 0.0 < qty < math.inf and 0.0 < price < math.inf and 0 < t <= MAX_TS_MS:
                return liquidation(NAME, symbol, native, pos, price / mult, qty * mult, qty * price,
                                   t * 1_000_000, ts_recv_ns, COMPLETENESS)
    symbol, mult = _symbol(native)
    side = lookup(_SIDE, item.get("S"), "side")
    qty = positive(item.get("v"), "v")
    price = positive(item.get("p"), "p")
    return liquidation(NAME, symbol, str(native), side, price / mult, qty * mult, qty * price,
                       ms_to_ns(item.get("T"), "T"), ts_recv_ns, COMPLETENESS)


def _trade(item: dict[str, Any], ts_recv_ns: int) -> PriceTick:
    symbol, mult = _symbol(item.get("s"))
    price = positive(item.get("p"), "p")
    qty = positive(item.get("v"), "v")
    return price_tick(NAME, symbol, price / mult, qty * mult, ms_to_ns(item.get("T"), "T"), ts_recv_ns)


def _ticker(data: dict[str, Any], ts_ms: object, ts_recv_ns: int) -> MarketContext:
    """One `tickers` snapshot or delta: the fields it carries, NaN for the others (contracts -> coins)."""
    native = data.get("symbol")
    symbol, mult = _symbol(native)
    oi, mark, index = (optional(data.get(k), k) for k in ("openInterest", "markPrice", "indexPrice"))
    return market_context(NAME, symbol, str(native), oi=oi * mult, oi_usd=optional(data.get("openInterestValue"),
                          "openInterestValue"), funding=optional(data.get("fundingRate"), "fundingRate"),
                          mark=mark / mult, index=index / mult,
                          ts_event=ms_to_ns(ts_ms, "ts") if ts_ms is not None else ts_recv_ns, ts_recv=ts_recv_ns)
