"""A symbol's normal activity: its mean USD/s over a slow rolling window (1 h by default)."""
from __future__ import annotations

import math

import numpy as np

from analytics.book import TOTALS, USD_L, USD_S
from analytics.windows import NS, span_sum

assert USD_S == USD_L + 1  # both sides read together (span_sum count=2)
BUCKET_NS = 60 * NS
# The most recent minute is left out, so a cascade does not raise the reference it is measured against.
EXCLUDE_NS = 60 * NS
# Until this share of the lookback has been observed, the mean is divided by it instead of by the
# observed time: a few minutes of history cannot claim to be "normal", so the estimate is shrunk
# toward zero and the absolute floor (max(baseline, floor)) carries the cold start.
MIN_COVERAGE = 0.25


def size(baseline_s: float) -> int:
    """Buckets kept: baseline_s + the excluded minute, plus the partial newest bucket and one of slack."""
    return math.ceil((int(baseline_s * NS) + EXCLUDE_NS) / BUCKET_NS) + 2


def usd_per_s(flat: memoryview, head: int, lookback_ns: int, now: int, first_seen: int) -> float:
    """Mean USD/s over (now - 1 min - baseline_s, now - 1 min] of a ring of BUCKET_NS buckets with the
    book's TOTALS rows (USD of both sides).

    USD/s = USD in the lookback / max(observed seconds of it, MIN_COVERAGE · baseline_s), where
    the observed part starts when the symbol was first seen (its state created).
    """
    end = now - EXCLUDE_NS
    start = end - lookback_ns
    if lookback_ns <= 0 or end <= first_seen:
        return 0.0
    usd = span_sum(flat, TOTALS, head, BUCKET_NS, start, end, now, USD_L, 2)  # USD_L, USD_S: both sides
    return from_usd(usd, lookback_ns, now, first_seen)


def from_usd(usd: float, lookback_ns: int, now: int, first_seen: int) -> float:
    """`usd_per_s` given the USD in the lookback (C(end) - C(start) of the ring, however summed)."""
    end = now - EXCLUDE_NS
    start = end - lookback_ns
    if lookback_ns <= 0 or end <= first_seen:
        return 0.0
    observed = end - max(start, first_seen)
    return max(usd, 0.0) / (max(observed, MIN_COVERAGE * lookback_ns) / NS)


def from_usd_many(usd: np.ndarray, lookback_ns: int, now: int, first_seen: np.ndarray) -> np.ndarray:
    """`from_usd` of many symbols (first_seen int64): the same operations elementwise, so the same floats
    (the nanosecond counts are exact in float64: spans below 2^53 ns, 104 days)."""
    end = now - EXCLUDE_NS
    start = end - lookback_ns
    if lookback_ns <= 0:
        return np.zeros(len(usd))
    observed = np.maximum(end - np.maximum(start, first_seen), MIN_COVERAGE * lookback_ns) / NS
    return np.where(end > first_seen, np.where(0.0 > usd, 0.0, usd) / observed, 0.0)  # max(usd, 0.0) as Python's


def weights(n: int, lookback_ns: int, now: int) -> np.ndarray:
    """(n,) weight of each bucket of the view at `now` (ids h-n+1 .. h, oldest first) in the lookback's
    USD: C(end) - C(start) with C the piecewise-linear cumulative of `windows.BucketRing`, bucket by
    bucket (the newest bucket taken to end at `now`). Buckets a ring no longer holds are masked apart."""
    end = now - EXCLUDE_NS
    start = end - lookback_ns
    h = -(-now // BUCKET_NS)
    left = (h - n + np.arange(n, dtype=np.int64)) * BUCKET_NS
    width = np.full(n, float(BUCKET_NS))
    width[-1] = now - (h - 1) * BUCKET_NS
    return np.clip((end - left) / width, 0.0, 1.0) - np.clip((start - left) / width, 0.0, 1.0)
