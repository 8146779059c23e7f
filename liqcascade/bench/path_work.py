"""The CPU work on the latency path, measured in this process: what a probe liquidation costs each stage between
the ingester's receive time and the subscriber's receipt, without any of the hops' waits.

The pipeline's latency is the raw 3-hop chain's (the same hops, no work) plus at least this work, so
(raw chain p50 + this) / raw chain p50 bounds from below what the latency ratio can be on the machine the run
measured: when that bound is above the target, no scheduling or batching can meet it, only less work on the path.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from analytics.engine import Engine
from common.config import load_config
from common.schema import Liquidation
from common.wire import SeqStamper, decode
from ingest.dedupe import Deduper
from ingest.exchanges import binance
from ingest.frames import FrameParser
from ingest.router import Router
from signals.trust import inconsistency

NS = 1_000_000_000
PROBES = 40  # probe symbols, as the latency runs (`bench.pipeline`): each hit at most every 0.2 s
LOAD = 20  # busy symbols beside them


def _frame(symbol: str, t_ms: int, side: str, qty: str) -> str:
    """A Binance `!forceOrder@arr` frame, the latency runs' venue."""
    return orjson.dumps({"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": t_ms, "o": {
        "s": symbol, "S": side, "o": "LIMIT", "f": "IOC", "q": qty, "p": "100.0", "ap": "100.0", "X": "FILLED",
        "l": qty, "z": qty, "T": t_ms}}}).decode()


def _best_us(step: Callable[[int], Any], n: int, repeats: int) -> float:
    """Least mean µs per call of step(i) for i in range(n), over `repeats` passes (the least disturbed)."""
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter_ns()
        for i in range(n):
            step(r * n + i)
        best = min(best, (time.perf_counter_ns() - start) / n / 1000)
    return best


def measure(quick: bool = False) -> dict[str, float]:
    """µs per probe event of each stage's work on the latency path, and their total:

    * ingest: parse the frame (FrameParser, Binance), dedupe, route, encode the shard's message;
    * analytics: decode it, update the engine, snapshot the symbol, encode the snapshot;
    * signals: decode the snapshot (with its validation) and check it (signals.trust) before forwarding it.
    """
    cfg = load_config(None, env={})
    n, repeats = (300, 2) if quick else (1000, 3)
    t0_ms = int(time.time() * 1000)
    frames = [_frame(f"PROBE{i % PROBES}USDT", t0_ms + i, "SELL" if i % 3 else "BUY", f"{1 + i % 97}.5")
              for i in range(n * repeats)]
    parser, dedupe, router = FrameParser("ingest.binance", binance.parse), Deduper(), Router(1, (), "BTCUSDT")
    ingest_stamp, shard_stamp = SeqStamper("ingest.binance"), SeqStamper("analytics-0")
    eng = Engine(cfg.analytics)
    t0 = t0_ms * 1_000_000
    warm = [Liquidation("binance", s, s, "long", 100.0, 1.5, 150.0, t0 - NS + k, t0 - NS + k, True)
            for k, s in enumerate([f"SYM{j}USDT" for j in range(LOAD)] + [f"PROBE{j}USDT" for j in range(PROBES)])]
    eng.update_batch(warm)
    shard_in: list[list[bytes]] = []
    to_signals: list[list[bytes]] = []

    def ingest(i: int) -> None:
        recv = t0 + i * 1_000_000
        router.add(dedupe.filter(parser.parse(frames[i], recv)))
        for b in router.take(recv):
            shard_in.append(ingest_stamp.stamp(b.topic, b.events))

    def analytics(i: int) -> None:
        topic, _, _, liqs = decode(shard_in[i])
        eng.update_batch(liqs)
        for snap in eng.snapshots([liqs[0].symbol], liqs[0].ts_recv):
            to_signals.append(shard_stamp.stamp(b"metrics." + snap.symbol.encode(), [snap]))

    def signals(i: int) -> None:
        for snap in decode(to_signals[i])[3]:
            inconsistency(snap)

    out = {"ingest": _best_us(ingest, n, repeats)}
    out["analytics"] = _best_us(analytics, n, repeats)
    out["signals"] = _best_us(signals, n, repeats)
    out["total"] = out["ingest"] + out["analytics"] + out["signals"]
    return {k: round(v, 1) for k, v in out.items()}
