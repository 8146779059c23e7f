"""OKX v5: `liquidation-orders` (all SWAP instruments) liquidations and `trades` BTC-USDT-SWAP prices.

Real frame (docs, liquidation-orders channel):
    {"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0",
     "bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],
     "instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"}]}
-> a short liquidated (side=buy is the order that closed a short; posSide=short confirms), price
bkPx, qty sz x ctVal (contracts -> coins), ts_event details[].ts.

Contract sizes come from a module-level table (`set_instruments`, filled by the runner from
`ingest.okx_instruments` at startup); an instId missing from it is a bad item, never a guess.
Inverse swaps (BTC-USD-SWAP, ctVal in USD): notional = sz x ctVal, qty = notional / price.
The docs say the channel "doesn't represent the total number of liquidations": throttled.

Market context (verified against OKX's v5 WebSocket docs on 2026-12-01): per tracked swap, four channels,
each carrying one part: `open-interest` {"instId":"BTC-USDT-SWAP","oi":"5000","oiCcy":"555.55","ts":..}
(oiCcy in coins; pushed every 3 s when it changes), `funding-rate` {"fundingRate":"0.0001875",..,"ts":..}
(every 30-90 s; per 8 h for the majors), `mark-price` {"markPx":"110562.0","ts":..} and `index-tickers`
on the spot pair (`BTC-USDT`) {"idxPx":"110540.1","ts":..}. Each becomes a MarketContext with that one
field set; `ingest.context_merge` assembles them.

Batch policy (several instruments, several details each): good items become events, bad items are
skipped and reported by `parse_report`; `parse` raises BadFrame only when every item is bad.
Non-SWAP data (FUTURES, MARGIN) is ignored, not bad.
"""
from __future__ import annotations

from functools import partial
from typing import Any

import orjson

from common.schema import LONG, SHORT, Liquidation, MarketContext, PriceTick
from ingest import okx_instruments
from ingest.exchanges.base import (
    BadFrame,
    Event,
    ReconnectRequested,
    Report,
    each_item,
    events_or_raise,
    liquidation,
    load_object,
    lookup,
    ms_to_ns,
    positive,
    price_tick,
    symbol_of,
)
from ingest.exchanges.context_fields import DEFAULT_SYMBOLS as DEFAULT_CONTEXT_SYMBOLS
from ingest.exchanges.context_fields import market_context, optional
from ingest.okx_instruments import Instrument, Table
from ingest.symbols import canonical, from_okx

NAME = "okx"
URL = "wss://ws.okx.com/ws/v5/public"  # port 8443 retired 2026-10-31 (OKX changelog)
COMPLETENESS = "throttled"  # at most one liquidation per symbol per second
KEEPALIVE: tuple[str, float] | None = ("ping", 25.0)  # server drops after 30 s without traffic
STALE_AFTER_S = 30.0  # trades on BTC-USDT-SWAP never pause this long on a live connection
NOTICE_RECONNECT = "64008"  # "The connection will soon be closed for a service upgrade."

_SIDE = {"sell": LONG, "buy": SHORT}
_POS_SIDE = {"long": LONG, "short": SHORT}
CONTEXT_CHANNELS = ("open-interest", "funding-rate", "mark-price", "index-tickers")
_QUIET_EVENTS = ("subscribe", "unsubscribe", "channel-conn-count", "notice")

_instruments: Table = okx_instruments.bundled()


def set_instruments(table: Table) -> None:
    """Replace the ctVal table the parser uses (the runner calls it once at startup)."""
    global _instruments
    _instruments = dict(table)


def listed() -> frozenset[str]:
    """Canonical symbols of the swaps in the ctVal table (what this parser can turn into events)."""
    out = set()
    for native in _instruments:
        try:
            out.add(from_okx(native)[0])
        except ValueError:
            continue
    return frozenset(out)


def inst_id(symbol: str) -> str:
    """Canonical `BTCUSDT` -> `BTC-USDT-SWAP` (the linear perpetual)."""
    if not symbol.endswith("USDT") or len(symbol) <= 4:
        raise ValueError(f"not a canonical USDT symbol: {symbol!r}")
    return f"{symbol[:-4]}-USDT-SWAP"


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    return base


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    """liquidation-orders takes an instType, not an instId: every swap arrives, filtered downstream."""
    args = [{"channel": "liquidation-orders", "instType": "SWAP"},
            {"channel": "trades", "instId": inst_id(price_symbol)}]
    ctx = []
    for symbol in dict.fromkeys(symbols or DEFAULT_CONTEXT_SYMBOLS):
        swap = inst_id(symbol)
        ctx += [{"channel": c, "instId": swap} for c in CONTEXT_CHANNELS[:3]]
        ctx.append({"channel": "index-tickers", "instId": swap.removesuffix("-SWAP")})
    return [orjson.dumps({"id": str(i + 1), "op": "subscribe", "args": part}).decode()
            for i, part in enumerate([args] + [ctx[k:k + 60] for k in range(0, len(ctx), 60)])]


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    return events_or_raise(parse_report(frame, ts_recv_ns))


