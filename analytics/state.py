"""One symbol's liquidation history, read from its slot of the shared `book.Book`: every window sum at once."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics import baseline as base
from analytics.book import CNT_L, CNT_S, SQ, TOTALS, USD_L, USD_S, WHALE, Book
from analytics.correlation import correlation_many
from analytics.derivatives import lag_offsets
from analytics.layout import GRID_BUCKETS, Layout
from analytics.windows import LEVEL_WIDTHS_NS, pieces

__all__ = ["CNT_L", "CNT_S", "GLOBAL_ROWS", "SQ", "TOTALS", "USD_L", "USD_S", "WHALE", "Layout", "Measures",
           "SymbolState"]

GLOBAL_ROWS = 0  # Measures.totals columns are the book's TOTALS rows: SQ, WHALE, USD_L, USD_S, CNT_L, CNT_S
_NO_ROWS = np.zeros((0, TOTALS))


@dataclass(slots=True)
class Measures:
    """Window sums at one `now`.

    totals[i, k, r]: window i of the layout, k = 0, 1, 2 the sums over (t-W,t], (t-2W,t-W], (t-3W,t-2W],
    r the book's TOTALS rows (SQ, WHALE, USD_L, USD_S, CNT_L, CNT_S)."""

    totals: np.ndarray  # (windows, 3, TOTALS)
    venue_usd: list[float]  # USD of each venue of the book (both sides) over (t-W, t] of the venue window
    venue_events: list[float]  # events of each venue over the same window
    grid_usd: float  # USD of the correlation grid, all venues
    grid: np.ndarray  # (book venues, GRID_BUCKETS) USD per 1 s bucket, both sides
    baseline: float | None = None  # the baseline's USD/s when read with the sums (`measure_many`)
    rho: tuple[float, int] | None = None  # venue_correlation of the symbol's venues, when read with them
    # newest ts_event and the trigger (ts_event, ts_recv) of the latest liquidation, when read with the sums
    # (`measure_many`: one read of the book's arrays for all symbols instead of numpy scalars per symbol)
    last_event_ns: int | None = None
    trigger: tuple[int, int] | None = None


