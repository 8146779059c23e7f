"""The restart policy of `liqcascade up` (pure, clock passed in)."""
from __future__ import annotations

from liqcascade.supervise import GIVE_UP_AFTER, STARTUP_S, Backoff


def test_quick_failures_double_the_delay_then_give_up():
    b = Backoff()
    delays = []
    now = 0.0
    for _ in range(GIVE_UP_AFTER - 1):
        b.started(now)
        now += 0.5
        delays.append(b.died(now))
    assert delays == [1.0, 2.0, 4.0, 8.0][: GIVE_UP_AFTER - 1]
    b.started(now)
    assert b.died(now + 0.5) is None


def test_a_stage_that_ran_a_while_starts_the_backoff_again():
    b = Backoff()
    b.started(0.0)
    assert b.died(1.0) == 1.0
    b.started(2.0)
    assert b.died(3.0) == 2.0
    b.started(4.0)
    assert b.died(4.0 + STARTUP_S) == 1.0

