"""Speed and memory figures of the engine, for `liqcascade bench` (no assertions here)."""
from __future__ import annotations

import random
import time
import tracemalloc

from analytics.engine import Engine
from common.config import AnalyticsConfig
from common.schema import Liquidation

NS = 1_000_000_000
VENUES = ("binance", "bybit", "okx", "hyperliquid")


def measure(n_symbols: int = 500, events: int = 200_000, seed: int = 1) -> dict[str, float]:
    """{"analytics_update_ns", "snapshot_us", "memory_bytes_per_symbol"} on synthetic flow.

    * analytics_update_ns: mean wall time of Engine.update over `events` liquidations spread over
      n_symbols x 4 venues and ~10 minutes of event time (events are built beforehand, not timed).
    * snapshot_us: mean wall time of Engine.snapshot over every symbol, twice.
    * memory_bytes_per_symbol: tracemalloc's count of bytes allocated (and still held) while the
      engine and every symbol's state were built and fed, divided by n_symbols; it includes numpy
      buffers, Python objects and dicts, i.e. the real per-symbol footprint with 4 venues.
    """
    rng = random.Random(seed)
    symbols = [f"S{i}USDT" for i in range(n_symbols)]
    t0 = 1_700_000_000 * NS
    span = 600 * NS
    liqs = []
    for i in range(events):
        ts = t0 + span * i // events
        sym = symbols[rng.randrange(n_symbols)] if i >= n_symbols * 4 else symbols[i // 4]
        venue = VENUES[i % 4]
        usd = rng.expovariate(1 / 20_000.0)
        liqs.append(Liquidation(venue, sym, sym, "long" if rng.random() < 0.6 else "short", 100.0,
                                usd / 100.0, usd, ts, ts + 1_000_000, venue in ("binance", "okx")))
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    eng = Engine(AnalyticsConfig())
    for liq in liqs[: n_symbols * 4]:  # every symbol on every venue: full-size state
        eng.update(liq)
    mem = (tracemalloc.get_traced_memory()[0] - base) / n_symbols
    tracemalloc.stop()

    start = time.perf_counter_ns()
    for liq in liqs:
        eng.update(liq)
    update_ns = (time.perf_counter_ns() - start) / len(liqs)

    now = liqs[-1].ts_event
    start = time.perf_counter_ns()
    for _ in range(2):
        for sym in symbols:
            eng.snapshot(sym, now)
    snapshot_us = (time.perf_counter_ns() - start) / (2 * n_symbols) / 1000
    return {"analytics_update_ns": update_ns, "snapshot_us": snapshot_us, "memory_bytes_per_symbol": mem}
