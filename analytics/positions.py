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
assert FILL_MAX <= 3, "Positions._walk reads a position's first fill at most two events back"
WALK_MIN = 16  # a batch's events that may be fills: from this many, `_walk` (~20 numpy calls, then a light step)
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
        decided in one go, the others walked event by event (`_walk`, or `one` for a few)."""
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
        if len(sel) >= WALK_MIN and bool((price[sel] > _ZERO_F).all()):
            before[sel] = self._walk(g[sel], ts[sel], price[sel], usd[sel])
            return before
        one = self.one  # a few events, or a price that starts nothing: in arrival order, one at a time
        for i, gi, t1, p1, u1 in zip(sel.tolist(), g[sel].tolist(), ts[sel].tolist(), price[sel].tolist(),
                                     usd[sel].tolist(), strict=True):
            before[i] = one(gi, t1, p1, u1)
        return before

    def _set(self, gl: np.ndarray, t: np.ndarray, p: np.ndarray, u: np.ndarray) -> None:
        """Positions `gl` (distinct) start afresh at these events."""
        self.ts[gl], self.price[gl], self.usd[gl], self.n[gl] = t, p, u, 1

    def _walk(self, g: np.ndarray, ts: np.ndarray, price: np.ndarray, usd: np.ndarray) -> np.ndarray:
        """`one` for every event (arrival order; every price > 0), each group's events walked in
        order. An event can only be a fill of the position its group held before the batch or of the one its
        previous one or two events opened (a position takes at most 3 fills), so whether it matches each of
        those is computed on whole columns first (the same float and int operations as `one`), and the walk
        is a counter and a sum per event instead of `one`'s reads and writes of the positions' arrays."""
        m = len(g)
        order = stable_order(g, len(self.n))
        gs, t, p, u = g[order], ts[order], price[order], usd[order]
        head = np.empty(m, dtype=bool)
        head[0] = True
        np.not_equal(gs[1:], gs[:-1], out=head[1:])

        def match(k: int, at: np.ndarray, ap: np.ndarray) -> np.ndarray:
            """Events k.. against anchors at times `at` and prices `ap`: within FILL_GAP_NS after and at the price."""
            dt = t[k:] - at
            return (dt >= 0) & (dt <= FILL_GAP_NS) & (np.abs(p[k:] - ap) <= FILL_PRICE_TOL * ap)

        held = match(0, self.ts[gs], self.price[gs])  # against the group's position before the batch
        prev1, prev2 = np.zeros(m, dtype=bool), np.zeros(m, dtype=bool)
        prev1[1:] = match(1, t[:-1], p[:-1]) & ~head[1:]  # against the event before, in the same group
        prev2[2:] = match(2, t[:-2], p[:-2]) & ~head[2:] & ~head[1:-1]  # against the one before that
        heads, counts, sums = head.tolist(), self.n[gs].tolist(), self.usd[gs].tolist()
        before = [0.0] * m
        ends: list[tuple[int, int, int, float]] = []  # per group: (its last event, anchor (-1: held), fills, USD)
        a = n = 0
        acc = 0.0
        for i, (first, u_i, h, m1, m2) in enumerate(zip(heads, u.tolist(), held.tolist(), prev1.tolist(),
                                                        prev2.tolist(), strict=True)):
            if first:
                if i:
                    ends.append((i - 1, a, n, acc))
                a, n, acc = -1, counts[i], sums[i]
            if 1 <= n < FILL_MAX and (h if a < 0 else m1 if a == i - 1 else m2):
                before[i] = acc
                acc += u_i
                n += 1
            else:
                a, n, acc = i, 1, u_i
        ends.append((m - 1, a, n, acc))
        last, anchor, fills, total = (np.array(c) for c in zip(*ends, strict=True))
        keys, own = gs[last], anchor >= 0  # a group left on the held position keeps its first fill's time and price
        self.ts[keys[own]], self.price[keys[own]] = t[anchor[own]], p[anchor[own]]
        self.usd[keys], self.n[keys] = total, fills
        out = np.empty(m)
        out[order] = before
        return out
