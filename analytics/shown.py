"""The event times throttled feeds showed, per (symbol slot, venue), in numpy rings: a batch goes in with a
few vectorized operations; the snapshot side reads them as `throttle.ShownTimes` (its timing estimate)."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from analytics.positions import segments, stable_order
from analytics.throttle import HISTORY, ShownTimes

# `batch`'s constant operands as 0-d arrays of the columns' dtype: numpy takes a Python (or numpy) scalar operand
# through its slower scalar path, ~1 µs more per call on a batch's columns; the same results
_HIST, _ONE, _ZERO = (np.array(v, dtype=np.int64) for v in (HISTORY, 1, 0))


class ShownBook:
    """For every (slot, venue): the last HISTORY shown times in a ring (`times`), how many were ever added
    (`total`). An event is a new shown one if it is newer than the feed's latest (ShownTimes.add): the same
    time again is a duplicate delivery, an older one a late delivery of a window already read."""

    def __init__(self) -> None:
        self.slots = self.venues = 0
        self.times = np.zeros((0, HISTORY), dtype=np.int64)
        self.total = np.zeros(0, dtype=np.int64)
        self.fit(1, 1)

    def fit(self, slots: int, venues: int) -> None:
        """Room for `slots` symbol slots and `venues` venues (copies what is held)."""
        if slots <= self.slots and venues <= self.venues:
            return
        s, v = max(slots, self.slots), max(venues, 2 * self.venues, 4)
        times = np.zeros((s, v, HISTORY), dtype=np.int64)
        total = np.zeros((s, v), dtype=np.int64)
        times[:self.slots, :self.venues] = self.times.reshape(self.slots, self.venues, HISTORY)
        total[:self.slots, :self.venues] = self.total.reshape(self.slots, self.venues)
        self.slots, self.venues = s, v
        self.times, self.total = times.reshape(s * v, HISTORY), total.reshape(-1)
        self._flat, self._totals = memoryview(self.times.reshape(-1)), memoryview(self.total)

    def key(self, slot: int | np.ndarray, venue: int | np.ndarray) -> int | np.ndarray:
        return slot * self.venues + venue

    def clear(self, slot: int) -> None:
        self.total[slot * self.venues:(slot + 1) * self.venues] = 0

    def one(self, g: int, ts: int) -> None:
        """Add one shown time to feed `g` (if newer than its latest)."""
        n = self._totals[g]
        if n == 0 or ts > self._flat[g * HISTORY + (n - 1) % HISTORY]:
            self._flat[g * HISTORY + n % HISTORY] = ts
            self._totals[g] = n + 1

    def batch(self, g: np.ndarray, ts: np.ndarray) -> None:
        """`one` for every event (arrival order): per feed, the events newer than the feed's latest and
        than every earlier event of the batch are the ones added (ranks and a running maximum per feed)."""
        m = len(g)
        if not m:
            return
        order = stable_order(g, len(self.total))
        gs, t = g[order], ts[order]
        n = self.total[gs]
        flat = self.times.reshape(-1)  # 1-d indices: cheaper than a (feed, column) pair
        last = flat[gs * _HIST + (n - _ONE) % _HIST]
        starts = _firsts(gs)
        at = starts.nonzero()[0]
        seg = segments(at, m)
        # newer than every earlier event of its feed: than the one before it, while no feed's times go back
        # (the usual batch); else a running maximum per feed
        new = starts.copy()
        np.greater(t[1:], t[:-1], out=new[1:])
        if np.count_nonzero((t[1:] < t[:-1]) > starts[1:]):
            self._running_max(seg, t, new)
        new |= starts
        new &= (n == _ZERO) | (t > last)
        if not np.count_nonzero(new):
            return
        # each new time's ordinal among its feed's (`c`: new times up to it in the batch; `edges`: ahead of each
        # feed, and in all), each feed's count of new times; its ring takes the last HISTORY, after its `n`
        c = new.astype(np.intp)
        np.add.accumulate(c, out=c)
        edges = np.empty(len(at) + 1, dtype=np.intp)
        edges[:-1] = c[at]
        edges[:-1] -= new[at]
        edges[-1] = c[-1]
        count = edges[1:] - edges[:-1]
        i = new.nonzero()[0]  # index arrays: cheaper than boolean masks, used four times
        j = c[i] - _ONE
        j -= edges[seg[i]]
        if np.count_nonzero(count > _HIST):
            kept = (j >= count[seg[i]] - HISTORY).nonzero()[0]
            i, j = i[kept], j[kept]
        flat[gs[i] * _HIST + (n[i] + j) % _HIST] = t[i]
        self.total[gs[at]] += count

    @staticmethod
    def _running_max(seg: np.ndarray, t: np.ndarray, new: np.ndarray) -> None:
        """new[1:] = whether each time is past the running maximum of the earlier ones of its feed: times
        relative to the batch's oldest, each feed's offset past the one before it (ranks instead when the
        span is too wide for int64)."""
        m = len(t)
        lo = int(t.min())
        span = int(t.max()) - lo + 1
        if span * (int(seg[-1]) + 1) < 1 << 62:
            key = seg * np.array(span, dtype=np.int64)
            key += t
            key -= np.array(lo, dtype=np.int64)
        else:
            _, rank = np.unique(t, return_inverse=True)  # equal times share a rank: a repeat is not newer
            key = seg * (m + 1) + rank.reshape(-1)
        run = np.maximum.accumulate(key)
        np.less(run[:-1], key[1:], out=new[1:])

    def of(self, g: int) -> ShownTimes:
        """Feed `g`'s shown times, oldest first, as the snapshot side reads them."""
        n = int(self.total[g])
        out = ShownTimes()
        if n:
            row = self.times[g].tolist()
            k = min(n, HISTORY)
            out.times.extend(row[(n - k + i) % HISTORY] for i in range(k))
        return out


def _firsts(sorted_keys: np.ndarray) -> np.ndarray:
    """True where a run of equal keys starts."""
    out = np.empty(len(sorted_keys), dtype=bool)
    out[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=out[1:])
    return out


class ShownView:
    """`engine.shown`: symbol -> {venue: ShownTimes} for the venues of the symbol that showed any event,
    read from the book when asked (the snapshot side reads a few feeds of a few symbols)."""

    def __init__(self, book: ShownBook, slot_of: dict[str, int], venues_of: Callable[[str], dict[str, int]]) -> None:
        self.book, self.slot_of, self.venues_of = book, slot_of, venues_of

    def get(self, symbol: str, default: Mapping[str, ShownTimes] | None = None) -> Mapping[str, ShownTimes]:
        slot = self.slot_of.get(symbol)
        if slot is None:
            return {} if default is None else default
        return _SymbolShown(self.book, slot, self.venues_of(symbol))

    def pop(self, symbol: str, default: object = None) -> object:
        """Nothing to drop: a slot's feeds are cleared when the slot is handed out again."""
        return default


class _SymbolShown(Mapping[str, ShownTimes]):
    def __init__(self, book: ShownBook, slot: int, venues: dict[str, int]) -> None:
        self.book, self.slot = book, slot
        self.venues = {v: i for v, i in venues.items() if book.total[book.key(slot, i)] > 0}

    def __getitem__(self, venue: str) -> ShownTimes:
        return self.book.of(int(self.book.key(self.slot, self.venues[venue])))

    def __contains__(self, venue: object) -> bool:
        return venue in self.venues  # without building its ShownTimes

    def __iter__(self) -> Iterator[str]:
        return iter(self.venues)

    def __len__(self) -> int:
        return len(self.venues)
