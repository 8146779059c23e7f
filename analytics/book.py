"""Every symbol's bucket sums in shared numpy arrays, written a batch of events at a time.

One array per resolution level, (symbol slots, buckets, rows): a batch of events for any mix of
symbols lands with a few vectorized operations per level (`place`), where per-symbol rings would need
Python work per event. Small batches go event by event (`place_one`): a numpy call costs ~1 µs, more
than the whole scalar update of one event. Both paths leave the same sums (tests/unit/analytics/
test_batch_update.py checks them against each other).
"""
from __future__ import annotations

import numpy as np

from analytics.windows import _zero_run

NONE = -(1 << 62)  # head of a ring with nothing yet
# Rows of a kinematic level: symbol-wide sums, then (at the venue level only) two per venue.
SQ, WHALE, USD_L, USD_S, CNT_L, CNT_S = range(6)  # Σ usd², Σ whale usd, USD and counts of each side
TOTALS = 6
V_USD, V_CNT = 0, 1  # per venue, both sides: row TOTALS + 2·venue + V_USD / V_CNT


class Book:
    """Slots of per-symbol state: ring levels (the last one the baseline's, one USD row), the newest
    bucket id of each ring, first/last event time, the trigger and the whale threshold."""

    def __init__(self, widths: tuple[int, ...], sizes: tuple[int, ...], venue_level: int, cap: int = 64) -> None:
        self.widths, self.sizes, self.venue_level = widths, sizes, venue_level
        self.base_level = len(widths) - 1  # the baseline: one row of USD
        self.venues = 0
        self.cap = 0
        self.data = [np.zeros((0, n, self.rows(lvl))) for lvl, n in enumerate(sizes)]
        self.head = np.full((len(widths), 0), NONE, dtype=np.int64)
        self.first = np.zeros(0, dtype=np.int64)
        self.last = np.zeros(0, dtype=np.int64)
        self.trig = np.zeros((2, 0), dtype=np.int64)  # ts_event, ts_recv of the latest event
        self.whale = np.zeros(0)
        self.free: list[int] = []
        self._views()
        self.grow(cap)

    def rows(self, lvl: int) -> int:
        if lvl == self.base_level:
            return 1
        return TOTALS + (2 * self.venues if lvl == self.venue_level else 0)

    def _views(self) -> None:
        """Flat memoryviews for the scalar path (~4x cheaper than numpy scalar indexing)."""
        self.flats = [memoryview(d.reshape(-1)) for d in self.data]
        self.heads = [memoryview(h) for h in self.head]

    def grow(self, cap: int) -> None:
        """Room for `cap` slots (copies; amortized by doubling)."""
        old = self.cap
        for lvl, d in enumerate(self.data):
            new = np.zeros((cap, d.shape[1], d.shape[2]))
            new[:old] = d
            self.data[lvl] = new
        head = np.full((len(self.widths), cap), NONE, dtype=np.int64)
        head[:, :old] = self.head
        self.head = head
        self.first, self.last, self.whale = (np.resize(a, cap) for a in (self.first, self.last, self.whale))
        self.trig = np.concatenate([self.trig, np.zeros((2, cap - old), dtype=np.int64)], axis=1)
        self.free += range(cap - 1, old - 1, -1)
        self.cap = cap
        self._views()

    def add_venue(self) -> int:
        """A new venue: two more rows at the venue level for every slot (rare, so a copy is fine)."""
        lvl = self.venue_level
        d = self.data[lvl]
        self.data[lvl] = np.concatenate([d, np.zeros((d.shape[0], d.shape[1], 2))], axis=2)
        self.venues += 1
        self._views()
        return self.venues - 1

    def alloc(self, whale: float, ts: int) -> int:
        if not self.free:
            self.grow(max(64, 2 * self.cap))
        slot = self.free.pop()
        for d in self.data:
            d[slot] = 0.0
        self.head[:, slot] = NONE
        self.first[slot] = self.last[slot] = ts
        self.trig[:, slot] = 0
        self.whale[slot] = whale
        return slot

    def release(self, slot: int) -> None:
        self.free.append(slot)

    def nbytes(self) -> int:
        """Bytes of one slot in the level arrays."""
        return sum(d[0].nbytes for d in self.data)

    # -- one event -------------------------------------------------------------------------------
    def place_one(self, slot: int, venue: int, is_long: bool, ts: int, recv: int, usd: float, sq: float,
                  whale: float) -> bool:
        """Add one event to every level that still holds it; False if none did."""
        kept = False
        side = 0 if is_long else 1
        for lvl, w in enumerate(self.widths):
            k = -(-ts // w)
            heads = self.heads[lvl]
            head = heads[slot]
            n = self.sizes[lvl]
            rows = self.rows(lvl)
            if k > head:
                heads[slot] = k
                _advance(self.flats[lvl], slot * n * rows, n, rows, head, k)
            elif k <= head - n:
                continue
            kept = True
            base = (slot * n + k % n) * rows
            flat = self.flats[lvl]
            if lvl == self.base_level:
                flat[base] += usd
                continue
            flat[base + USD_L + side] += usd
            flat[base + CNT_L + side] += 1.0
            flat[base + SQ] += sq
            if whale:
                flat[base + WHALE] += whale
            if lvl == self.venue_level:
                flat[base + TOTALS + 2 * venue + V_USD] += usd
                flat[base + TOTALS + 2 * venue + V_CNT] += 1.0
        if ts > self.last[slot]:
            self.last[slot] = ts
        elif ts < self.first[slot]:
            self.first[slot] = ts  # history reaching further back counts as observed for the baseline
        self.trig[0, slot], self.trig[1, slot] = ts, recv
        return kept

    # -- a batch -----------------------------------------------------------------------------------
    def place(self, slots: np.ndarray, venues: np.ndarray, is_long: np.ndarray, ts: np.ndarray, recv: np.ndarray,
              usd: np.ndarray, sq: np.ndarray, whale: np.ndarray) -> int:
        """Add a batch (events in arrival order); returns how many no level kept.

        Per level: each touched slot's ring advances at once to the newest bucket of the batch
        (zeroing the buckets it skips), then every event not older than the ring holds is added with
        one `np.add.at`. Added in arrival order per bucket, as event by event; an event the advance
        pushed out would have been zeroed by it event by event too.
        """
        m = len(ts)
        widths = np.asarray(self.widths, dtype=np.int64)[:, None]
        k = -(-ts[None, :] // widths)  # (levels, m) bucket ids
        levels = len(self.widths)
        new = self.head.copy()
        lvl_slot = (np.arange(levels, dtype=np.intp)[:, None] * self.cap + slots[None, :]).ravel()
        np.maximum.at(new.reshape(-1), lvl_slot, k.ravel())
        moved = (new != self.head).any(axis=1).tolist()
        kept = k > new.reshape(-1)[lvl_slot].reshape(levels, m) - np.asarray(self.sizes)[:, None]
        side = (~is_long).astype(np.intp)
        for lvl in range(levels):
            d, n = self.data[lvl], self.sizes[lvl]
            if moved[lvl]:
                _advance_many(d, self.head[lvl], new[lvl])
            rows = d.shape[2]
            base = (slots * n + k[lvl] % n) * rows
            keep = kept[lvl]
            whole = bool(keep.all())
            if not whole:
                base = base[keep]
            if lvl == self.base_level:
                np.add.at(d.reshape(-1), base, usd if whole else usd[keep])
                continue
            s, u, q, h = (side, usd, sq, whale) if whole else (side[keep], usd[keep], sq[keep], whale[keep])
            idx = [base + USD_L + s, base + CNT_L + s, base + SQ, base + WHALE]
            vals = [u, np.ones(len(u)), q, h]
            if lvl == self.venue_level:
                vb = base + TOTALS + 2 * (venues if whole else venues[keep])
                idx += [vb + V_USD, vb + V_CNT]
                vals += [u, vals[1]]
            np.add.at(d.reshape(-1), np.concatenate(idx), np.concatenate(vals))
        self.head[...] = new  # in place: the scalar path's memoryviews stay valid
        np.maximum.at(self.last, slots, ts)
        np.minimum.at(self.first, slots, ts)
        latest = np.full(self.cap, -1, dtype=np.intp)
        np.maximum.at(latest, slots, np.arange(m, dtype=np.intp))  # each slot's last event of the batch
        hit = np.flatnonzero(latest >= 0)
        self.trig[0, hit] = ts[latest[hit]]
        self.trig[1, hit] = recv[latest[hit]]
        return int(m - np.count_nonzero(kept.any(axis=0)))


def _advance(flat: memoryview, off: int, n: int, rows: int, head: int, k: int) -> None:
    """Zero the buckets ids head+1..k of the ring at `off` in `flat` (k > head): at most two runs."""
    if k - head >= n:
        flat[off:off + n * rows] = _zero_run(n * rows)
        return
    a, b = (head + 1) % n, k % n
    if a <= b:
        flat[off + a * rows:off + (b + 1) * rows] = _zero_run((b + 1 - a) * rows)
    else:
        flat[off + a * rows:off + n * rows] = _zero_run((n - a) * rows)
        flat[off:off + (b + 1) * rows] = _zero_run((b + 1) * rows)


def _advance_many(d: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
    """For every slot whose head moves old -> new, zero the bucket columns that now hold ids > old:
    column j holds id new - ((new - j) mod n), which is newer than `old` iff (new - j) mod n < new - old."""
    moved = np.flatnonzero(new != old)
    n = d.shape[1]
    top = new[moved][:, None]
    fresh = (top - np.arange(n, dtype=np.int64)[None, :]) % n < (top - old[moved][:, None])
    r, c = np.nonzero(fresh)
    d[moved[r], c] = 0.0
