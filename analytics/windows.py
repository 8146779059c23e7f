"""Time-bucketed sums in preallocated numpy rings, and exact sliding-window sums read from them."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NS = 1_000_000_000
_UNITS = {"ms": 1_000_000, "s": NS, "m": 60 * NS, "h": 3600 * NS}

# Bucket widths of the resolution levels. A window uses the coarsest level whose bucket is at most a
# tenth of it (so partial-bucket interpolation error stays below ~10% of one bucket's share), or the
# finest: 100ms..2s -> 100 ms buckets, 10s..60s -> 1 s buckets, 300s -> 10 s buckets. Keeping 3W of
# history per window at its own resolution is what bounds memory (~40 KB/symbol with 4 venues)
# where a single 100 ms ring over 900 s would need ~1 MB.
LEVEL_WIDTHS_NS = (100_000_000, NS, 10 * NS)
FINE_PER_WINDOW = 10


def parse_window(name: str) -> int:
    """'100ms', '2s', '5m', '1h' -> nanoseconds."""
    for unit in ("ms", "s", "m", "h"):
        if name.endswith(unit) and name[: -len(unit)].replace(".", "", 1).isdigit():
            ns = int(round(float(name[: -len(unit)]) * _UNITS[unit]))
            if ns > 0:
                return ns
    raise ValueError(f"bad window name {name!r}; expected e.g. '100ms', '10s', '5m'")


def level_for(window_ns: int) -> int:
    """Index in LEVEL_WIDTHS_NS of the level that serves a window (see LEVEL_WIDTHS_NS)."""
    best = 0
    for i, width in enumerate(LEVEL_WIDTHS_NS):
        if width * FINE_PER_WINDOW <= window_ns:
            best = i
    return best


class BucketRing:
    """`rows` parallel series of sums in fixed-width time buckets, the last `n` buckets kept.

    Bucket id k = ceil(ts / width) holds events with ts in ((k-1)·width, k·width], so a window
    (t-W, t] ending on the grid is a whole number of buckets. Memory is rows·n·8 bytes, fixed.
    Writes go through a flat memoryview (`flat[row * n + col] += x`), ~4x cheaper than numpy
    scalar indexing on the hot path.
    """

    __slots__ = ("width", "n", "rows", "data", "flat", "head")

    def __init__(self, width_ns: int, n: int, rows: int) -> None:
        self.width = int(width_ns)
        self.n = int(n)
        self.rows = rows
        self.data = np.zeros((rows, self.n))
        self.flat = memoryview(self.data.reshape(-1))
        self.head = -(1 << 62)  # id of the newest bucket; nothing yet

    def add_rows(self, extra: int) -> None:
        """Grow by `extra` zeroed rows (a new venue); rare, so a copy is fine."""
        self.data = np.vstack([self.data, np.zeros((extra, self.n))])
        self.rows += extra
        self.flat = memoryview(self.data.reshape(-1))

    def slot(self, ts: int) -> int:
        """Column for an event at `ts` (advancing the ring if it is newer), or -1 if it is too old."""
        k = -(-ts // self.width)
        head = self.head
        if k > head:
            gap = k - head
            if gap >= self.n:
                self.data[:] = 0.0
            else:  # zero the buckets skipped over: at most two slices of the ring
                a, b = (head + 1) % self.n, k % self.n
                if a <= b:
                    self.data[:, a:b + 1] = 0.0
                else:
                    self.data[:, a:] = 0.0
                    self.data[:, :b + 1] = 0.0
            self.head = k
        elif k <= head - self.n:
            return -1
        return k % self.n

    def view(self, now: int) -> tuple[np.ndarray, int]:
        """(rows, n) copy of the buckets ending at the bucket holding `now`, oldest first, and its id.

        Buckets not in the ring (too old, or newer than `now`'s bucket) read as zero, so the
        result depends only on the events added and on `now`, never on when it is asked.
        """
        h = -(-now // self.width)
        n, head = self.n, self.head
        shift = h - head
        if shift >= n:
            return np.zeros((self.rows, n)), h
        if shift >= 0:  # the usual case: two slices, no fancy indexing
            c = head % n + 1
            out = np.concatenate((self.data[:, c:], self.data[:, :c]), axis=1)
            if shift:
                out[:, : n - shift] = out[:, shift:]
                out[:, n - shift:] = 0.0
            return out, h
        ids = np.arange(h - n + 1, h + 1)
        valid = (ids > head - n) & (ids <= head)
        return self.data[:, ids % n] * valid, h

    def cumulative(self, now: int, points: Sequence[int], view: tuple[np.ndarray, int] | None = None,
                   lags: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """C(x): the sum of everything in (-inf, x] for each row at each time in `points` (ns).

        C is piecewise linear: exact at bucket boundaries, linear inside a bucket (events assumed
        uniform within one bucket). The newest bucket is taken to end at `now` rather than at its
        grid edge, since nothing after `now` has happened yet; so for a constant rate C(now) - C(now-W)
        is exact at any `now`, on or off the grid. A window sum over (a, b] is C(b) - C(a).
        `view` is `self.view(now)` when the caller has it already; `lags` = (k, k != 0) when every
        point is now - k·width with k < n (see `lag_steps`), a faster path giving the same values.
        Returns (rows, len(points)).
        """
        buckets, h = view if view is not None else self.view(now)
        w, n = self.width, self.n
        if lags is not None:  # points = now - k·w: one index shift and one shared fraction for all
            steps, not_now = lags
            idx = (n - 1) - steps
            keep = not_now * (1.0 - (now - (h - 1) * w) / w)
            return np.cumsum(buckets, axis=1)[:, idx] - keep * buckets[:, idx]
        b0 = (h - n) * w  # left edge of the oldest bucket in the view
        last_w = now - (h - 1) * w  # width of the newest (partial) bucket, in (0, w]
        cols, keep = [], []
        for x in points:  # a dozen points: plain ints beat a dozen tiny numpy ops
            d = x - b0
            j = min(max((d - 1) // w, 0), n - 1)
            frac = (d - j * w) / (last_w if j == n - 1 else w)
            cols.append(j)
            keep.append(1.0 - min(max(frac, 0.0), 1.0))
        idx = np.array(cols)
        at = buckets[:, idx]
        return np.cumsum(buckets, axis=1)[:, idx] - np.array(keep) * at


def lag_steps(offsets: Sequence[int], width: int, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The `lags` argument of `BucketRing.cumulative` for points now - offset, if all fit it."""
    if any(o % width or o // width >= n for o in offsets):
        return None
    steps = np.array([o // width for o in offsets], dtype=np.int64)
    return steps, (steps != 0).astype(float)
