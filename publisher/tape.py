"""The liquidation tape for readers: its ZMQ and Redis sources and the one line a person reads."""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from typing import Any

import redis

from common import topics
from common.config import Config
from common.lifecycle import StopFlag
from common.schema import LONG, Liquidation, completeness_of
from publisher.redis_sink.contract import LIQUIDATIONS as STREAM
from publisher.tail import pub_messages

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often a quiet source checks the stop flag
QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "USD")
VENUE_NAMES = {"binance": "Binance", "bybit": "Bybit", "okx": "OKX", "hyperliquid": "Hyperliquid"}


def from_zmq(cfg: Config, stop: StopFlag) -> Iterator[Liquidation]:
    """Every liquidation on the signals process's PUB socket (SUB prefix `liq.`)."""
    yield from pub_messages(cfg, stop, topics.LIQ + b".", hwm=100_000)


def from_redis(cfg: Config, stop: StopFlag, client: Any = None) -> Iterator[Liquidation]:
    """New entries of `liquidations:stream` (XREAD from now on)."""
    client = client or redis.Redis.from_url(cfg.redis.url)
    last = "$"
    while not stop.is_set():
        for _, entries in client.xread({STREAM: last}, block=int(POLL_S * 1000), count=1000) or []:
            for entry_id, fields in entries:
                last = entry_id
                yield from_fields(fields)


def from_fields(fields: dict[bytes, bytes]) -> Liquidation:
    """A stream entry back into the schema's type."""
    f = {k.decode(): v.decode() for k, v in fields.items()}
    return Liquidation(f["exchange"], f["symbol"], f["native_symbol"], f["side"], float(f["price"]), float(f["qty"]),
                       float(f["notional_usd"]), int(f["ts_event"]), int(f["ts_recv"]), f["throttled"] == "1",
                       completeness_of(f.get("completeness", "complete"), f["throttled"] == "1"))


def base_asset(symbol: str) -> str:
    """BTCUSDT -> BTC (the hashtag traders use)."""
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)]
    return symbol


def usd(x: float) -> str:
    """$1.2M, $950k, $12.3k, $1.25B, $800: short enough to read at a glance."""
    ax = abs(x)
    if ax >= 1e9:
        return f"${x / 1e9:.2f}B"
    if ax >= 1e6:
        return f"${x / 1e6:.1f}M"
    if ax >= 1e4:
        return f"${x / 1e3:.0f}k"
    if ax >= 1e3:
        return f"${x / 1e3:.1f}k"
    return f"${x:.0f}"


def price_text(p: float) -> str:
    """97,300; 3,012.5; 150.25; 0.00001234: about five significant digits, thousands separated."""
    if p <= 0 or not math.isfinite(p):
        return "?"
    if p < 1:
        return f"{p:.{3 - math.floor(math.log10(p))}f}"
    decimals = max(0, 5 - (int(math.log10(p)) + 1))
    return f"{p:,.{decimals}f}"


def venue_name(exchange: str) -> str:
    return VENUE_NAMES.get(exchange, exchange.capitalize())


def headline(liq: Liquidation) -> str:
    """`#BTC Long Liquidated $1.2M @ 97,300 on Binance`."""
    side = "Long" if liq.side == LONG else "Short"
    return (f"#{base_asset(liq.symbol)} {side} Liquidated {usd(liq.notional_usd)} @ {price_text(liq.price)} "
            f"on {venue_name(liq.exchange)}")


def line(liq: Liquidation) -> str:
    """The tail's line: the venue's event time (UTC) and the headline."""
    clock = time.strftime("%H:%M:%S", time.gmtime(liq.ts_event / 1e9)) + f".{liq.ts_event // 1_000_000 % 1000:03d}"
    return f"{clock} {headline(liq)}"