def parse_report(frame: str | bytes, ts_recv_ns: int) -> Report:
    """Like `parse`, but returns skipped bad items of a batch instead of raising for them."""
    if frame in ("pong", b"pong"):
        return Report([], [])
    msg = load_object(frame)
    event = msg.get("event")
    if event is not None:
        if event == "error":
            raise BadFrame(f"error {msg.get('code')!r:.40}: {msg.get('msg')!r:.200}")
        if event == "notice" and str(msg.get("code")) == NOTICE_RECONNECT:
            raise ReconnectRequested(f"okx notice {NOTICE_RECONNECT}: {msg.get('msg')!r:.200}")
        if isinstance(event, str) and event in _QUIET_EVENTS:
            return Report([], [])
        raise BadFrame(f"unknown event {event!r:.80}")
    arg, data = msg.get("arg"), msg.get("data")
    if not isinstance(arg, dict) or not isinstance(data, list):
        raise BadFrame("no arg/data")
    channel = arg.get("channel")
    if channel == "liquidation-orders":
        return _liquidations(data, ts_recv_ns)
    if channel == "trades":
        return each_item("trades", data, lambda item: _trade(item, ts_recv_ns))
    if channel in CONTEXT_CHANNELS:
        return each_item(channel, data, lambda item: _context(channel, item, ts_recv_ns))
    raise BadFrame(f"unknown channel {channel!r:.80}")


def _liquidations(data: list[Any], ts_recv_ns: int) -> Report:
    events: list[Event] = []
    skipped: list[str] = []
    for inst in data:
        if not isinstance(inst, dict):
            skipped.append("liquidation-orders: item is not an object")
            continue
        if inst.get("instType") != "SWAP":  # dated futures, margin: not perpetuals
            continue
        native = inst.get("instId")
        details = inst.get("details")
        if not isinstance(details, list) or not details:
            skipped.append(f"{native!r:.80}: no details")
            continue
        try:
            symbol, spec = _instrument(native)
        except BadFrame as exc:
            skipped.extend([f"{native!r:.80}: {exc}"] * len(details))
            continue
        got = each_item(str(native), details, partial(_liquidation, native=str(native), symbol=symbol, spec=spec,
                                                      ts_recv_ns=ts_recv_ns))
        events.extend(got.events)
        skipped.extend(got.skipped)
    return Report(events, skipped)


def _instrument(native: object) -> tuple[str, Instrument]:
    symbol, _ = symbol_of(from_okx, native)
    spec = _instruments.get(native)
    if spec is None:
        raise BadFrame(f"no ctVal for {native!r} (refresh the instruments table)")
    return symbol, spec


def _size(sz: float, price: float, spec: Instrument) -> tuple[float, float]:
    """Contracts -> (qty in coins, notional USD)."""
    if spec.ct_type == "inverse":
        notional = sz * spec.ct_val
        return notional / price, notional
    qty = sz * spec.ct_val
    return qty, qty * price


def _liquidation(d: dict[str, Any], native: str, symbol: str, spec: Instrument,
                 ts_recv_ns: int) -> Liquidation:
    side = lookup(_SIDE, d.get("side"), "side")
    pos_side = d.get("posSide")
    if pos_side is not None and not isinstance(pos_side, str):
        raise BadFrame(f"bad posSide {pos_side!r:.40}")
    if _POS_SIDE.get(pos_side or "", side) != side:  # "net" defers to side
        raise BadFrame(f"side {d.get('side')!r} contradicts posSide {pos_side!r:.40}")
    price = positive(d.get("bkPx"), "bkPx")
    qty, notional = _size(positive(d.get("sz"), "sz"), price, spec)
    return liquidation(NAME, symbol, native, side, price, qty, notional,
                       ms_to_ns(d.get("ts"), "ts"), ts_recv_ns, COMPLETENESS)


def _trade(item: dict[str, Any], ts_recv_ns: int) -> PriceTick:
    native = item.get("instId")
    symbol, spec = _instrument(native)
    price = positive(item.get("px"), "px")
    qty, _ = _size(positive(item.get("sz"), "sz"), price, spec)
    return price_tick(NAME, symbol, price, qty, ms_to_ns(item.get("ts"), "ts"), ts_recv_ns)


def _context(channel: str, item: dict[str, Any], ts_recv_ns: int) -> MarketContext:
    """One item of a context channel -> MarketContext with that channel's field set (the others NaN)."""
    native = item.get("instId")
    ts = ms_to_ns(item.get("ts"), "ts")
    if channel == "index-tickers":  # the spot index `BTC-USDT`, not a swap
        parts = native.split("-") if isinstance(native, str) else []
        if len(parts) != 2 or parts[1] not in ("USDT", "USD"):
            raise BadFrame(f"bad index instId {native!r:.40}")
        symbol, _ = symbol_of(lambda _n: canonical(parts[0]), native)
        return market_context(NAME, symbol, native, index=positive(item.get("idxPx"), "idxPx"), ts_event=ts,
                              ts_recv=ts_recv_ns)
    symbol, _ = symbol_of(from_okx, native)
    if channel == "mark-price":
        return market_context(NAME, symbol, native, mark=positive(item.get("markPx"), "markPx"), ts_event=ts,
                              ts_recv=ts_recv_ns)
    if channel == "funding-rate":
        return market_context(NAME, symbol, native, funding=optional(item.get("fundingRate"), "fundingRate"),
                              ts_event=ts, ts_recv=ts_recv_ns)
    oi = optional(item.get("oiCcy"), "oiCcy")
    if oi != oi:  # no coin figure: contracts x ctVal (linear swaps only)
        _, spec = _instrument(native)
        if spec.ct_type != "linear":
            raise BadFrame(f"{native}: open interest without oiCcy")
        oi = positive(item.get("oi"), "oi") * spec.ct_val
    return market_context(NAME, symbol, native, oi=oi, oi_usd=optional(item.get("oiUsd"), "oiUsd"), ts_event=ts,
                          ts_recv=ts_recv_ns)
