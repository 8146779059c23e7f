"""Speed and memory figures of the engine, for `liqcascade bench` (no assertions here)."""
from __future__ import annotations

import gc
import random
import time
import tracemalloc
from collections import deque
from collections.abc import Callable

from analytics.engine import Engine
from common.columns import LiquidationBatch
from common.config import AnalyticsConfig
from common.schema import Liquidation
from common.wire import decode, encode

NS = 1_000_000_000
VENUES = ("binance", "bybit", "okx", "hyperliquid")
BATCH = 1024  # events per Engine.update_batch call: a busy poll round of a shard (analytics/process.py on_drained)


def flow(n_symbols: int, events: int, venues: tuple[str, ...] = VENUES, seed: int = 1) -> list[Liquidation]:
    """`events` liquidations over n_symbols x venues and ~10 minutes: every symbol on every venue first
    (full-size state), then random symbols, 60 % longs, exponential sizes around $20k."""
    rng = random.Random(seed)
    symbols = [f"S{i}USDT" for i in range(n_symbols)]
    t0 = 1_700_000_000 * NS
    span = 600 * NS
    nv = len(venues)
    liqs = []
    for i in range(events):
        ts = t0 + span * i // events
        sym = symbols[rng.randrange(n_symbols)] if i >= n_symbols * nv else symbols[i // nv]
        venue = venues[i % nv]
        usd = rng.expovariate(1 / 20_000.0)
        liqs.append(Liquidation(venue, sym, sym, "long" if rng.random() < 0.6 else "short", 100.0 + i % 7,
                                usd / 100.0, usd, ts, ts + 1_000_000, venue in ("binance", "okx")))
    return liqs


def _best_ns(fn: Callable[[], None], events: int, repeats: int) -> float:
    """Least wall time per event of `repeats` runs of fn (the least disturbed by the machine's other jobs)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - start) / events)
    return best


def python_floor_ns(liqs: list[Liquidation], repeats: int = 3) -> float:
    """Per event: read the fields analytics uses from a decoded batch and append them as a tuple to a
    deque, the least a pure-Python engine does per liquidation."""
    def run() -> None:
        dq: deque = deque()
        append = dq.append
        for liq in liqs:
            append((liq.exchange, liq.symbol, liq.side, liq.notional_usd, liq.price, liq.ts_event, liq.ts_recv,
                    liq.throttled))
    return _best_ns(run, len(liqs), repeats)


def wire_batches(liqs: list[Liquidation]) -> list[LiquidationBatch]:
    """`liqs` in batches of BATCH as an analytics shard receives them: encoded and decoded by common.wire
    (column frames), ready for Engine.update_batch."""
    return [decode(encode(b"liq", "bench", 1, liqs[i:i + BATCH]))[3] for i in range(0, len(liqs), BATCH)]


def update_figures(liqs: list[Liquidation], warm: list[Liquidation], repeats: int) -> tuple[float, float, float]:
    """(python_floor_ns, analytics_update_ns, wire_decode_ns) per event of `liqs`, each the best of
    `repeats` runs, alternating so that all see the same machine load: the floor reads the decoded
    events' fields; the update places the decoded batches (their columns) into the rings of an engine
    that holds `warm` already; wire_decode_ns decodes the frames (not part of the update figure)."""
    batches = wire_batches(liqs)
    frames = [encode(b"liq", "bench", 1, liqs[i:i + BATCH]) for i in range(0, len(liqs), BATCH)]

    def decode_all() -> None:
        for f in frames:
            decode(f)

    floor = update_ns = decode_ns = float("inf")
    for _ in range(repeats):
        floor = min(floor, python_floor_ns(liqs, 1))
        eng = Engine(AnalyticsConfig())
        eng.update_batch(warm)

        def batched(eng: Engine = eng) -> None:
            for batch in batches:
                eng.update_batch(batch)

        update_ns = min(update_ns, _best_ns(batched, len(liqs), 1))
        decode_ns = min(decode_ns, _best_ns(decode_all, len(liqs), 1))
    return floor, update_ns, decode_ns


def memory_per_symbol(n_symbols: int, venues: tuple[str, ...]) -> float:
    """tracemalloc's count of bytes allocated (and still held) while the engine and every symbol's state
    were built with every symbol on every venue, divided by n_symbols: numpy buffers, Python objects
    and dicts, i.e. the real per-symbol footprint."""
    liqs = flow(n_symbols, n_symbols * len(venues), venues)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    eng = Engine(AnalyticsConfig())
    for liq in liqs:
        eng.update(liq)
    mem = (tracemalloc.get_traced_memory()[0] - base) / n_symbols
    tracemalloc.stop()
    return mem


def measure(n_symbols: int = 500, events: int = 200_000, seed: int = 1, repeats: int = 3) -> dict[str, float]:
    """The engine's figures on synthetic flow (`flow`), each the best of `repeats` runs, the Python floor
    and the update alternating so that both see the same machine load:

    * python_floor_ns: `python_floor_ns` on the timed events;
    * analytics_update_ns: Engine.update_batch in batches of BATCH events as common.wire decodes them
      (columns), per event, on an engine that already has every symbol on every venue (its first
      n_symbols x 4 events, not timed; frames encoded and decoded beforehand, as the floor's events are
      built beforehand); wire_decode_ns: decoding those frames, per event (`update_figures`);
      analytics_update_one_ns: Engine.update one event at a time (what small batches use);
    * snapshot_us: Engine.snapshots of every symbol at once (what a shard does with the symbols a poll
      round touched), per symbol; snapshot_one_us: Engine.snapshot one symbol at a time;
    * memory_bytes_per_symbol (4 venues) and memory_bytes_per_symbol_11_venues (VENUES plus 7
      synthesized names): `memory_per_symbol`.
    """
    liqs = flow(n_symbols, events, seed=seed)
    warm, timed = liqs[:n_symbols * len(VENUES)], liqs[n_symbols * len(VENUES):]
    floor, update_ns, decode_ns = update_figures(timed, warm, repeats)
    one = timed[: min(len(timed), 50_000)]

    def single() -> None:
        for liq in one:
            eng.update(liq)

    one_ns = float("inf")
    for _ in range(repeats):
        eng = Engine(AnalyticsConfig())
        eng.update_batch(warm)
        one_ns = min(one_ns, _best_ns(single, len(one), 1))
    eng = Engine(AnalyticsConfig())
    eng.update_batch(warm)
    for batch in wire_batches(timed):
        eng.update_batch(batch)
    symbols = sorted(eng.symbols)
    now = liqs[-1].ts_event

    def snapshots() -> None:
        for _ in eng.snapshots(symbols, now):
            pass

    def snapshot_each() -> None:
        for sym in symbols:
            eng.snapshot(sym, now)

    snapshot_us = _best_ns(snapshots, len(symbols), repeats) / 1000
    snapshot_one_us = _best_ns(snapshot_each, len(symbols), repeats) / 1000
    eleven = VENUES + tuple(f"venue{k}" for k in range(5, 12))
    return {"python_floor_ns": floor, "analytics_update_ns": update_ns, "analytics_update_one_ns": one_ns,
            "update_batch": BATCH, "wire_decode_ns": decode_ns, "snapshot_us": snapshot_us,
            "snapshot_one_us": snapshot_one_us,
            "memory_bytes_per_symbol": memory_per_symbol(n_symbols, VENUES),
            "memory_bytes_per_symbol_11_venues": memory_per_symbol(n_symbols, eleven)}


if __name__ == "__main__":  # pragma: no cover - python -m analytics.benchmark [--update]: the engine's figures alone
    import json
    import os
    import sys

    if "--update" in sys.argv:  # the update and its floor only (~20 s): python -m analytics.benchmark --update
        stream = flow(500, 100_000)
        fl, up, dec = update_figures(stream[500 * len(VENUES):], stream[:500 * len(VENUES)], 5)
        print(json.dumps({"python_floor_ns": round(fl, 1), "analytics_update_ns": round(up, 1),  # noqa: T201
                          "ratio": round(up / fl, 2), "wire_decode_ns": round(dec, 1),
                          "loadavg": os.getloadavg()[0]}))
    else:
        print(json.dumps({k: round(v, 1) for k, v in measure(events=100_000).items()}, indent=1))  # noqa: T201
