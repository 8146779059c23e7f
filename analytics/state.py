"""One symbol's liquidation history: bucketed USD and counts per venue and side, at three resolutions."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from analytics.baseline import Baseline
from analytics.derivatives import lag_offsets
from analytics.windows import LEVEL_WIDTHS_NS, NS, BucketRing, level_for, zeros_block

# Row layout of every ring: two symbol-wide rows, then four per venue.
SQ, WHALE = 0, 1  # Σ usd² (for the effective number of liquidations), Σ usd of whale liquidations
GLOBAL_ROWS = 2
VENUE_ROWS = 4  # usd long, usd short, count long, count short
USD_L, USD_S, CNT_L, CNT_S = range(VENUE_ROWS)
GRID_NS = NS  # correlation grid: 1 s buckets ...
GRID_BUCKETS = 60  # ... over the last 60 s
# Fills of one position: a venue liquidates a large position in several fills at the same (bankruptcy)
# price within about a second. They are one liquidation for n_eff and the whale share.
FILL_GAP_NS = NS
FILL_PRICE_TOL = 2e-4  # relative: fills of one position share its bankruptcy price (venues round it)
FILL_MAX = 3  # a position goes in a few fills; a longer same-price chain is a crowd in a fast second
RECENT_KEEP_NS = 2 * NS  # how long an event is remembered for duplicate matching (re-deliveries come within ~1 s)
RECENT_MAX = 256  # prune the memory when it holds more than this many events (or twice what the last prune kept)


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
    generic: tuple[tuple[int, int, int], ...]  # (window index, level, window ns) computed per call
    scratch: dict[int, np.ndarray]  # ring rows -> reused buffer for the stacked view (see `stack`)

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
                   col_level, tuple(generic), {})

    def stack(self, parts: list[np.ndarray], rows: int) -> np.ndarray:
        """Concatenate view pieces into a buffer reused by every symbol: a fresh ~50 KB array per
        snapshot costs more in page faults (malloc returns it to the OS on free) than the copy."""
        buf = self.scratch.get(rows)
        if buf is None:
            buf = self.scratch[rows] = np.empty((self.whole.shape[1], rows))
        return np.concatenate(parts, axis=0, out=buf)


TOTALS = GLOBAL_ROWS + VENUE_ROWS  # Measures.totals rows: SQ, WHALE, then USD_L .. CNT_S (all venues)


@lru_cache(maxsize=64)
def _row_sums(venues: int) -> np.ndarray:
    """(rows, TOTALS + 2·venues) 0/1 matrix: ring rows -> [Σ usd², whale usd, usd long, usd short,
    count long, count short summed over venues, then USD of each venue, then events of each venue]."""
    rows = GLOBAL_ROWS + VENUE_ROWS * venues
    m = np.zeros((rows, TOTALS + 2 * venues))
    m[SQ, SQ] = m[WHALE, WHALE] = 1.0
    for v in range(venues):
        row = GLOBAL_ROWS + VENUE_ROWS * v
        for r in range(VENUE_ROWS):
            m[row + r, GLOBAL_ROWS + r] = 1.0
        m[row + USD_L, TOTALS + v] = m[row + USD_S, TOTALS + v] = 1.0
        m[row + CNT_L, TOTALS + venues + v] = m[row + CNT_S, TOTALS + venues + v] = 1.0
    return m


@dataclass(slots=True)
class Measures:
    """Window sums at one `now`.

    totals[i, k, r]: window i of the layout, k = 0, 1, 2 the sums over (t-W,t], (t-2W,t-W], (t-3W,t-2W],
    and r < TOTALS: SQ, WHALE, then GLOBAL_ROWS + USD_L .. CNT_S summed over venues."""

    totals: np.ndarray  # (windows, 3, TOTALS)
    venue_usd: list[float]  # USD of each venue (both sides) over (t-W, t] of the requested window
    venue_events: list[float]  # events of each venue over the same window
    grid_usd: float  # USD of the correlation grid, all venues
    grid: np.ndarray  # (venues, GRID_BUCKETS) USD per 1 s bucket, both sides


class SymbolState:
    """All per-symbol history; `update` is O(levels) scalar writes, `measure` a few numpy ops in all."""

    __slots__ = ("symbol", "layout", "rings", "baseline", "venues", "whale_usd", "first_seen",
                 "last_event_ns", "trigger", "dropped_old", "recent", "recent_cap", "fills", "duplicates")

    def __init__(self, symbol: str, layout: Layout, baseline_s: float, whale_usd: float,
                 first_seen: int) -> None:
        self.symbol = symbol
        self.layout = layout
        self.rings = tuple(BucketRing(LEVEL_WIDTHS_NS[lvl], n, GLOBAL_ROWS)
                           for lvl, n in layout.level_sizes.items())
        self.baseline = Baseline(baseline_s)
        self.venues: dict[str, int] = {}
        self.whale_usd = whale_usd
        self.first_seen = first_seen
        self.last_event_ns = first_seen  # newest ts_event seen
        self.trigger = (0, 0)  # (ts_event, ts_recv) of the latest liquidation received
        self.dropped_old = 0
        self.recent: dict[tuple, int] = {}  # exact event key -> ts: a duplicate delivery is counted once
        self.recent_cap = RECENT_MAX
        self.fills: dict[tuple, tuple[int, float, float, int]] = {}  # (venue, side) -> (first ts, price, USD, fills)
        self.duplicates = 0

    def _venue(self, venue: str) -> int:
        idx = self.venues[venue] = len(self.venues)
        for ring in self.rings:
            ring.add_rows(VENUE_ROWS)
        return idx

    def update(self, venue: str, is_long: bool, ts: int, ts_recv: int, usd: float, price: float = 0.0) -> bool:
        """Add one liquidation at `ts` to every level (and the baseline) that still holds it.

        An exact duplicate (same venue, side, time, price and USD: a re-delivered event) is dropped and
        counted; False then. A fill within FILL_GAP_NS of a position's first fill on the same venue and
        side, at its price within FILL_PRICE_TOL, is another piece of it (at most FILL_MAX pieces): Σ usd²
        grows by (P + u)² - P², so n_eff counts the position once.
        """
        key = (venue, is_long, ts, price, usd)
        recent = self.recent
        if key in recent:
            self.duplicates += 1
            return False
        recent[key] = ts
        if len(recent) > self.recent_cap:
            self._prune(ts)
        idx = self.venues.get(venue)
        if idx is None:
            idx = self._venue(venue)
        usd_row = GLOBAL_ROWS + VENUE_ROWS * idx + (USD_L if is_long else USD_S)
        cnt_row = usd_row + (CNT_L - USD_L)
        # Fills of one position (see the docstring); inline: this is the per-event hot path.
        fills, pkey, before = self.fills, (venue, is_long), 0.0
        pos = fills.get(pkey)
        if (pos is not None and pos[3] < FILL_MAX and 0 <= ts - pos[0] <= FILL_GAP_NS
                and abs(price - pos[1]) <= FILL_PRICE_TOL * pos[1]):
            before = pos[2]
            fills[pkey] = (pos[0], pos[1], before + usd, pos[3] + 1)
        elif price > 0.0:
            fills[pkey] = (ts, price, usd, 1)
        total = before + usd
        sq = total * total - before * before
        whale_add = 0.0
        if total >= self.whale_usd:
            whale_add = usd if before >= self.whale_usd else total  # a position that became a whale counts whole
        whale = whale_add > 0.0
        kept = False
        for ring in self.rings:  # BucketRing.slot, inlined: this is the per-event hot path
            k = -(-ts // ring.width)
            if k > ring.head:
                ring.advance(k)
            elif k <= ring.head - ring.n:
                continue
            kept = True
            base = (k % ring.n) * ring.rows
            flat = ring.flat
            flat[base + usd_row] += usd
            flat[base + cnt_row] += 1.0
            flat[base + SQ] += sq
            if whale:
                flat[base + WHALE] += whale_add
        if not self.baseline.add(ts, usd) and not kept:
            self.dropped_old += 1
        if ts > self.last_event_ns:
            self.last_event_ns = ts
        elif ts < self.first_seen:
            self.first_seen = ts  # history reaching further back counts as observed for the baseline
        self.trigger = (ts, ts_recv)
        return True

    def _prune(self, now: int) -> None:
        """Forget events older than RECENT_KEEP_NS before the newest one (positions: one per venue and side,
        replaced as they come, need no pruning)."""
        cut = max(now, self.last_event_ns) - RECENT_KEEP_NS
        self.recent = {k: t for k, t in self.recent.items() if t >= cut}
        self.recent_cap = max(RECENT_MAX, 2 * len(self.recent))  # amortized O(1) per event at any rate

    def measure(self, now: int, venue_window: int) -> Measures:
        """Every window sum of the layout (see `Layout`) from one stacked view and two matmuls, the
        per-venue sums of window `venue_window`, and the per-venue 1 s grid for correlation.

        Every combined bucket weight is >= 0 (1, f, 1 - f, or a clamp difference), so the sums
        are >= 0 without clamping; rows are then summed over venues (`_row_sums`).
        """
        lay = self.layout
        parts: list[np.ndarray] = []
        frac = []
        for ring in self.rings:
            parts += ring.pieces(now)
            frac.append((now - (-(-now // ring.width) - 1) * ring.width) / ring.width)
        parts.append(zeros_block(self.rings[0].rows, 1))
        nv = len(self.venues)
        view = lay.stack(parts, self.rings[0].rows)  # (view rows + 1, rows): every level's view
        out = lay.whole @ view
        edge = view.take(lay.plus, axis=0)
        edge -= view.take(lay.minus, axis=0)
        edge *= np.array(frac)[lay.col_level, None]
        out[:-1] += edge
        for i, lvl, w in lay.generic:
            out[3 * i:3 * i + 3] = self._generic(view, now, lvl, w)
        rows_to = _row_sums(nv)
        out = out @ rows_to  # (3·windows + 1, TOTALS + 2·venues), rows summed as _row_sums says
        sums = out[:-1].reshape(len(lay.windows_ns), 3, -1)
        ref = sums[venue_window, 0, TOTALS:].tolist()
        grid = (view[lay.grid] @ rows_to[:, TOTALS:TOTALS + nv]).T
        return Measures(sums[:, :, :TOTALS], ref[:nv], ref[nv:],
                        float(out[-1, GLOBAL_ROWS + USD_L] + out[-1, GLOBAL_ROWS + USD_S]), grid)

    def _generic(self, view: np.ndarray, now: int, lvl: int, w: int) -> np.ndarray:
        """(3, columns of `view`) sums S_0..S_2 of a window not a whole number of buckets, by the clamp formula
        C(x) = Σ_j b_j · clamp((x - left_j) / width_j, 0, 1) of `BucketRing`."""
        width, n, start = LEVEL_WIDTHS_NS[lvl], self.layout.level_sizes[lvl], self.layout.starts[lvl]
        h = -(-now // width)
        left = (h - n + np.arange(n, dtype=np.int64)) * width  # bucket id h-n+1+j spans (left, left+width]
        widths = np.full(n, float(width))
        widths[-1] = now - (h - 1) * width  # the newest bucket ends at now
        points = now - np.array(lag_offsets(w), dtype=np.int64)
        u = np.clip((points[:, None] - left[None, :]) / widths, 0.0, 1.0)
        return (u[:3] - u[1:]) @ view[start:start + n]

    def nbytes(self) -> int:
        """Bytes held in numpy buffers (rings and baseline)."""
        return sum(r.data.nbytes for r in self.rings) + self.baseline.ring.data.nbytes
