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


@pytest.mark.parametrize("seed", range(5))
def test_batches_without_a_prune_decide_like_a_set(seed: int) -> None:
    """The one-pass path (no prune due): keys crowding a few slots of a large table, so that probe chains
    and several events aiming at one free slot (the same key or not) go through the vectorized rounds."""
    rng = random.Random(seed)
    r = Recent(4096, 10**18)
    size = r.mask + 1
    pool = [rng.randrange(8) + size * rng.getrandbits(40) for _ in range(120)]  # 8 home slots
    batches = [[(rng.choice(pool), t) for t in range(rng.randrange(40, 200))] for _ in range(12)]
    for batch, keep in zip(batches, reference(batches), strict=True):
        assert r.count + len(batch) <= r.cap  # the path under test
        keys = np.array([k for k, _ in batch], dtype=np.uint64)
        assert r.add(keys, np.array([t for _, t in batch], dtype=np.int64), 0).tolist() == keep
    held = {k | 1 for b in batches for k, _ in b}
    assert len(r) == len(held) == np.count_nonzero(r.keys)
    assert set(r.keys[r.keys != 0].tolist()) == held
    first_ts = {}
    for b in batches:
        for k, t in b:
            first_ts.setdefault(k | 1, t)
    assert {int(k): int(t) for k, t in zip(r.keys, r.ts, strict=True) if k} == first_ts  # each key's first event


class PruneBeforeModel:
    """What `Recent.add` means, as a dict: a batch's new keys (each key's first event) are counted first; if
    they would take the table past its cap, the keys older than keep_ns before `newest` are dropped and the
    cap set to twice what is left plus the new keys (at least the initial cap), then the new keys go in."""

    def __init__(self, cap: int, keep_ns: int) -> None:
        self.held: dict[int, int] = {}
        self.cap = self.min_cap = cap
        self.keep_ns = keep_ns

    def add(self, batch: list[tuple[int, int]], newest: int) -> list[bool]:
        first: dict[int, int] = {}
        keep = []
        for key, t in batch:
            new = (key | 1) not in self.held and (key | 1) not in first
            if new:
                first[key | 1] = t
            keep.append(new)
        if len(self.held) + len(first) > self.cap:
            self.held = {k: t for k, t in self.held.items() if t >= newest - self.keep_ns}
            self.cap = max(self.min_cap, 2 * (len(self.held) + len(first)))
        self.held.update(first)
        return keep


@pytest.mark.parametrize("seed", range(6))
def test_a_batch_that_fills_the_table_prunes_before_its_keys_go_in(seed: int) -> None:
    """Old keys are forgotten when a batch crosses the cap, the batch's own keys are kept whatever their time
    (late events too), and re-deliveries of forgotten keys are new again."""
    rng = random.Random(seed)
    r, model = Recent(64, 2 * NS), PruneBeforeModel(64, 2 * NS)
    pool = [rng.getrandbits(62) for _ in range(400)]
    now = 0
    for _ in range(60):
        now += rng.randrange(NS // 2)
        batch = [(rng.choice(pool), now - rng.randrange(4 * NS)) for _ in range(rng.randrange(1, 90))]
        keys = np.array([k for k, _ in batch], dtype=np.uint64)
        ts = np.array([t for _, t in batch], dtype=np.int64)
        assert r.add(keys, ts, now).tolist() == model.add(batch, now)
        assert (len(r), r.cap) == (len(model.held), model.cap)
        held = r.keys != 0
        assert dict(zip(r.keys[held].tolist(), r.ts[held].tolist(), strict=True)) == model.held


def test_keys_older_than_the_memory_are_forgotten_when_the_table_fills() -> None:
    r = Recent(4, 2 * NS)
    assert r.add(np.array([10, 20], dtype=np.uint64), np.array([0, 0]), 0).all()
    assert not r.add_one(10, 0, 0)  # still held
    for k in range(3):  # fills the table past its cap at t = 5 s: the two keys of t = 0 are dropped
        assert r.add_one(100 + 2 * k, 5 * NS, 5 * NS)
    assert r.add_one(10, 5 * NS, 5 * NS)  # forgotten, so new again
    assert not r.add_one(104, 5 * NS, 5 * NS)  # recent keys are kept
