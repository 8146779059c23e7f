"""Reliability table: how often snapshots published with probability p lie inside a real cascade."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from liqcascade.tools.scoring import NS, is_positive

BINS = 10  # [0, 0.1), ..., [0.9, 1.0]
TAIL_S = 15.0  # a snapshot up to this long after a cascade's last event still belongs to it


def inside_positive(ts: np.ndarray, symbol: str, labels: list[dict[str, Any]], tail_s: float = TAIL_S) -> np.ndarray:
    """Mask of the times `ts` (ns) of `symbol` that lie in a positive label [start, end + tail]: the
    reliability table's notion of "belongs to a real cascade", also the target to fit a calibration on."""
    hit = np.zeros(len(ts), dtype=bool)
    for lb in labels:
        if is_positive(lb) and lb["symbol"] == symbol:
            hit |= (ts >= lb["start_ns"]) & (ts <= lb["end_ns"] + int(tail_s * NS))
    return hit


def counts(evaluations: Iterable[tuple[str, int, float]], labels: list[dict[str, Any]],
           tail_s: float = TAIL_S) -> dict[str, list[int]]:
    """Per probability bin: snapshot count and how many fall inside a positive label [start, end + tail]."""
    by_sym: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for sym, ts, p in evaluations:
        by_sym[sym][0].append(ts)
        by_sym[sym][1].append(p)
    n, inside = np.zeros(BINS, dtype=np.int64), np.zeros(BINS, dtype=np.int64)
    for sym, (ts_list, p_list) in by_sym.items():
        ts, p = np.asarray(ts_list, dtype=np.int64), np.asarray(p_list, dtype=np.float64)
        hit = inside_positive(ts, sym, labels, tail_s)
        b = np.minimum((p * BINS).astype(np.int64), BINS - 1)
        n += np.bincount(b, minlength=BINS)
        inside += np.bincount(b[hit], minlength=BINS)
    return {"count": n.tolist(), "inside": inside.tolist()}


def merge(parts: Iterable[dict[str, list[int]]]) -> dict[str, list[int]]:
    n, inside = [0] * BINS, [0] * BINS
    for part in parts:
        n = [a + b for a, b in zip(n, part["count"], strict=True)]
        inside = [a + b for a, b in zip(inside, part["inside"], strict=True)]
    return {"count": n, "inside": inside}


def table(c: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Rows: bin bounds, snapshot count, fraction inside a cascade (None for an empty bin)."""
    return [{"lo": k / BINS, "hi": (k + 1) / BINS, "count": c["count"][k],
             "in_cascade": round(c["inside"][k] / c["count"][k], 4) if c["count"][k] else None}
            for k in range(BINS)]


def lines(rows: list[dict[str, Any]]) -> list[str]:
    out = [f"{'p bin':<11} {'snapshots':>10} {'in cascade':>10}"]
    for r in rows:
        hi = "]" if r["hi"] >= 1.0 else ")"
        frac = "-" if r["in_cascade"] is None else f"{r['in_cascade']:.3f}"
        out.append(f"[{r['lo']:.1f}, {r['hi']:.1f}{hi:<3} {r['count']:>10} {frac:>10}")
    return out
