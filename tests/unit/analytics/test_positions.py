"""Fills of one position decided for a whole batch (`Positions.batch`: at once, walked, or event by event)
give what `Positions.one` gives event by event in arrival order, for every shape of batch."""
from __future__ import annotations

import numpy as np
import pytest

from analytics.positions import FILL_GAP_NS, Positions


def batch_of(rng: np.random.Generator, m: int, groups: int, step_ns: int, zeros: float) -> tuple[np.ndarray, ...]:
    g = rng.integers(0, groups, m).astype(np.intp)
    ts = (10**18 + np.cumsum(rng.integers(0, step_ns, m))).astype(np.int64)
    price = 100.0 + rng.integers(0, 3, m) * 0.01  # ~1e-4 apart: some within the fill tolerance, some not
    price[rng.random(m) < zeros] = 0.0  # starts nothing
    return g, ts, price, rng.exponential(2e4, m)


@pytest.mark.parametrize(("m", "groups", "step_ns"), [
    (1000, 4, FILL_GAP_NS // 300),  # a few busy positions: long same-price chains
    (1000, 40, FILL_GAP_NS // 30),
    (1000, 400, FILL_GAP_NS // 3),  # most groups once or twice
    (300, 20, FILL_GAP_NS // 100),
    (20, 5, FILL_GAP_NS // 10),  # a small batch: event by event
])
@pytest.mark.parametrize("zeros", [0.0, 0.02])  # prices that start nothing (the walk leaves those one by one)
def test_a_batch_decides_every_fill_as_one_event_at_a_time_would(m, groups, step_ns, zeros):
    rng = np.random.default_rng(m + groups)
    fast, slow = Positions(), Positions()
    for pos in (fast, slow):
        pos.fit(groups, 1)
    for k in range(4):  # later batches meet the positions the earlier ones left
        g, ts, price, usd = batch_of(rng, m, groups * 2, step_ns, zeros)
        ts += k * m * step_ns // 2
        got = fast.batch(g, ts, price, usd)
        want = [slow.one(*e) for e in zip(g.tolist(), ts.tolist(), price.tolist(), usd.tolist(), strict=True)]
        assert got.tolist() == want
        assert sum(1 for b in want if b > 0.0) > 0 or m < 100  # fills did happen
        for name in ("ts", "price", "usd", "n"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
