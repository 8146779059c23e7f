"""The simulator's context model: open interest falls with a cascade, funding and basis turn against the side."""
from __future__ import annotations

import pytest

from liqcascade.sim.context import with_context
from liqcascade.sim.timeline import SimContext, demo


@pytest.mark.parametrize("seed", range(4))
def test_open_interest_falls_through_each_demo_cascade_and_funding_and_basis_follow_the_side(seed):
    calm, cascade = 15.0, 30.0
    events = list(with_context(demo(seed=seed, calm_s=calm, cascade_s=cascade, rounds=2)))
    btc = {round(t): ev for t, ev in events if isinstance(ev, SimContext) and ev.symbol == "BTCUSDT"}
    times = sorted(btc)
    assert times == list(range(times[0], times[-1] + 1))  # one context a second
    before, after = btc[round(calm)], btc[round(calm + cascade)]  # around the first (long) cascade
    drop = after.open_interest / before.open_interest - 1
    assert -0.08 < drop < -0.01  # positions closed: a few % of open interest
    mid = btc[round(calm + 0.75 * cascade)]
    assert mid.funding_rate < before.funding_rate and mid.mark_price < mid.index_price  # longs flushed
    second = btc[round(2 * calm + 1.75 * cascade)]  # the short cascade of round 2
    assert second.mark_price > second.index_price and second.funding_rate > 0.0001
    quiet = [btc[t] for t in times if t < calm - 1]
    assert max(c.open_interest for c in quiet) / min(c.open_interest for c in quiet) < 1.005  # calm: flat
