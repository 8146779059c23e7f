"""Every symbol's bucket sums in shared numpy arrays, written a batch of events at a time.

One (symbol slots, buckets, rows) view per resolution level of one flat buffer: a batch of events for
any mix of symbols lands with a few vectorized operations (`place`), where per-symbol rings would need
Python work per event. Small batches go event by event (`place_one`): a numpy call costs ~1 µs, more
than the whole scalar update of one event. Both paths leave the same sums (tests/unit/analytics/
test_batch_update.py checks them against each other).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from analytics.windows import _zero_run

NONE = -(1 << 62)  # head of a ring with nothing yet
ZERO = 1 << 62  # stamp of a bucket that holds nothing: never taken for a dead one (see Book.clean)
# Rows of a kinematic level: symbol-wide sums, then (at the venue level only) two per venue.
SQ, WHALE, USD_L, USD_S, CNT_L, CNT_S = range(6)  # Σ usd², Σ whale usd, USD and counts of each side
TOTALS = 6
V_USD, V_CNT = 0, 1  # per venue, both sides: row TOTALS + 2·venue + V_USD / V_CNT
# `place`'s constant operands as 0-d arrays of the columns' dtypes: numpy takes a Python (or numpy) scalar
# operand through its slower scalar path, ~1 µs more per call on a batch's columns; the same results
_0D = {name: np.array(v, dtype=np.intp) for name, v in (("usd_l", USD_L), ("cnt", CNT_L - USD_L), ("sq", SQ),
                                                        ("v_usd", TOTALS + V_USD), ("v_cnt", TOTALS + V_CNT),
                                                        ("zero", 0))}
_ONE_U8 = np.array(1, dtype=np.uint8)
_ONE_F, _NO_EVENT = np.array(1.0), np.array(-1, dtype=np.intp)


class _Columns(NamedTuple):
    """Per-level constants of `Book.place`, each a (levels, 1) column."""

    levels: int
    size: np.ndarray  # buckets per ring
    rows: np.ndarray  # rows per bucket
    off: np.ndarray  # the level's first element in `buf`
    scol: np.ndarray  # the level's first stamp column
    head_at: np.ndarray  # the level's first element in head.reshape(-1)
    steps: np.ndarray  # (levels + 1,) 0, 1, 2, ...: x m, each level's start in a flat (levels, m) batch column


class Book:
    """Slots of per-symbol state: ring levels (the last one the baseline's), the newest bucket id of
    each ring, first/last event time, the trigger, the whale threshold, the venues seen.

    All levels live in one flat buffer (`buf`; `data[lvl]` is its (cap, n, rows) view), so a batch
    is one `np.add.at` whatever the levels."""

    def __init__(self, widths: tuple[int, ...], sizes: tuple[int, ...], venue_level: int, cap: int = 64) -> None:
        self.widths, self.sizes, self.venue_level = widths, sizes, venue_level
        self.base_level = len(widths) - 1  # the baseline: USD_L + USD_S read over 60 s buckets
        # each level's bucket width and ring size as 0-d int64 (see _0D): `place`'s divisors
        self.divisors = [(np.array(w, dtype=np.int64), np.array(n, dtype=np.int64)) for w, n in zip(widths, sizes,
                                                                                                   strict=True)]
        self.venues = 0
        self.cap = 0
        self.buf = np.zeros(0)
        self.head = np.full((len(widths), 0), NONE, dtype=np.int64)
        # Bucket id each bucket's sums belong to (ZERO: none). Buckets are zeroed when an event of a newer
        # id lands in them (`place`), and dead ones (id <= head - n) when read (`clean`): never for every
        # bucket a ring skips, which would cost in proportion to symbols x elapsed buckets.
        self.scol = np.cumsum([0, *sizes[:-1]]).astype(np.int64)  # first stamp column of each level
        self.col_level = np.repeat(np.arange(len(sizes)), sizes)  # stamp column -> level
        self.neg_sizes = -np.asarray(sizes, dtype=np.int64)
        self.stamp = np.full((0, sum(sizes)), ZERO, dtype=np.int64)
        self.first = np.zeros(0, dtype=np.int64)
        self.last = np.zeros(0, dtype=np.int64)
        self.trig = np.zeros((2, 0), dtype=np.int64)  # ts_event, ts_recv of the latest event
        self.whale = np.zeros(0)
        self.venue_bits = np.zeros(0, dtype=np.int64)  # bit v set: the slot's symbol has seen venue v
        self.key = np.zeros(0, dtype=np.uint64)  # the symbol's part of duplicate keys (`intake.event_keys`)
        self.free: list[int] = []
        self._layout(0, 0)
        self.grow(cap)

    def _scalar(self) -> None:
        """Per level (width, n, rows, buffer offset, stamp column, head memoryview, zeros of a bucket,
        first venue row or 0) and memoryviews of the per-slot arrays: the scalar path reads Python
        ints and floats through them, ~4x cheaper than numpy scalar indexing."""
        self.scalar = [(w, n, self.rows(lvl), int(self.off[lvl]), int(self.scol[lvl]), memoryview(self.head[lvl]),
                        _zero_run(self.rows(lvl)), TOTALS + V_USD if lvl == self.venue_level else 0)
                       for lvl, (w, n) in enumerate(zip(self.widths, self.sizes, strict=True))]
        self.stamps = memoryview(self.stamp.reshape(-1))
        self.lasts, self.firsts = memoryview(self.last), memoryview(self.first)
        self.trigs = memoryview(self.trig.reshape(-1))
        self.keys, self.whales = memoryview(self.key), memoryview(self.whale)

    def rows(self, lvl: int) -> int:
        return TOTALS + (2 * self.venues if lvl == self.venue_level else 0)

    def _layout(self, cap: int, venues: int) -> np.ndarray:
        """A zeroed buffer for `cap` slots and `venues` venues, with the per-level offsets, views and
        flat memoryviews (the scalar path's: ~4x cheaper than numpy scalar indexing) set to it;
        returns the old buffer's level views."""
        old = getattr(self, "data", [])
        self.cap, self.venues = cap, venues
        rows = [self.rows(lvl) for lvl in range(len(self.widths))]
        sizes = [cap * n * r for n, r in zip(self.sizes, rows, strict=True)]
        self.off = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.buf = np.zeros(sum(sizes))
        self.data = [self.buf[o:o + z].reshape(cap, n, r)
                     for o, z, n, r in zip(self.off.tolist(), sizes, self.sizes, rows, strict=True)]
        self.buckets = [d.reshape(cap * n, r) for d, n, r in zip(self.data, self.sizes, rows, strict=True)]
        # each level's buckets as one opaque item each (`place` zeroes whole buckets: a 1-d assignment of items
        # costs ~half a 2-d one of rows), and a zeroed item to assign
        self.items = [(b.view(np.dtype((np.void, 8 * r))).reshape(-1), np.zeros((), np.dtype((np.void, 8 * r))))
                      for b, r in zip(self.buckets, rows, strict=True)]
        self.nrows = np.asarray(rows, dtype=np.int64)
        self.flat = memoryview(self.buf)
        self.latest = np.full(cap, -1, dtype=np.intp)  # scratch of `place`, -1 between batches
        col = np.asarray  # per-level constants as (levels, 1) columns, broadcast against a batch's (m,) columns
        self.cols = _Columns(len(self.widths), col(self.sizes, dtype=np.int64)[:, None], self.nrows[:, None],
                             self.off[:, None], self.scol[:, None],
                             np.arange(len(self.widths), dtype=np.intp)[:, None] * cap,
                             np.arange(len(self.widths) + 1, dtype=np.intp))
        return old

    def grow(self, cap: int) -> None:
        """Room for `cap` slots (copies; amortized by doubling)."""
        old_cap = self.cap
        old = self._layout(cap, self.venues)
        for d, o in zip(self.data, old, strict=True):
            d[:old_cap] = o
        head = np.full((len(self.widths), cap), NONE, dtype=np.int64)
        head[:, :old_cap] = self.head
        self.head = head
        stamp = np.full((cap, self.stamp.shape[1]), ZERO, dtype=np.int64)
        stamp[:old_cap] = self.stamp
        self.stamp = stamp
        self.first, self.last, self.whale, self.venue_bits, self.key = (
            np.resize(a, cap) for a in (self.first, self.last, self.whale, self.venue_bits, self.key))
        self.trig = np.concatenate([self.trig, np.zeros((2, cap - old_cap), dtype=np.int64)], axis=1)
        self.free += range(cap - 1, old_cap - 1, -1)
        self._scalar()

    def add_venue(self) -> int:
        """A new venue: two more rows at the venue level for every slot (rare, so a copy is fine)."""
        if self.venues >= 62:
            raise ValueError("at most 62 venues")  # venue_bits
        old = self._layout(self.cap, self.venues + 1)
        for lvl, (d, o) in enumerate(zip(self.data, old, strict=True)):
            if lvl == self.venue_level:
                d[:, :, :o.shape[2]] = o
            else:
                d[...] = o
        self._scalar()
        return self.venues - 1

    def alloc(self, whale: float, ts: int, key: int) -> int:
        if not self.free:
            self.grow(max(64, 2 * self.cap))
        slot = self.free.pop()
        for d in self.data:
            d[slot] = 0.0
        self.head[:, slot] = NONE
        self.stamp[slot] = ZERO
        self.first[slot] = self.last[slot] = ts
        self.trig[:, slot] = 0
        self.whale[slot] = whale
        self.venue_bits[slot] = 0
        self.key[slot] = key
        return slot

    def release(self, slot: int) -> None:
        self.free.append(slot)

    def clean(self, slot: int) -> None:
        """Zero the slot's dead buckets (ids the ring no longer keeps), so its rings read exactly as if
        every bucket skipped had been zeroed when the head moved past it."""
        stamp = self.stamp[slot]
        head = self.head[:, slot] + self.neg_sizes
        dead = stamp <= head.take(self.col_level)
        if not dead.any():
            return
        for lvl, d in enumerate(self.data):
            part = dead[self.scol[lvl]:self.scol[lvl] + self.sizes[lvl]]
            if part.any():
                d[slot][part] = 0.0
        stamp[dead] = ZERO

    def clean_many(self, slots: np.ndarray) -> None:
        """`clean` for several slots at once."""
        stamp = self.stamp[slots]
        head = self.head[:, slots].T + self.neg_sizes
        dead = stamp <= head.take(self.col_level, axis=1)
        if not dead.any():
            return
        for lvl, d in enumerate(self.data):
            r, c = np.nonzero(dead[:, self.scol[lvl]:self.scol[lvl] + self.sizes[lvl]])
            d[slots[r], c] = 0.0
        r, c = np.nonzero(dead)
        self.stamp[slots[r], c] = ZERO

    def nbytes(self) -> int:
        """Bytes of one slot in the level arrays."""
        return sum(d[0].nbytes for d in self.data)

    # -- one event -------------------------------------------------------------------------------
    def place_one(self, slot: int, venue: int, is_long: bool, ts: int, recv: int, usd: float, sq: float,
                  whale: float) -> bool:
        """Add one event to every level that still holds it; False if none did."""
        kept = False
        side = 0 if is_long else 1
        flat, stamps, stride = self.flat, self.stamps, self.stamp.shape[1]
        for w, n, rows, off, scol, heads, zeros, vrow in self.scalar:
            k = -(-ts // w)
            head = heads[slot]
            if k > head:
                heads[slot] = k
            elif k <= head - n:
                continue
            kept = True
            col = k % n
            base = off + (slot * n + col) * rows
            cell = slot * stride + scol + col
            if stamps[cell] != k:  # the bucket holds an older id's sums (or none): it starts again
                flat[base:base + rows] = zeros
                stamps[cell] = k
            flat[base + USD_L + side] += usd
            flat[base + CNT_L + side] += 1.0
            flat[base + SQ] += sq
            if whale:
                flat[base + WHALE] += whale
            if vrow:
                flat[base + vrow + 2 * venue] += usd
                flat[base + vrow + 2 * venue + 1] += 1.0
        last, first = self.lasts, self.firsts
        if ts > last[slot]:
            last[slot] = ts
        elif ts < first[slot]:
            first[slot] = ts  # history reaching further back counts as observed for the baseline
        self.trigs[slot] = ts
        self.trigs[self.cap + slot] = recv
        return kept

    # -- a batch -----------------------------------------------------------------------------------
    def place(self, slots: np.ndarray, venues: np.ndarray, is_long: np.ndarray, ts: np.ndarray, recv: np.ndarray,
              usd: np.ndarray, sq: np.ndarray, whale: np.ndarray) -> int:
        """Add a batch (events in arrival order); returns how many no level kept.

        Per level, each touched slot's head moves at once to the newest bucket of the batch; an event
        not older than its ring then holds is added (a bucket holding an older id's sums starts again
        first, see `stamp`), all levels and rows in one `np.add.at`, which adds in index order: per
        bucket and row in arrival order, as event by event. An event the head moved past would have
        been zeroed event by event too (its bucket is dead either way). Index columns are (levels, m),
        built from per-level constants (`cols`) with few numpy calls: a call costs about as much
        as its work on a batch of 1,024.
        """
        m = len(ts)
        c = self.cols
        # (levels, m) bucket ids, ceil(ts / width), and ring columns, k mod n, a level at a time: numpy divides
        # int64 by a scalar fast (libdivide), by a (levels, 1) column ~15x slower, and has no fast remainder
        k = np.empty((c.levels, m), dtype=np.int64)
        col = np.empty((c.levels, m), dtype=np.int64)
        neg = np.negative(ts)
        for lvl, (w, _) in enumerate(self.divisors):
            np.floor_divide(neg, w, out=k[lvl])
        np.negative(k, out=k)
        for lvl, (_, n) in enumerate(self.divisors):
            np.floor_divide(k[lvl], n, out=col[lvl])
        col *= c.size
        np.subtract(k, col, out=col)
        at = c.head_at + slots  # (levels, m) index into head.reshape(-1)
        heads = self.head.reshape(-1)  # a view: moved in place (the scalar path's memoryviews stay valid)
        held = heads[at]  # the heads before this batch (the head array is small and hot; stamps are not)
        np.maximum.at(heads, at.reshape(-1), k.reshape(-1))
        kept = k > heads[at] - c.size
        whole = np.count_nonzero(kept) == kept.size  # counts: cheaper than .all() / .any() here
        bucket = slots * c.size + col  # (levels, m): row of each event's bucket in `buckets[level]`
        base = c.off + bucket * c.rows  # its first element in `buf`
        cell = c.scol + slots * self.stamp.shape[1] + col
        stamps = self.stamp.reshape(-1)
        # buckets that start again (stamp != k, see `stamp`), read from the heads: a ring's head bucket
        # holds its head's id (every kept event writes its stamp; `clean` zeroes only dead ids), and
        # no bucket holds an id past the head, so only an event behind its ring's head reads its stamp
        stale = k > held
        behind = (k < held).reshape(-1).nonzero()[0]
        if len(behind):
            stale.reshape(-1)[behind] = stamps[cell.reshape(-1)[behind]] != k.reshape(-1)[behind]
        if not whole:
            stale &= kept
        s = stale.reshape(-1).nonzero()[0]  # (level, event) flat: index arrays, cheaper than boolean masks
        if len(s):
            ends = s.searchsorted(c.steps * m).tolist()
            stale_buckets = bucket.reshape(-1)[s]
            for lvl, (items, zero) in enumerate(self.items):  # whole buckets (every row) zeroed at once
                items[stale_buckets[ends[lvl]:ends[lvl + 1]]] = zero
            stamps[cell.reshape(-1)[s]] = k.reshape(-1)[s]
        # rows USD and count of the event's side and Σ usd² on every level, then the venue level's venue rows
        # and the whale rows, in one index array; per bucket and row the events stay in arrival order
        lm = k.size
        whales = whale.nonzero()[0]  # most events add nothing to the whale row: leave them out
        size = 3 * lm + 2 * m + len(whales) * c.levels
        idx = np.empty(size, dtype=np.intp)
        vals = np.empty(size)
        short = is_long.view(np.uint8) ^ _ONE_U8
        ix3 = idx[:3 * lm].reshape(3, c.levels, m)
        np.add(base, short, out=ix3[0])
        ix3[0] += _0D["usd_l"]
        np.add(ix3[0], _0D["cnt"], out=ix3[1])
        np.add(base, _0D["sq"], out=ix3[2])
        v3 = vals[:3 * lm].reshape(3, c.levels, m)
        v3[0], v3[1], v3[2] = usd, _ONE_F, sq
        vb = base[self.venue_level] + venues
        vb += venues
        np.add(vb, _0D["v_usd"], out=idx[3 * lm:3 * lm + m])
        np.add(vb, _0D["v_cnt"], out=idx[3 * lm + m:3 * lm + 2 * m])
        vals[3 * lm:3 * lm + m], vals[3 * lm + m:3 * lm + 2 * m] = usd, _ONE_F
        if len(whales):
            np.add(base[:, whales], WHALE, out=idx[3 * lm + 2 * m:].reshape(c.levels, -1))
            vals[3 * lm + 2 * m:].reshape(c.levels, -1)[...] = whale[whales]
        if not whole:
            keep = np.concatenate([np.broadcast_to(kept, (3, c.levels, m)).reshape(-1), kept[self.venue_level],
                                   kept[self.venue_level], kept[:, whales].reshape(-1)])
            idx, vals = idx[keep], vals[keep]
        np.add.at(self.buf, idx, vals)
        np.maximum.at(self.last, slots, ts)
        np.minimum.at(self.first, slots, ts)
        latest = self.latest
        np.maximum.at(latest, slots, np.arange(m, dtype=np.intp))  # each slot's last event of the batch
        hit = (latest >= _0D["zero"]).nonzero()[0]
        last = latest[hit]
        latest[hit] = _NO_EVENT
        self.trig[0, hit], self.trig[1, hit] = ts[last], recv[last]
        return 0 if whole else int(m - np.count_nonzero(kept.any(axis=0)))
