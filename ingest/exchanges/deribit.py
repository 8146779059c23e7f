"""Deribit perpetuals: the trade tape's `liquidation` flag (every perpetual trade) and BTC-PERPETUAL prices.

Real frame (Deribit API v2 docs, `trades.{instrument_name}.{interval}` notification):
    {"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.100ms",
     "data":[{"trade_seq":30289432,"trade_id":"48079254","timestamp":1590484156350,"tick_direction":0,
     "price":8950.0,"mark_price":8948.9,"instrument_name":"BTC-PERPETUAL","index_price":8955.88,
     "direction":"sell","amount":10.0}]}}
-> no `liquidation` field: a price tick only. A trade caused by a liquidation carries
`"liquidation": "M"` (the maker side was liquidated), `"T"` (the taker side) or `"MT"` (both).
`direction` is the taker's side, so:
    T + sell: the taker sold to close a long -> long liquidated;   T + buy -> short liquidated
    M + sell: the maker bought, closing a short -> short liquidated; M + buy -> long liquidated
    MT: both, one event per side (a long and a short, each the full trade amount).

Units (docs: "For perpetual and inverse futures the amount is in USD units; for linear futures the
underlying base currency coin"): BTC-PERPETUAL/ETH-PERPETUAL amount is USD (notional = amount,
qty = amount / price); linear USDC perpetuals (SOL_USDC-PERPETUAL) amount is coins.

Completeness: the trade tape is every trade, so every liquidation fill: `complete`. We subscribe to
`trades.future.{BTC,ETH,USDC}.100ms` (all futures of each currency; dated futures are ignored): raw
(un-aggregated) subscriptions need an authorized connection ("raw_subscriptions_not_available_for_
unauthorized", code 13778), while 100ms batches carry every trade of the interval. Checked 2026-12-01.

Keepalive: `public/set_heartbeat` (sent first) makes the server send `test_request` heartbeats,
each answered with `public/test` by `reply` (the runner's generic reply hook); unanswered, the
server closes the connection.

Market context (`ticker.{instrument}.100ms`, one per tracked perpetual; fields verified 2026-12-01 against
Deribit's API v2 docs and nautilus_trader's DeribitTickerMsg, which agree):
    {"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.100ms","data":{
     "timestamp":1623060194301,"instrument_name":"BTC-PERPETUAL","open_interest":502097590,
     "funding_8h":0.0000211,"current_funding":0,"mark_price":36446.51,"index_price":36441.64,...}}}
-> MarketContext: OI 502,097,590 USD (inverse: `open_interest` is in USD like `amount`) = 13,776 BTC at the
mark; linear USDC perpetuals give it in coins. Funding `funding_8h` (already on the 8 h basis; Deribit
accrues funding continuously, `current_funding` is the instantaneous rate), mark, index, ts_event `timestamp`.
"""
from __future__ import annotations

from typing import Any

import orjson

from common.schema import LONG, SHORT, MarketContext, PriceTick
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
    ms_to_ns,
    positive,
    price_tick,
    symbol_of,
)
from ingest.exchanges.context_fields import DEFAULT_SYMBOLS as DEFAULT_CONTEXT_SYMBOLS
from ingest.exchanges.context_fields import market_context, optional
from ingest.symbols import from_deribit

NAME = "deribit"
URL = "wss://www.deribit.com/ws/api/v2"
COMPLETENESS = "complete"
KEEPALIVE: tuple[str, float] | None = None  # server-driven: set_heartbeat + `reply` to test_request
HEARTBEAT_S = 10  # public/set_heartbeat interval (minimum 10 s)
STALE_AFTER_S = 30.0  # heartbeats every 10 s and BTC-PERPETUAL trades keep a live connection busy
CURRENCIES = ("BTC", "ETH", "USDC")
TEST_REPLY = '{"jsonrpc":"2.0","id":9001,"method":"public/test","params":{}}'

_DIRECTION = {"buy": 1, "sell": -1}
# (liquidated side letter, taker direction) -> the position side liquidated
_SIDE = {("T", -1): LONG, ("T", 1): SHORT, ("M", -1): SHORT, ("M", 1): LONG}
_FLAGS = {"M": ("M",), "T": ("T",), "MT": ("M", "T")}


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    return base


def instrument(symbol: str) -> str:
    """Canonical `BTCUSDT` -> `BTC-PERPETUAL` (the inverse perpetual, Deribit's main BTC and ETH book)."""
    if not symbol.endswith("USDT") or len(symbol) <= 4:
        raise ValueError(f"not a canonical USDT symbol: {symbol!r}")
    return f"{symbol[:-4]}-PERPETUAL"


def context_instrument(symbol: str) -> str:
    """The perpetual whose ticker gives a symbol's context: the inverse book for BTC and ETH (Deribit's
    main ones), the linear USDC perpetual (`SOL_USDC-PERPETUAL`) for the others."""
    coin = instrument(symbol).removesuffix("-PERPETUAL")
    return f"{coin}-PERPETUAL" if coin in ("BTC", "ETH") else f"{coin}_USDC-PERPETUAL"


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str) -> list[str]:
    """Heartbeat first (so test_request starts at once), then every future's trades per currency, then the
    tracked perpetuals' tickers (their own request: a refused ticker does not take the trades with it)."""
    channels = [f"trades.future.{c}.100ms" for c in CURRENCIES]
    price = f"trades.{instrument(price_symbol)}.100ms"
    if price.split(".")[1].split("-")[0] not in CURRENCIES:
        channels.append(price)
    tickers = [f"ticker.{context_instrument(s)}.100ms" for s in dict.fromkeys(symbols or DEFAULT_CONTEXT_SYMBOLS)]
    return [orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "public/set_heartbeat",
                          "params": {"interval": HEARTBEAT_S}}).decode(),
            orjson.dumps({"jsonrpc": "2.0", "id": 2, "method": "public/subscribe",
                          "params": {"channels": channels}}).decode(),
            orjson.dumps({"jsonrpc": "2.0", "id": 3, "method": "public/subscribe",
                          "params": {"channels": tickers}}).decode()]


