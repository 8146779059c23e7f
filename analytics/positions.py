"""Fills of one position, decided event by event or for a whole batch at once.

A venue liquidates a large position in several fills at the same (bankruptcy) price within about a
second. They are one liquidation for n_eff and the whale share: a fill within FILL_GAP_NS of a
position's first fill on the same venue and side, at its price within FILL_PRICE_TOL, is another piece
of it (at most FILL_MAX pieces), and Σ usd² grows by (P + u)² - P², P the position's USD before it.
"""
from __future__ import annotations

import numpy as np

from analytics.windows import NS

FILL_GAP_NS = NS
FILL_PRICE_TOL = 2e-4  # relative: fills of one position share its bankruptcy price (venues round it)
FILL_MAX = 3  # a position goes in a few fills; a longer same-price chain is a crowd in a fast second
ROUND_MIN = 32  # a round of fewer events than this (~15 numpy calls ~ 30 one-by-one steps): those go one by one
# `batch`'s constant operands as 0-d arrays of the columns' dtypes: numpy takes a Python (or numpy) scalar
# operand through its slower scalar path, ~1 µs more per call on a batch's columns; the same results
_ONE = np.array(1, dtype=np.int64)
_FILLS, _GAP = np.array(FILL_MAX - 1, dtype=np.uint64), np.array(FILL_GAP_NS, dtype=np.uint64)
_TOL, _ZERO_F, _NAN = np.array(FILL_PRICE_TOL), np.array(0.0), np.array(np.nan)
_ONE_P, _TRUE = np.array(1, dtype=np.intp), np.array(True)


def stable_order(g: np.ndarray, bound: int) -> np.ndarray:
    """argsort(g, kind="stable") of keys in [0, bound), fast: keys below 2¹⁶ (slots x venues of a shard) as
    uint16, which numpy sorts stably by radix (~5x faster on a batch of 1,024); else made unique by their
    position (g·m + i), which the default sort orders the same way, ~2x faster than its stable sort."""
    m = len(g)
    if bound <= 1 << 16:
        return g.astype(np.uint16).argsort(kind="stable")  # the method: np.argsort's Python wrapper costs ~0.5 us
    return np.argsort(g * m + np.arange(m))


def segments(starts: np.ndarray, m: int) -> np.ndarray:
    """Group number of each of m sorted events, its groups starting at `starts` (cumsum of a bool mask, without
    the bool-to-int cast that makes that ~2x slower)."""
    seg = np.zeros(m, dtype=np.intp)
    seg[starts[1:]] = _ONE_P
    return np.add.accumulate(seg, out=seg)


