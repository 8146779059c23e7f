"""The recent-event key table: batch and one-by-one decisions agree, collisions probe, old keys expire."""
from __future__ import annotations

import random

import numpy as np
import pytest

from analytics.recent import Recent

NS = 1_000_000_000


def reference(batches: list[list[tuple[int, int]]]) -> list[list[bool]]:
    """What a dict of every key ever seen (nothing expires) keeps."""
    seen: set[int] = set()
    out = []
    for batch in batches:
        keep = []
        for key, _ in batch:
            keep.append(key | 1 not in seen)
            seen.add(key | 1)
        out.append(keep)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_batches_and_single_keys_decide_like_a_set(seed: int) -> None:
    rng = random.Random(seed)
    # keys crowding a few low bits: long probe chains in a small table, and the table grows (cap 8)
    pool = [(rng.randrange(4) | (rng.getrandbits(60) << 4)) for _ in range(300)]
    batches = [[(rng.choice(pool), t) for t in range(rng.randrange(1, 40))] for _ in range(30)]
    want = reference(batches)
    many, one = Recent(8, 10**18), Recent(8, 10**18)  # nothing old enough to expire
    for batch, keep in zip(batches, want, strict=True):
        keys = np.array([k for k, _ in batch], dtype=np.uint64)
        ts = np.array([t for _, t in batch], dtype=np.int64)
        assert many.add(keys, ts, 0).tolist() == keep
        assert [one.add_one(k, t, 0) for k, t in batch] == keep
    assert len(many) == len(one) == len({k | 1 for b in batches for k, _ in b})


def test_keys_older_than_the_memory_are_forgotten_when_the_table_fills() -> None:
    r = Recent(4, 2 * NS)
    assert r.add(np.array([10, 20], dtype=np.uint64), np.array([0, 0]), 0).all()
    assert not r.add_one(10, 0, 0)  # still held
    for k in range(3):  # fills the table past its cap at t = 5 s: the two keys of t = 0 are dropped
        assert r.add_one(100 + 2 * k, 5 * NS, 5 * NS)
    assert r.add_one(10, 5 * NS, 5 * NS)  # forgotten, so new again
    assert not r.add_one(104, 5 * NS, 5 * NS)  # recent keys are kept
