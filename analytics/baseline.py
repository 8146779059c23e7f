"""A symbol's normal activity: its mean USD/s over a slow rolling window (1 h by default)."""
from __future__ import annotations

import math

from analytics.windows import NS, BucketRing

BUCKET_NS = 60 * NS
# The most recent minute is left out, so a cascade does not raise the reference it is measured against.
EXCLUDE_NS = 60 * NS
# Until this share of the lookback has been observed, the mean is divided by it instead of by the
# observed time: a few minutes of history cannot claim to be "normal", so the estimate is shrunk
# toward zero and the absolute floor (max(baseline, floor)) carries the cold start.
MIN_COVERAGE = 0.25


class Baseline:
    """USD in 60 s buckets over baseline_s + 1 min; ~70 floats per symbol."""

    __slots__ = ("lookback_ns", "ring")

    def __init__(self, baseline_s: float) -> None:
        self.lookback_ns = int(baseline_s * NS)
        n = math.ceil((self.lookback_ns + EXCLUDE_NS) / BUCKET_NS) + 2
        self.ring = BucketRing(BUCKET_NS, n, 1)

    def add(self, ts: int, usd: float) -> bool:
        """Count an event; False if it is older than the baseline keeps."""
        col = self.ring.slot(ts)
        if col < 0:
            return False
        self.ring.flat[col] += usd
        return True

    def usd_per_s(self, now: int, first_seen: int) -> float:
        """Mean USD/s over (now - 1 min - baseline_s, now - 1 min].

        USD/s = USD in the lookback / max(observed seconds of it, MIN_COVERAGE · baseline_s), where
        the observed part starts when the symbol was first seen (its state created).
        """
        end = now - EXCLUDE_NS
        start = end - self.lookback_ns
        if self.lookback_ns <= 0 or end <= first_seen:
            return 0.0
        usd = max(self.ring.span_sum(start, end, now), 0.0)
        observed = end - max(start, first_seen)
        return usd / (max(observed, MIN_COVERAGE * self.lookback_ns) / NS)
