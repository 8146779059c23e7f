"""One symbol's liquidation history: bucketed USD and counts per venue and side, at three resolutions."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytics.baseline import Baseline
from analytics.derivatives import lag_offsets, window_sums
from analytics.windows import LEVEL_WIDTHS_NS, NS, BucketRing, lag_steps, level_for

# Row layout of every ring: two symbol-wide rows, then four per venue.
SQ, WHALE = 0, 1  # Σ usd² (for the effective number of liquidations), Σ usd of whale liquidations
GLOBAL_ROWS = 2
VENUE_ROWS = 4  # usd long, usd short, count long, count short
USD_L, USD_S, CNT_L, CNT_S = range(VENUE_ROWS)
GRID_NS = NS  # correlation grid: 1 s buckets ...
GRID_BUCKETS = 60  # ... over the last 60 s


@dataclass(frozen=True, slots=True)
class Layout:
    """Which level serves which window, and how many buckets each level keeps (3W of history)."""

    windows_ns: tuple[int, ...]
    level_of: dict[int, int]
    level_sizes: dict[int, int]
    level_windows: dict[int, tuple[int, ...]]
    level_offsets: dict[int, tuple[int, ...]]  # ns before `now` at which each level reads C
    order: tuple[int, ...]  # windows in the order `measure` returns them (by level)
    grid_level: int
    level_lags: dict[int, tuple[np.ndarray, np.ndarray] | None]

    @classmethod
    def build(cls, windows_ns: tuple[int, ...]) -> Layout:
        level_of = {w: level_for(w) for w in windows_ns}
        sizes: dict[int, int] = {}
        for w, lvl in level_of.items():
            # 3W of complete buckets for t-3W, plus the partial newest bucket, plus one of slack.
            need = math.ceil(3 * w / LEVEL_WIDTHS_NS[lvl]) + 2
            sizes[lvl] = max(sizes.get(lvl, 0), need)
        grid_lvl = LEVEL_WIDTHS_NS.index(GRID_NS)
        sizes[grid_lvl] = max(sizes.get(grid_lvl, 0), GRID_BUCKETS + 1)
        windows = tuple(sorted(set(windows_ns)))
        level_windows = {lvl: tuple(w for w in windows if level_of[w] == lvl) for lvl in sizes}
        offsets = {lvl: tuple(o for w in ws for o in lag_offsets(w)) for lvl, ws in level_windows.items()}
        sizes = dict(sorted(sizes.items()))
        order = tuple(w for lvl in sizes for w in level_windows[lvl])
        lags = {lvl: lag_steps(offsets[lvl], LEVEL_WIDTHS_NS[lvl], n) for lvl, n in sizes.items()}
        return cls(windows, level_of, sizes, level_windows, offsets, order, grid_lvl, lags)


@dataclass(slots=True)
class Measures:
    """Window sums at one `now`: sums[:, i] is (rows, 3) = the sums over (t-W,t], (t-2W,t-W],
    (t-3W,t-2W] for W = layout.order[i]."""

    sums: np.ndarray
    grid: np.ndarray  # (venues, GRID_BUCKETS) USD per 1 s bucket, both sides


class SymbolState:
    """All per-symbol history; `update` is O(levels) scalar writes, `measure` a few numpy ops/level."""

    __slots__ = ("symbol", "layout", "rings", "baseline", "venues", "whale_usd", "first_seen",
                 "last_event_ns", "trigger", "dropped_old")

    def __init__(self, symbol: str, layout: Layout, baseline_s: float, whale_usd: float,
                 first_seen: int) -> None:
        self.symbol = symbol
        self.layout = layout
        self.rings = {lvl: BucketRing(LEVEL_WIDTHS_NS[lvl], n, GLOBAL_ROWS)
                      for lvl, n in layout.level_sizes.items()}
        self.baseline = Baseline(baseline_s)
        self.venues: dict[str, int] = {}
        self.whale_usd = whale_usd
        self.first_seen = first_seen
        self.last_event_ns = first_seen  # newest ts_event seen
        self.trigger = (0, 0)  # (ts_event, ts_recv) of the latest liquidation received
        self.dropped_old = 0

    def _venue(self, venue: str) -> int:
        idx = self.venues.get(venue)
        if idx is None:
            idx = self.venues[venue] = len(self.venues)
            for ring in self.rings.values():
                ring.add_rows(VENUE_ROWS)
        return idx

    def update(self, venue: str, is_long: bool, ts: int, ts_recv: int, usd: float) -> None:
        """Add one liquidation at `ts` to every level (and the baseline) that still holds it."""
        usd_row = GLOBAL_ROWS + VENUE_ROWS * self._venue(venue) + (USD_L if is_long else USD_S)
        cnt_row = usd_row + (CNT_L - USD_L)
        whale = usd >= self.whale_usd
        sq = usd * usd
        kept = False
        for ring in self.rings.values():
            col = ring.slot(ts)
            if col < 0:
                continue
            kept = True
            n, flat = ring.n, ring.flat
            flat[usd_row * n + col] += usd
            flat[cnt_row * n + col] += 1.0
            flat[SQ * n + col] += sq
            if whale:
                flat[WHALE * n + col] += usd
        if not self.baseline.add(ts, usd) and not kept:
            self.dropped_old += 1
        if ts > self.last_event_ns:
            self.last_event_ns = ts
        elif ts < self.first_seen:
            self.first_seen = ts  # history reaching further back counts as observed for the baseline
        self.trigger = (ts, ts_recv)

    def measure(self, now: int) -> Measures:
        """Window sums for every window of the layout, and the per-venue 1 s grid for correlation."""
        parts = []
        grid_view = None
        for lvl, ring in self.rings.items():
            view = ring.view(now)
            if lvl == self.layout.grid_level:
                grid_view = view[0]
            offsets = self.layout.level_offsets[lvl]
            if offsets:
                cum = ring.cumulative(now, [now - o for o in offsets], view, self.layout.level_lags[lvl])
                parts.append(window_sums(cum.reshape(ring.rows, -1, 4)))
        assert grid_view is not None
        per_venue = grid_view[GLOBAL_ROWS:].reshape(len(self.venues), VENUE_ROWS, -1)
        grid = per_venue[:, USD_L, -GRID_BUCKETS:] + per_venue[:, USD_S, -GRID_BUCKETS:]
        return Measures(np.concatenate(parts, axis=1), grid)

    def nbytes(self) -> int:
        """Bytes held in numpy buffers (rings and baseline)."""
        return sum(r.data.nbytes for r in self.rings.values()) + self.baseline.ring.data.nbytes
