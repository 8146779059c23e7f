"""BucketRing reads agree with the documented piecewise-linear C(x), on and off the grid."""
from __future__ import annotations

import random

import pytest

from analytics.windows import BucketRing

W, N = 10, 7


def brute_c(events: list[tuple[int, float]], head: int, now: int, x: int) -> float:
    """C(x) = Σ_k b_k · clamp((x - (k-1)·W) / width_k, 0, 1) over the ids the ring reads at `now`."""
    h = -(-now // W)
    total = 0.0
    for k in range(max(h, head) - N + 1, min(h, head) + 1):
        b = sum(usd for ts, usd in events if -(-ts // W) == k)
        width = now - (h - 1) * W if k == h else W
        total += b * min(max((x - (k - 1) * W) / width, 0.0), 1.0)
    return total


def test_span_sum_and_view_match_the_clamp_formula_at_any_now():
    rng = random.Random(7)
    for _ in range(300):
        ring, events, t = BucketRing(W, N, 1), [], 1000
        for _ in range(rng.randrange(1, 25)):
            t += rng.randrange(0, 25)
            ts = t - rng.randrange(0, 40)
            col = ring.slot(ts)
            if col >= 0:
                usd = rng.random()
                ring.flat[col] += usd
                events.append((ts, usd))
        held = [(ts, u) for ts, u in events if -(-ts // W) > ring.head - N]
        now = t + rng.randrange(-30, 60)
        a, b = sorted(rng.randrange(now - 90, now + 15) for _ in range(2))
        want = brute_c(held, ring.head, now, b) - brute_c(held, ring.head, now, a)
        assert ring.span_sum(a, b, now) == pytest.approx(want, abs=1e-12)
        view, h = ring.view(now)
        for j, got in enumerate(view[0]):
            k = h - N + 1 + j
            in_ring = ring.head - N < k <= ring.head
            assert got == pytest.approx(sum(u for ts, u in held if -(-ts // W) == k) if in_ring else 0.0)
