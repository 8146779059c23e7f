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
        """`one` for every event of a batch (arrival order). Events alone in their group in the batch are
        decided together; a group with several events in the batch (a chain) goes event by event."""
        before = np.zeros(len(g))
        order = np.argsort(g, kind="stable")
        same = g[order[1:]] == g[order[:-1]]
        single = np.ones(len(g), dtype=bool)
        if same.any():
            chained = np.zeros(len(g), dtype=bool)
            chained[1:] |= same
            chained[:-1] |= same
            single[order[chained]] = False
            for i in np.flatnonzero(~single).tolist():
                before[i] = self.one(int(g[i]), int(ts[i]), float(price[i]), float(usd[i]))
        gi = g[single] if not single.all() else g
        t, p, u = (ts, price, usd) if gi is g else (ts[single], price[single], usd[single])
        pn, pt, pp, pu = self.n[gi], self.ts[gi], self.price[gi], self.usd[gi]
        dt = t - pt
        match = (pn >= 1) & (pn < FILL_MAX) & (dt >= 0) & (dt <= FILL_GAP_NS) & (np.abs(p - pp) <= FILL_PRICE_TOL * pp)
        start = ~match & (p > 0.0)
        before[single] = np.where(match, pu, 0.0)
        self.usd[gi] = np.where(match, pu + u, np.where(start, u, pu))
        self.n[gi] = np.where(match, pn + 1, np.where(start, 1, pn))
        self.ts[gi] = np.where(start, t, pt)
        self.price[gi] = np.where(start, p, pp)
        return before