def reply(frame: str | bytes) -> str | None:
    """The answer the server expects to this frame, if any: `public/test` to a heartbeat test_request."""
    if ("test_request" if isinstance(frame, str) else b"test_request") not in frame:  # type: ignore[operator]
        return None  # every trade batch passes here: the substring test keeps it cheap
    try:
        msg = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    params = msg.get("params") if isinstance(msg, dict) else None
    if msg.get("method") == "heartbeat" and isinstance(params, dict) and params.get("type") == "test_request":
        return TEST_REPLY
    return None


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    return events_or_raise(parse_report(frame, ts_recv_ns))


def parse_report(frame: str | bytes, ts_recv_ns: int) -> Report:
    """Like `parse`, but returns skipped bad items of a batch instead of raising for them."""
    msg = load_object(frame)
    method = msg.get("method")
    if method == "heartbeat":  # {"params":{"type":"heartbeat"|"test_request"}}: answered by `reply`
        return Report([], [])
    if "error" in msg:  # {"jsonrpc":"2.0","id":2,"error":{"code":13778,"message":"..."}}
        err = msg.get("error")
        detail = str(err)[:200]
        if msg.get("id") in (2, 3):  # the trades or the tickers request
            raise SubscriptionRejected(f"subscribe failed: {detail}", detail)
        raise BadFrame(f"error {detail}")
    if "result" in msg and "id" in msg:  # acks: subscribe (channel list), set_heartbeat ("ok"), test
        return Report([], [])
    params = msg.get("params")
    if method != "subscription" or not isinstance(params, dict):
        raise BadFrame(f"unknown message {str(method)[:40]!r}")
    channel, data = params.get("channel"), params.get("data")
    if isinstance(channel, str) and channel.startswith("ticker."):
        if not isinstance(data, dict):
            raise BadFrame(f"{channel}: data is not an object")
        return Report([_ticker(data, ts_recv_ns)], [])
    if not isinstance(channel, str) or not channel.startswith("trades."):
        raise BadFrame(f"unknown channel {channel!r:.80}")
    if not isinstance(data, list) or not data:
        raise BadFrame(f"{channel}: data is not a non-empty array")
    return each_item(channel, data, lambda item: _trade(item, ts_recv_ns))


def _trade(item: dict[str, Any], ts_recv_ns: int) -> list[Event]:
    native = item.get("instrument_name")
    if not isinstance(native, str):
        raise BadFrame(f"bad instrument_name {native!r:.80}")
    if not native.endswith("-PERPETUAL"):
        return []  # dated futures and combos share the `trades.future` channels: not perpetuals, not bad
    symbol, mult = symbol_of(from_deribit, native)
    flag = item.get("liquidation")
    if flag is None:
        # inverse books only: BTC_USDC-PERPETUAL also maps to BTCUSDT but is a different (thinner) book
        return [] if "_" in native else [_tick(item, native, symbol, mult, ts_recv_ns)]
    letters = lookup(_FLAGS, flag, "liquidation")
    direction = lookup(_DIRECTION, item.get("direction"), "direction")
    price = positive(item.get("price"), "price")
    qty, notional = _size(native, positive(item.get("amount"), "amount"), price)
    ts = ms_to_ns(item.get("timestamp"), "timestamp")
    return [liquidation(NAME, symbol, native, _SIDE[letter, direction], price / mult, qty * mult, notional,
                        ts, ts_recv_ns, COMPLETENESS) for letter in letters]


def _size(native: str, amount: float, price: float) -> tuple[float, float]:
    """Amount -> (coins, USD notional): USD for inverse perpetuals (`BTC-PERPETUAL`), coins for linear."""
    if "_" in native.split("-")[0]:  # SOL_USDC-PERPETUAL: linear, amount in coins
        return amount, amount * price
    return amount / price, amount


def _tick(item: dict[str, Any], native: str, symbol: str, mult: float, ts_recv_ns: int) -> PriceTick:
    price = positive(item.get("price"), "price")
    qty, _ = _size(native, positive(item.get("amount"), "amount"), price)
    return price_tick(NAME, symbol, price / mult, qty * mult, ms_to_ns(item.get("timestamp"), "timestamp"), ts_recv_ns)


def _ticker(data: dict[str, Any], ts_recv_ns: int) -> MarketContext:
    """One perpetual's ticker -> MarketContext: open interest USD (inverse) or coins (linear) -> coins."""
    native = data.get("instrument_name")
    if not isinstance(native, str):
        raise BadFrame(f"bad instrument_name {native!r:.80}")
    symbol, mult = symbol_of(from_deribit, native)
    mark = positive(data.get("mark_price"), "mark_price")
    oi = optional(data.get("open_interest"), "open_interest")
    oi_coins, oi_usd = _size(native, oi, mark)  # NaN (not sent) stays NaN
    return market_context(NAME, symbol, native, oi=oi_coins * mult, oi_usd=oi_usd,
                          funding=optional(data.get("funding_8h"), "funding_8h"), mark=mark / mult,
                          index=optional(data.get("index_price"), "index_price") / mult,
                          ts_event=ms_to_ns(data.get("timestamp"), "timestamp"), ts_recv=ts_recv_ns)