class Positions:
    """The open position of every (slot, venue, side): first fill's time and price, USD so far, fills."""

    def __init__(self) -> None:
        self.slots = self.venues = 0
        self.ts = np.zeros(0, dtype=np.int64)
        self.price = np.zeros(0)
        self.usd = np.zeros(0)
        self.n = np.zeros(0, dtype=np.int64)  # 0: no position

    def fit(self, slots: int, venues: int) -> None:
        """Room for `slots` symbol slots and `venues` venues (copies the positions held)."""
        if slots <= self.slots and venues <= self.venues:
            return
        s, v = max(slots, self.slots), max(venues, 2 * self.venues, 4)
        for name in ("ts", "price", "usd", "n"):
            old = getattr(self, name).reshape(self.slots, self.venues, 2)
            new = np.zeros((s, v, 2), dtype=old.dtype)
            new[:self.slots, :self.venues] = old
            setattr(self, name, new.reshape(-1))
        self.slots, self.venues = s, v
        self._views = (memoryview(self.ts), memoryview(self.price), memoryview(self.usd), memoryview(self.n))

    def key(self, slot: int | np.ndarray, venue: int | np.ndarray, side: int | np.ndarray) -> int | np.ndarray:
        """Index of the (slot, venue, side) position; side 0 long, 1 short."""
        return (slot * self.venues + venue) * 2 + side

    def clear(self, slot: int) -> None:
        self.n[slot * self.venues * 2:(slot + 1) * self.venues * 2] = 0

    def one(self, g: int, ts: int, price: float, usd: float) -> float:
        """USD of the position before this event if it is a fill of it, else 0.0 (a new position)."""
        tv, pv, uv, nv = self._views
        n = nv[g]
        if n and n < FILL_MAX and 0 <= ts - tv[g] <= FILL_GAP_NS and abs(price - pv[g]) <= FILL_PRICE_TOL * pv[g]:
            before = uv[g]
            uv[g], nv[g] = before + usd, n + 1
            return before
        if price > 0.0:
            tv[g], pv[g], uv[g], nv[g] = ts, price, usd, 1
        return 0.0

    def batch(self, g: np.ndarray, ts: np.ndarray, price: np.ndarray, usd: np.ndarray) -> np.ndarray:
        """`one` for every event of a batch (arrival order). Events of distinct groups are independent.
        Most groups hold no fill: if no event matches the one before it in its group (the first: the held
        position), each starts a position and the group's last event is the one left; those groups are
        decided in one go, the others in rounds (`_rounds`)."""
        m = len(g)
        if not m:
            return np.zeros(0)
        order = stable_order(g, len(self.n))
        gs, t, p = g[order], ts[order], price[order]
        first = np.empty(m, dtype=bool)
        first[0] = True
        np.not_equal(gs[1:], gs[:-1], out=first[1:])
        at = first.nonzero()[0]
        held = gs[at]
        prev_t, prev_p = np.empty_like(t), np.empty_like(p)
        prev_t[1:], prev_p[1:] = t[:-1], p[:-1]
        prev_t[at] = self.ts[held]
        # a held position that takes no fill (n = 0 or FILL_MAX: 1 <= n < FILL_MAX as one unsigned comparison)
        # gets a NaN price, which no price matches; the event before in the group is one fill (n = 1)
        prev_p[at] = np.where((self.n[held] - _ONE).view(np.uint64) < _FILLS, self.price[held], _NAN)
        # 0 <= dt <= FILL_GAP_NS as one unsigned comparison
        maybe = ((t - prev_t).view(np.uint64) <= _GAP) & (np.abs(p - prev_p) <= _TOL * prev_p)
        maybe |= ~(p > _ZERO_F)  # a fill, or starts nothing
        last = np.empty(len(at), dtype=np.intp)  # each group's last event: the position it leaves, if all start one
        np.subtract(at[1:], _ONE, out=last[:-1])
        last[-1] = m - 1
        if not np.count_nonzero(maybe):
            self._set(gs[last], t[last], p[last], usd[order[last]])
            return np.zeros(m)
        seg = segments(at, m)
        hard_seg = np.zeros(len(held), dtype=bool)
        hard_seg[seg[maybe.nonzero()[0]]] = _TRUE  # every event of a group with a possible fill goes the long way
        last = last[~hard_seg]
        self._set(gs[last], t[last], p[last], usd[order[last]])
        sel = order[hard_seg[seg].nonzero()[0]]
        sel.sort()
        before = np.zeros(m)
        if len(sel) >= 4 * ROUND_MIN:
            before[sel] = self._rounds(g[sel], ts[sel], price[sel], usd[sel])
            return before
        one = self.one  # a few events: in arrival order, one at a time
        for i, gi, t1, p1, u1 in zip(sel.tolist(), g[sel].tolist(), ts[sel].tolist(), price[sel].tolist(),
                                     usd[sel].tolist(), strict=True):
            before[i] = one(gi, t1, p1, u1)
        return before

    def _set(self, gl: np.ndarray, t: np.ndarray, p: np.ndarray, u: np.ndarray) -> None:
        """Positions `gl` (distinct) start afresh at these events."""
        self.ts[gl], self.price[gl], self.usd[gl], self.n[gl] = t, p, u, 1

    def _rounds(self, g: np.ndarray, ts: np.ndarray, price: np.ndarray, usd: np.ndarray) -> np.ndarray:
        """`one` for every event, in rounds: round r decides, on whole columns, the r-th event of every
        group that has one; the long tail of a few busy groups (rounds with few events) goes event by event."""
        m = len(g)
        before = np.zeros(m)
        order = stable_order(g, len(self.n))
        gs = g[order]
        starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
        if len(starts) == m:  # every group once: one round
            self._round(slice(None), g, ts, price, usd, before)
            return before
        sizes = np.diff(np.r_[starts, m])
        rank = np.empty(m, dtype=np.int64)
        rank[order] = np.arange(m) - np.repeat(starts, sizes)
        per_round = np.bincount(sizes - 1)[::-1].cumsum()[::-1]  # events in round r: groups with > r events
        r = 0
        while r < len(per_round) and per_round[r] >= ROUND_MIN:
            self._round(np.flatnonzero(rank == r), g, ts, price, usd, before)
            r += 1
        rest = np.flatnonzero(rank >= r)  # in arrival order: each group's rest in its order, one at a time
        one = self.one
        before[rest] = [one(gi, t1, p1, u1) for gi, t1, p1, u1 in zip(g[rest].tolist(), ts[rest].tolist(),
                                                                       price[rest].tolist(), usd[rest].tolist(),
                                                                       strict=True)]
        return before

    def _round(self, sel: slice | np.ndarray, g: np.ndarray, ts: np.ndarray, price: np.ndarray, usd: np.ndarray,
               before: np.ndarray) -> None:
        """`one` for events `sel`, all of distinct groups, on whole columns."""
        gi, t, p, u = g[sel], ts[sel], price[sel], usd[sel]
        pn, pt, pp, pu = self.n[gi], self.ts[gi], self.price[gi], self.usd[gi]
        dt = t - pt
        match = (pn >= 1) & (pn < FILL_MAX) & (dt >= 0) & (dt <= FILL_GAP_NS) & (np.abs(p - pp) <= FILL_PRICE_TOL * pp)
        start = ~match & (p > 0.0)
        before[sel] = np.where(match, pu, 0.0)
        self.usd[gi] = np.where(match, pu + u, np.where(start, u, pu))
        self.n[gi] = np.where(match, pn + 1, np.where(start, 1, pn))
        self.ts[gi] = np.where(start, t, pt)
        self.price[gi] = np.where(start, p, pp)
