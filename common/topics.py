"""Hierarchical ASCII topics, built in one place so publishers and subscribers agree."""
from __future__ import annotations

LIQ = b"liq"
PRICE = b"price"
STATUS = b"status"
METRICS = b"metrics"
SIGNAL = b"signal"
REGIME = b"regime"
CTX = b"ctx"


def liq_batch(shard: int) -> bytes:
    """Ingest -> analytics shard: a batch of liquidations of many symbols owned by one shard."""
    return LIQ + b".shard%d" % shard


def liquidation(exchange: str, symbol: str) -> bytes:
    """`liq.binance.BTCUSDT`: one venue's liquidations of one symbol (the tape); `liq.` subscribes to all."""
    return b"%s.%s.%s" % (LIQ, exchange.encode(), symbol.encode())


def price(symbol: str) -> bytes:
    return PRICE + b"." + symbol.encode()


def status(exchange: str) -> bytes:
    return STATUS + b"." + exchange.encode()


def metrics(symbol: str) -> bytes:
    return METRICS + b"." + symbol.encode()


def signal(level: str, symbol: str) -> bytes:
    """`signal.ALERT.BTCUSDT`: subscribe to `signal.` for all, `signal.CRITICAL.` for one level."""
    return b"%s.%s.%s" % (SIGNAL, level.encode(), symbol.encode())


def context(exchange: str, symbol: str) -> bytes:
    """`ctx.bybit.BTCUSDT`: one venue's market context (open interest, funding, mark, index) of one symbol."""
    return b"%s.%s.%s" % (CTX, exchange.encode(), symbol.encode())
