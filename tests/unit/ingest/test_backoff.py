"""Reconnect backoff: jittered, capped, never gives up, resets after success."""
from __future__ import annotations

import random

from ingest.backoff import Backoff


def test_delays_grow_then_stay_under_the_cap_forever():
    b = Backoff(0.1, 2.0, random.Random(1))
    delays = [b.next_delay() for _ in range(200)]
    assert all(0.05 <= d <= 2.05 for d in delays)
    assert max(delays[:2]) <= 0.25 and max(delays[50:]) > 1.0
    assert b.attempt == 200


def test_reset_returns_to_the_base_delay():
    b = Backoff(0.1, 2.0, random.Random(2))
    for _ in range(10):
        b.next_delay()
    b.reset()
    assert b.next_delay() <= 0.15
