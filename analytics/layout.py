"""Where every window sum comes from: which ring level serves each window, how much history each keeps, and the
fixed weights that turn the levels' stacked views into all window sums at once (`state.SymbolState.measure`)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytics import baseline as base
from analytics.book import Book
from analytics.derivatives import lag_offsets
from analytics.windows import LEVEL_WIDTHS_NS, NS, level_for

GRID_NS = NS  # correlation grid: 1 s buckets ...
GRID_BUCKETS = 60  # ... over the last 60 s


@dataclass(frozen=True, slots=True)
class Layout:
    """Which level serves which window, how many buckets each level keeps (3W of history), and the
    fixed weights that turn the levels' views, stacked, into every window sum at once.

    `Measures` column 3·i + k is S_k of window i (in the order given to `build`), the USD or count in
    (t-(k+1)W, t-kW], = C(t-kW) - C(t-(k+1)W) with C the piecewise-linear cumulative of
    `BucketRing`. When W is a whole number q of its level's buckets, the points t-mW fall in view
    buckets j_m = n-1-m·q, each read with share φ_m: 1 for m = 0 (the newest bucket ends at t),
    f = (t - (h-1)·width)/width for m >= 1 (t's offset in its bucket, the same for every m), so

        S_k = Σ b_j over j_{k+1} <= j < j_k, + b_{j_0} if k = 0     (`whole` @ view)
              + f · (b_{j_k} [k >= 1] - b_{j_{k+1}})                 (`plus`, `minus` rows)

    (`plus` of k = 0 reads the view's last row, one row of zeros appended for that.)

    A window that is not a whole number of buckets (e.g. 250ms on 100 ms buckets) gets zero fixed
    weights and is computed per call from the clamp formula (`generic`). The extra last column is
    the correlation grid: the last GRID_BUCKETS 1 s buckets.
    """

    windows_ns: tuple[int, ...]
    level_sizes: dict[int, int]  # level -> buckets kept, in level order (= block order of the view)
    starts: dict[int, int]  # level -> first view row of its block
    grid: slice  # view rows of the correlation grid
    whole: np.ndarray  # (3·windows + 1, view rows + 1) fixed weights
    plus: np.ndarray  # (3·windows,) view row read with +f
    minus: np.ndarray  # (3·windows,) view row read with -f
    col_level: np.ndarray  # (3·windows,) position (in level order) of each column's level, for f
    col_levels: tuple[int, ...]  # the same as Python ints (one symbol's f per column without numpy indexing)
    generic: tuple[tuple[int, int, int], ...]  # (window index, level, window ns) computed per call
    scratch: dict[int, tuple[np.ndarray, np.ndarray]]  # ring rows -> reused buffer for the stacked view, its rows
    # but the last (see `stack`)
    grid_level: int  # position (in level order) of the 1 s level: per-venue rows live there only
    venue_cache: dict[int, tuple[np.ndarray, int]]  # window index -> `venue_weights` of its k = 0 column

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
        sizes = dict(sorted(sizes.items()))
        starts, total = {}, 0
        for lvl, n in sizes.items():
            starts[lvl], total = total, total + n
        end = starts[grid_lvl] + sizes[grid_lvl]
        cols = 3 * len(windows_ns)
        whole = np.zeros((cols + 1, total + 1))  # + the zero row
        whole[cols, end - GRID_BUCKETS:end] = 1.0
        plus, minus = np.zeros(cols, dtype=np.intp), np.zeros(cols, dtype=np.intp)
        generic = []
        for i, w in enumerate(windows_ns):
            lvl = level_of[w]
            q, rem = divmod(w, LEVEL_WIDTHS_NS[lvl])
            if rem:
                generic.append((i, lvl, w))
                continue
            g = [starts[lvl] + sizes[lvl] - 1 - o // LEVEL_WIDTHS_NS[lvl] for o in lag_offsets(w)]
            for k in range(3):
                c = 3 * i + k
                whole[c, g[k + 1]:g[k] + (1 if k == 0 else 0)] = 1.0
                plus[c], minus[c] = (g[k] if k else total), g[k + 1]  # k = 0: no +f term
        pos = {lvl: p for p, lvl in enumerate(sizes)}
        col_level = np.array([pos[level_of[w]] for w in windows_ns for _ in range(3)], dtype=np.intp)
        return cls(windows_ns, sizes, starts, slice(end - GRID_BUCKETS, end), whole, plus, minus,
                   col_level, tuple(col_level.tolist()), tuple(generic), {}, pos[grid_lvl], {})

    def book(self, baseline_s: float) -> Book:
        """A Book with this layout's levels, then the baseline's."""
        widths = tuple(LEVEL_WIDTHS_NS[lvl] for lvl in self.level_sizes) + (base.BUCKET_NS,)
        return Book(widths, tuple(self.level_sizes.values()) + (base.size(baseline_s),), self.grid_level)

    def venue_weights(self, col: int) -> tuple[np.ndarray, int]:
        """Window column `col` (a whole-bucket window on the 1 s level, k = 0) as weights on that level's
        rows and the row read with -f: the per-venue sums take the same formula as the totals."""
        lvl = list(self.level_sizes)[self.grid_level]
        start, n = self.starts[lvl], self.level_sizes[lvl]
        w = self.whole[col, start:start + n]
        if w.sum() == 0.0 or self.plus[col] != self.whole.shape[1] - 1 or not start <= self.minus[col] < start + n:
            raise ValueError("the venue window must be a whole number of 1 s buckets")
        return w, int(self.minus[col]) - start

    def stack(self, parts: list[np.ndarray], rows: int) -> np.ndarray:
        """Concatenate view pieces into a buffer reused by every symbol, whose last row stays zero (the +f
        term of k = 0): a fresh ~50 KB array per snapshot costs more in page faults (malloc returns it to the
        OS on free) than the copy. Returns the whole buffer (view rows + 1, rows)."""
        kept = self.scratch.get(rows)
        if kept is None:
            buf = np.zeros((self.whole.shape[1], rows))
            kept = self.scratch[rows] = (buf, buf[:-1])
        np.concatenate(parts, axis=0, out=kept[1])
        return kept[0]
