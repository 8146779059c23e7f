"""The events of the last seconds, by 64-bit key, in an open-addressing numpy table: a batch is looked
up and inserted with a few vectorized operations (a dict would need Python work per event)."""
from __future__ import annotations

import numpy as np

EMPTY = 0  # a key is never 0 (`_nonzero`)
STRAGGLERS = 16  # keys still probing after this few are probed one at a time (a numpy round costs ~10 calls)


_UNCLAIMED = np.array(np.iinfo(np.intp).max)  # 0-d, as the constants below
# constant operands as 0-d arrays of the columns' dtypes: numpy takes a Python (or numpy) scalar operand
# through its slower scalar path, ~1 µs more per call on a batch's columns; the same results
_ONE_U, _EMPTY_U, _ONE_P = np.array(1, dtype=np.uint64), np.array(EMPTY, dtype=np.uint64), np.array(1, dtype=np.intp)
_TRUE = np.array(True)


def _nonzero(keys: np.ndarray) -> np.ndarray:
    return keys | _ONE_U  # halves the key space (2⁻⁶³ per pair), frees 0 for "empty"


class Recent:
    """Keys with their event time; `cap` entries at most before the old ones are dropped (`prune`):
    those older than `keep_ns` before the newest, and the cap doubles when more than half of it is kept.
    Linear probing in a table of 8 × cap slots (load <= 1/8: most keys settle at their first slot, so a batch
    takes a round or two of numpy calls; 4 × cap took one more, ~15 ns per event). A key's first slot is read
    from its bits above bit 0 (`_nonzero` sets bit 0: with it only odd slots would be first slots)."""

    def __init__(self, cap: int, keep_ns: int) -> None:
        self.min_cap = cap
        self.keep_ns = keep_ns
        self._alloc(cap)

    def _alloc(self, cap: int) -> None:
        self.cap = cap
        size = 1 << (8 * cap - 1).bit_length()
        self.mask = size - 1
        self._mask_u, self._mask_p = np.array(self.mask, dtype=np.uint64), np.array(self.mask, dtype=np.intp)
        self.count = 0
        self._log: list[np.ndarray] = []  # where the held keys are, for `_rebuild` (`_ones`: those add_one placed)
        self._ones: list[int] = []
        if len(getattr(self, "keys", ())) == size:  # a prune of the same size: cleared in place (a fresh table
            self.keys.fill(EMPTY)  # is page faults on every first touch); an empty slot's time is never read
            return
        self.keys = np.zeros(size, dtype=np.uint64)
        self.ts = np.zeros(size, dtype=np.int64)
        self._claim = np.full(size, _UNCLAIMED, dtype=np.intp)  # scratch of `_add`, left unclaimed between batches
        self._k, self._t = memoryview(self.keys), memoryview(self.ts)

    def __len__(self) -> int:
        return self.count

    # -- one key ------------------------------------------------------------------------------------
    def add_one(self, key: int, ts: int, newest: int) -> bool:
        """False if `key` is held (a duplicate); holds it otherwise."""
        key |= 1
        k, t, mask = self._k, self._t, self.mask
        pos = (key >> 1) & mask
        while True:
            held = k[pos]
            if held == key:
                return False
            if held == EMPTY:
                k[pos], t[pos] = key, ts
                self.count += 1
                self._ones.append(pos)
                if self.count > self.cap:
                    self.prune(newest)
                return True
            pos = (pos + 1) & mask

    # -- a batch ------------------------------------------------------------------------------------
    def add(self, keys: np.ndarray, ts: np.ndarray, newest: int) -> np.ndarray:
        """Mask of the events to keep: the first of each key in the batch, if not held; holds them.
        The same decisions as `add_one` event by event, pruning (if due) before this batch's keys go
        in rather than when the cap is crossed among them: the batch goes in, then if that crossed the
        cap the table is rebuilt as the prune would have left it, plus the batch's keys (`_rebuild`)."""
        keys = _nonzero(keys)
        keep, placed = self._add(keys, ts)
        if self.count > self.cap:
            self._rebuild(newest, np.concatenate(placed))
        else:
            self._log += placed
        return keep

    def _home(self, keys: np.ndarray) -> np.ndarray:
        """Each key's first slot (bits 1.. of the key: bit 0 is always set)."""
        p = keys >> _ONE_U
        p &= self._mask_u
        return p.astype(np.intp)

    def _rebuild(self, newest: int, placed: np.ndarray) -> None:
        """`prune(newest, len(placed))` of the table without the keys a batch just placed at `placed`, then
        those keys inserted again: the table, count and cap that pruning before the batch would give.

        When the table keeps its size, in place: the keys held before the batch (where `_log` says) that the
        prune drops are emptied, and of the keys kept only those off their first slot (a probe chain through
        a dropped key would break) are taken out and inserted again; the rest stay where a fresh insert
        would put them too."""
        held = np.concatenate([*self._log, np.array(self._ones, dtype=np.intp)])
        old = self.ts[held] >= newest - self.keep_ns  # the keys held before the batch that the prune keeps
        survivors = int(np.count_nonzero(old))
        cap = max(self.min_cap, 2 * (survivors + len(placed)))
        if 1 << (8 * cap - 1).bit_length() != len(self.keys):  # another size: a new table
            new_keys, new_ts = self.keys[placed], self.ts[placed]
            self.keys[placed] = EMPTY  # out of the prune's sight (a probe chain through them is not needed: no lookups)
            self.prune(newest, len(placed))
            self._log.append(self._insert(new_keys, new_ts, self._home(new_keys)))
            return
        if survivors < len(held):
            self.keys[held[~old]] = EMPTY
        kept = np.concatenate([held[old], placed]) if survivors else placed
        home = self._home(self.keys[kept]) == kept
        away = kept[~home]
        keys, ts = self.keys[away], self.ts[away]
        self.keys[away] = EMPTY
        self.cap, self.count = cap, len(kept) - len(away)
        self._log, self._ones = [kept[home]], []
        self._log.append(self._insert(keys, ts, self._home(keys)))

    def _add(self, keys: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Mask of the events to keep and where their keys went: every event probes from its key's slot; at
        an empty slot the earliest event aiming at it writes its key (`claim`), and every event that then
        reads its own key there is done: kept if it wrote it, else a duplicate (held before, or an earlier
        event of the batch)."""
        m = len(keys)
        keep = np.zeros(m, dtype=bool)
        placed = []
        mask = self._mask_p
        p = self._home(keys)  # each probing event's slot
        todo, kt = None, keys  # the probing events (None: all) and their keys
        table, claim = self.keys, self._claim
        while True:
            fi = (table[p] == _EMPTY_U).nonzero()[0]  # index arrays: cheaper than boolean masks here
            f = fi if todo is None else todo[fi]
            pf = p[fi]
            np.minimum.at(claim, pf, f)
            wi = (claim[pf] == f).nonzero()[0]
            claim[pf] = _UNCLAIMED
            w, pw = f[wi], pf[wi]
            placed.append(pw)
            table[pw] = keys[w]
            self.ts[pw] = ts[w]
            keep[w] = _TRUE
            self.count += len(w)
            on = (table[p] != kt).nonzero()[0]  # another key holds the slot: probe on
            todo = on if todo is None else todo[on]
            p = p[on] + _ONE_P
            p &= mask
            if len(todo) <= STRAGGLERS:
                break
            kt = kt[on]
        k, t, mask = self._k, self._t, self.mask
        tail = []
        for i, start in zip(todo.tolist(), p.tolist(), strict=True):  # the few long probe chains: one at a time
            key, q = int(keys[i]), start
            while k[q] != key and k[q] != EMPTY:
                q = (q + 1) & mask
            if k[q] == EMPTY:
                k[q], t[q] = key, int(ts[i])
                self.count += 1
                keep[i] = True
                tail.append(q)
        placed.append(np.array(tail, dtype=np.intp))
        return keep, placed

    def _insert(self, keys: np.ndarray, ts: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Insert distinct keys not held, each probing from `pos` (an empty slot, unless a key of this batch
        took it): every key aiming at a free slot is written there, the one that reads back won it (no sort
        to pick one), the others probe on. Returns where they went."""
        todo = np.arange(len(keys))
        went = []
        while len(todo) > STRAGGLERS:
            p = pos[todo]
            free = np.flatnonzero(self.keys[p] == _EMPTY_U)
            cand, at = todo[free], p[free]
            self.keys[at] = keys[cand]
            won = self.keys[at] == keys[cand]
            went.append(at[won])
            self.ts[went[-1]] = ts[cand[won]]
            self.count += int(np.count_nonzero(won))
            lost = np.ones(len(todo), dtype=bool)
            lost[free[won]] = False
            todo = todo[lost]
            pos[todo] = (pos[todo] + _ONE_P) & self._mask_p
        k, t, mask = self._k, self._t, self.mask
        tail = []
        for i in todo.tolist():  # the few left: one key at a time
            p = int(pos[i])
            while k[p] != EMPTY:
                p = (p + 1) & mask
            k[p], t[p] = int(keys[i]), int(ts[i])
            self.count += 1
            tail.append(p)
        went.append(np.array(tail, dtype=np.intp))
        return np.concatenate(went)

    def prune(self, newest: int, extra: int = 0) -> None:
        """Drop the keys older than keep_ns before `newest`, with room for `extra` more (a rebuild:
        linear probing has no cheap delete)."""
        live = np.flatnonzero((self.keys != EMPTY) & (self.ts >= newest - self.keep_ns))
        keys, ts = self.keys[live], self.ts[live]
        self._alloc(max(self.min_cap, 2 * (len(live) + extra)))
        self._log.append(self._insert(keys, ts, self._home(keys)))