class SymbolState:
    """A symbol's handle: its slot in the book and the venues it has seen (name -> book venue index)."""

    __slots__ = ("symbol", "layout", "book", "slot", "venues", "lookback_ns", "_clean_heads")

    def __init__(self, symbol: str, layout: Layout, book: Book, slot: int, lookback_ns: int) -> None:
        self.symbol = symbol
        self.layout = layout
        self.book = book
        self.slot = slot
        self.venues: dict[str, int] = {}
        self.lookback_ns = lookback_ns
        self._clean_heads: tuple[int, ...] = ()  # the slot's ring heads when it last had no dead bucket

    def clean(self) -> tuple[int, ...]:
        """`Book.clean` of the slot, skipped while its ring heads have not moved since the last clean: a bucket
        dies only when its ring's head moves past it (writes land in live buckets), so with the same heads
        there is nothing to zero. The state is this slot's own (a re-allocated slot gets a new SymbolState).
        Returns the heads (newest bucket id of each level)."""
        book, slot = self.book, self.slot
        heads = tuple(book.head[:, slot].tolist())
        if heads != self._clean_heads:
            book.clean(slot)
            self._clean_heads = heads
        return heads

    @property
    def first_seen(self) -> int:
        return int(self.book.first[self.slot])

    @property
    def last_event_ns(self) -> int:
        """Newest ts_event seen."""
        return self.book.lasts[self.slot]  # the book's memoryview: a Python int, no numpy scalar

    @property
    def trigger(self) -> tuple[int, int]:
        """(ts_event, ts_recv) of the latest liquidation received."""
        book = self.book
        return book.trigs[self.slot], book.trigs[book.cap + self.slot]  # trig (2, cap) through its memoryview

    def baseline(self, now: int, clean: bool = True) -> float:
        """Mean USD/s of the baseline (`baseline.usd_per_s`); clean=False right after `measure` (which cleans)."""
        book, slot = self.book, self.slot
        if clean:
            self.clean()
        # the book's scalar view of the level (Python ints through memoryviews: no numpy scalar per read)
        _, n, rows, off, _, heads, _, _ = book.scalar[book.base_level]
        start = off + slot * n * rows
        return base.usd_per_s(book.flat[start:start + n * rows], heads[slot], self.lookback_ns, now,
                              book.firsts[slot])

    def measure(self, now: int, venue_window: int) -> Measures:
        """Every window sum of the layout (see `Layout`) from one stacked view and a matmul, the
        per-venue sums of window `venue_window`, and the per-venue 1 s grid for correlation.

        Every combined bucket weight is >= 0 (1, f, 1 - f, or a clamp difference), so the sums
        are >= 0 without clamping.
        """
        lay, book, slot = self.layout, self.book, self.slot
        heads = self.clean()
        parts: list[np.ndarray] = []
        frac = []
        full = _NO_ROWS  # set at the venue level, which every layout has
        for lvl, width in enumerate(book.widths[:-1]):  # the kinematic levels (the last is the baseline's)
            ps = pieces(book.data[lvl][slot], heads[lvl], width, now)
            if lvl == lay.grid_level:  # its every row (totals, then per venue) copied once: `grid` is a view of it
                full = np.concatenate(ps, axis=0)
                parts.append(full[:, :TOTALS])
            else:
                parts += ps
            frac.append((now - (-(-now // width) - 1) * width) / width)
        view = lay.stack(parts, TOTALS)  # (view rows + 1, TOTALS): every level's view, then a row of zeros
        out = lay.whole @ view
        edge = view.take(lay.plus, axis=0)
        edge -= view.take(lay.minus, axis=0)
        edge *= np.array(frac).take(lay.col_level)[:, None]  # each column's f: ~3x cheaper than a list of them
        out[:-1] += edge
        for i, lvl, w in lay.generic:
            out[3 * i:3 * i + 3] = self._generic(view, now, lvl, w)
        sums = out[:-1].reshape(len(lay.windows_ns), 3, TOTALS)
        # Per venue (rows USD, events of each venue on the 1 s level): the same weights as the totals'
        venues = full[:, TOTALS:]
        w, minus = lay.venue_cache.get(venue_window) or lay.venue_cache.setdefault(
            venue_window, lay.venue_weights(3 * venue_window))
        ref = (w @ venues - frac[lay.grid_level] * venues[minus]).tolist()
        grid = venues[-GRID_BUCKETS:, 0::2].T
        grid_row = out[-1].tolist()  # one conversion, then the same float add as on numpy scalars
        return Measures(sums, ref[0::2], ref[1::2], grid_row[USD_L] + grid_row[USD_S], grid)

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
        return (u[:3] - u[1:]) @ view[..., start:start + n, :]

    def nbytes(self) -> int:
        """Bytes of this symbol's slot in the book's arrays."""
        return self.book.nbytes()


def _frac_rows(lay: Layout, frac: list[float]) -> np.ndarray:
    """(3·windows, TOTALS): each column's level's f in every row, np.array(frac).take(lay.col_level)[:, None]
    repeated across the TOTALS columns: `measure_batch` multiplies (symbols, 3·windows, TOTALS) by it, and a multiply
    whose last two dimensions match costs less than broadcasting a column (the products are the same). Built per
    call: `now` is any nanosecond live, so a cache of it would miss."""
    return np.repeat(np.array(frac).take(lay.col_level)[:, None], TOTALS, axis=1)


def measure_many(states: list[SymbolState], now: int, venue_window: int) -> list[Measures]:
    """`SymbolState.measure` of several symbols of one book at one `now`, their views gathered at once:
    bucket ids h-n+1..h of a level are the same columns for every symbol, only which of them each ring
    still holds (id in (head - n, head]) differs, so each level is one gather and a mask."""
    return measure_batch(states, now, venue_window)[1]


def measure_batch(states: list[SymbolState], now: int, venue_window: int) -> tuple[np.ndarray, list[Measures]]:
    """`measure_many`, and every symbol's totals stacked (symbols, windows, 3, TOTALS): each Measures'
    totals is a view of it, so what reads all symbols' sums at once needs no stack."""
    book, lay = states[0].book, states[0].layout
    slots = np.fromiter((st.slot for st in states), np.intp, len(states))
    book.clean_many(slots)
    count = len(states)
    frac = []
    venues = np.zeros(0)
    # (symbols, view rows + 1, TOTALS): each level's buckets copied in; the last row stays zero (the +f term
    # of k = 0, see `Layout`)
    view = np.empty((count, lay.whole.shape[1], TOTALS))
    view[:, -1] = 0.0
    start = 0
    for lvl, width in enumerate(book.widths[:-1]):
        n = book.sizes[lvl]
        h = -(-now // width)
        ids = h - n + 1 + np.arange(n, dtype=np.int64)
        head = book.head[lvl, slots][:, None]
        # One take of whole buckets (rows contiguous) from the level's (slots·n, rows) array: far cheaper than
        # 2-D fancy indexing. Buckets a ring does not hold (ids past its head, or too old) read as zero:
        # assigning 0.0 equals the multiply by a mask (every sum is finite and >= 0), without a pass over all.
        rows = book.buckets[lvl].take((slots[:, None] * n + ids % n).ravel(), axis=0).reshape(count, n, -1)
        gone = (ids > head) | (ids <= head - n)
        if gone.any():
            rows[gone] = 0.0
        if lvl == lay.grid_level:
            venues = rows[:, :, TOTALS:]
            view[:, start:start + n] = rows[:, :, :TOTALS]
        else:
            view[:, start:start + n] = rows
        start += n
        frac.append((now - (h - 1) * width) / width)
    out = lay.whole @ view
    edge = view[:, lay.plus] - view[:, lay.minus]
    edge *= _frac_rows(lay, frac)  # broadcast over the symbols
    out[:, :-1] += edge
    for i, lvl, w in lay.generic:
        out[:, 3 * i:3 * i + 3] = states[0]._generic(view, now, lvl, w)
    sums = out[:, :-1].reshape(len(states), len(lay.windows_ns), 3, TOTALS)
    w, minus = lay.venue_cache.get(venue_window) or lay.venue_cache.setdefault(
        venue_window, lay.venue_weights(3 * venue_window))
    ref = (w @ venues - frac[lay.grid_level] * venues[:, minus]).tolist()
    grid = venues[:, -GRID_BUCKETS:, 0::2].transpose(0, 2, 1)
    grid_usd = (out[:, -1, USD_L] + out[:, -1, USD_S]).tolist()
    lookback = states[0].lookback_ns
    baselines = base.from_usd_many(_baseline_usd(book, slots, now, lookback), lookback, now, book.first[slots]).tolist()
    own = np.zeros((count, grid.shape[1]), dtype=bool)  # which book venues (grid rows) are each symbol's
    own[np.repeat(np.arange(count), [len(st.venues) for st in states]),
        [i for st in states for i in st.venues.values()]] = True
    rhos = correlations(grid, own)
    lasts, trig = book.last[slots].tolist(), book.trig[:, slots].T.tolist()
    return sums, [Measures(sums[i], r[0::2], r[1::2], grid_usd[i], grid[i], baselines[i], rhos[i], lasts[i],
                           (trig[i][0], trig[i][1])) for i, r in enumerate(ref)]


def _baseline_usd(book: Book, slots: np.ndarray, now: int, lookback_ns: int) -> np.ndarray:
    """USD in the baseline's lookback of every slot: `base.weights` on the held buckets of each ring."""
    lvl = book.base_level
    n = book.sizes[lvl]
    h = -(-now // base.BUCKET_NS)
    ids = h - n + 1 + np.arange(n, dtype=np.int64)
    head = book.head[lvl, slots][:, None]
    rows = book.buckets[lvl].take((slots[:, None] * n + ids % n).ravel(), axis=0).reshape(len(slots), n, -1)
    usd = rows[:, :, USD_L] + rows[:, :, USD_S]
    usd[(ids > head) | (ids <= head - n)] = 0.0  # buckets the ring does not hold (as in `measure_many`)
    return usd @ base.weights(n, lookback_ns, now)


def correlations(grid: np.ndarray, own: np.ndarray) -> list[tuple[float, int] | None]:
    """venue_correlation of each symbol's venues (`own` (symbols, grid rows): which rows are its), with the
    centred products of every symbol's rows in one batched matmul; None for a symbol with fewer than two
    venues (no correlation)."""
    out: list[tuple[float, int] | None] = [None] * len(own)
    many = np.flatnonzero(own.sum(axis=1) >= 2)
    if not len(many):
        return out
    g = grid[many]
    usd = g.sum(axis=2)
    x = g - (usd / g.shape[2])[:, :, None]
    for i, r in zip(many.tolist(), correlation_many(usd, x @ x.transpose(0, 2, 1), own[many]), strict=True):
        out[i] = r
    return out

