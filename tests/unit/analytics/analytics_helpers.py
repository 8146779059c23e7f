"""Shared builders for analytics tests: liquidations on a fixed, grid-aligned time base."""
from __future__ import annotations

from analytics.engine import Engine
from common.config import AnalyticsConfig
from common.schema import Liquidation

NS = 1_000_000_000
T0 = 1_700_000_000 * NS  # a multiple of every bucket width (100 ms, 1 s, 10 s, 60 s)


def liq(ts: int, usd: float, venue: str = "bybit", side: str = "long", symbol: str = "BTCUSDT",
        throttled: bool = False, price: float = 0.0) -> Liquidation:
    # Distinct liquidations have distinct (bankruptcy) prices; equal prices within 1 s on one venue and
    # side are fills of one position, which analytics counts once for n_eff.
    price = price if price else 100.0 + (ts % 997_000_003) * 1e-9 + usd * 1e-12
    return Liquidation(exchange=venue, symbol=symbol, native_symbol=symbol, side=side, price=price,
                       qty=usd / price, notional_usd=usd, ts_event=ts, ts_recv=ts + 1_000_000,
                       throttled=throttled)


def at(seconds: float) -> int:
    """T0 + seconds, in ns (rounded to the ns)."""
    return T0 + round(seconds * NS)


def engine(**overrides: object) -> Engine:
    return Engine(AnalyticsConfig(**overrides))  # type: ignore[arg-type]
