"""Time-bucketed sums in preallocated numpy rings, and exact sliding-window sums read from them."""
from __future__ import annotations

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


def zeros_block(rows: int, n: int) -> np.ndarray:
    """A read-only (n, rows) block of zeros, shared by all rings (view padding; never written)."""
    buf = _ZEROS.get(rows)
    if buf is None or buf.shape[0] < n:
        buf = _ZEROS[rows] = np.zeros((max(n, 256), rows))
        buf.flags.writeable = False
    return buf[:n]


def _zero_run(size: int) -> memoryview:
    """`size` zero floats, for clearing a run of buckets with one memoryview write."""
    global _ZERO_RUN
    if len(_ZERO_RUN) < size:
        _ZERO_RUN = memoryview(np.zeros(max(size, 2 * len(_ZERO_RUN))))
    return _ZERO_RUN[:size]


_ZEROS: dict[int, np.ndarray] = {}
_ZERO_RUN = memoryview(np.zeros(4096))


class BucketRing:
    """`rows` parallel series of sums in fixed-width time buckets, the last `n` buckets kept.

    Bucket id k = ceil(ts / width) holds events with ts in ((k-1)·width, k·width], so a window
    (t-W, t] ending on the grid is a whole number of buckets. Memory is rows·n·8 bytes, fixed.
    Stored bucket-major, `data[col, row]`: one bucket's rows are contiguous, so zeroing the buckets
    skipped over is one memoryview slice write, and writes go through the flat memoryview
    (`flat[col * rows + row] += x`), ~4x cheaper than numpy scalar indexing on the hot path.

    Read as a cumulative function: C(x), the sum of everything in (-inf, x], is piecewise linear,
    exact at bucket edges and linear inside a bucket (events assumed uniform within one bucket):

        C(x) = Σ_k b_k · clamp((x - (k-1)·width) / width_k, 0, 1)     over the buckets k read

    where width_k = width, except for the newest bucket read at `now`, taken to end at `now`
    (width_k = now - (h-1)·width): nothing after `now` has happened yet, so for a constant rate
    C(now) - C(now - W) is exact at any `now`, on or off the grid. A window sum over (a, b] is
    C(b) - C(a); `span_sum` evaluates it in plain Python, `state.Layout` as fixed weights.
    """

    __slots__ = ("width", "n", "rows", "data", "flat", "head")

    def __init__(self, width_ns: int, n: int, rows: int) -> None:
        self.width = int(width_ns)
        self.n = int(n)
        self.rows = rows
        self.data = np.zeros((self.n, rows))
        self.flat = memoryview(self.data.reshape(-1))
        self.head = -(1 << 62)  # id of the newest bucket; nothing yet

    def add_rows(self, extra: int) -> None:
        """Grow by `extra` zeroed rows (a new venue); rare, so a copy is fine."""
        self.data = np.hstack([self.data, np.zeros((self.n, extra))])
        self.rows += extra
        self.flat = memoryview(self.data.reshape(-1))

    def advance(self, k: int) -> None:
        """Make bucket id k (> head) the newest, zeroing the buckets skipped over (ids head+1..k)."""
        n, rows, head = self.n, self.rows, self.head
        self.head = k
        if k - head >= n:
            self.flat[:] = _zero_run(n * rows)
            return
        a, b = (head + 1) % n, k % n
        if a <= b:  # at most two contiguous runs of buckets
            self.flat[a * rows:(b + 1) * rows] = _zero_run((b + 1 - a) * rows)
        else:
            self.flat[a * rows:] = _zero_run((n - a) * rows)
            self.flat[:(b + 1) * rows] = _zero_run((b + 1) * rows)

    def slot(self, ts: int) -> int:
        """Column for an event at `ts` (advancing the ring if it is newer), or -1 if it is too old."""
        k = -(-ts // self.width)
        if k > self.head:
            self.advance(k)
        elif k <= self.head - self.n:
            return -1
        return k % self.n

    def pieces(self, now: int) -> list[np.ndarray]:
        """See `pieces`."""
        return pieces(self.data, self.head, self.width, now)

    def view(self, now: int) -> tuple[np.ndarray, int]:
        """(rows, n) copy of the buckets ending at the bucket holding `now`, oldest first, and its id."""
        return np.concatenate(self.pieces(now), axis=0).T.copy(), -(-now // self.width)

    def span_sum(self, a: int, b: int, now: int, row: int = 0) -> float:
        """See `span_sum`."""
        return span_sum(self.flat, self.rows, self.head, self.width, a, b, now, row)


def pieces(data: np.ndarray, head: int, width: int, now: int) -> list[np.ndarray]:
    """Blocks whose concatenation (axis 0) is the (n, rows) view at `now` of a ring `data` (n, rows)
    whose newest bucket id is `head`, oldest bucket first.

    The view holds bucket ids h-n+1 .. h, h the bucket of `now`. Buckets not in the ring (too
    old, or newer than `now`'s bucket) read as zero, so the result depends only on the events
    added and on `now`, never on when it is asked. No copy: slices of the ring and of zeros.
    """
    n, rows = data.shape
    shift = -(-now // width) - head
    if shift >= n or shift <= -n:
        return [zeros_block(rows, n)]
    c = head % n + 1  # ring column of the oldest bucket held (id head-n+1)
    if shift >= 0:  # ids head-n+1+shift .. head, then `shift` empty buckets
        start = c + shift
        held = [data[start:], data[:c]] if start < n else [data[start - n:c]]
        return held + [zeros_block(rows, shift)] if shift else held
    # now before the newest bucket: ids h-n+1 .. head-n are gone, ids head-n+1 .. h are held
    stop = c + n + shift  # ring column (unwrapped) just past id h
    held = [data[c:stop]] if stop <= n else [data[c:], data[:stop - n]]
    return [zeros_block(rows, -shift)] + held


def span_sum(flat: memoryview, rows: int, head: int, w: int, a: int, b: int, now: int, row: int = 0,
             count: int = 1) -> float:
    """C(b) - C(a) at `now` (a <= b) of rows row .. row+count-1 summed, of a ring held in `flat` (n buckets
    of `rows`), in plain Python floats: for a few-bucket read such as the baseline, cheaper than any
    numpy call. Only the edge buckets are partial."""
    n = len(flat) // rows
    h = -(-now // w)
    lo, hi = max(h, head) - n + 1, min(h, head)  # ids both in the view at `now` and still held
    first, last = max(-(-a // w), lo), min(-(-b // w), hi)
    if first > last:
        return 0.0

    # bucket k's USD x (its share of (a, b]), share = clamp((x - left_k) / width_k, 0, 1): for the one or two edge
    # buckets, inline (this runs per snapshot: no closures, no min/max calls; `0.0 + x + y` is what sum() adds,
    # in its order; -0.0 + y is y exactly, so the first term is the total as it was)
    hw = now - (h - 1) * w  # the newest bucket's width: it ends at now
    total = -0.0
    for k in ((first,) if last == first else (first, last)):
        width = hw if k == h else w
        left = (k - 1) * w
        at = (k % n) * rows + row
        val = flat[at] if count == 1 else 0.0 + flat[at] + flat[at + 1] if count == 2 else sum(flat[at:at + count])
        hi_s, lo_s = (b - left) / width, (a - left) / width
        hi_s = hi_s if 0.0 <= hi_s <= 1.0 else 0.0 if hi_s < 0.0 else 1.0
        lo_s = lo_s if 0.0 <= lo_s <= 1.0 else 0.0 if lo_s < 0.0 else 1.0
        total += val * (hi_s - lo_s)
    if last - first > 1:  # whole buckets: ids first+1 .. last-1, at most two runs of the ring
        i, j = (first + 1) % n, (last - 1) % n
        for r in range(row, row + count):
            if i <= j:
                total += sum(flat[i * rows + r:(j + 1) * rows:rows])
            else:
                total += sum(flat[i * rows + r::rows]) + sum(flat[r:(j + 1) * rows:rows])
    return total
