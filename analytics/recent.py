"""The events of the last seconds, by 64-bit key, in an open-addressing numpy table: a batch is looked
up and inserted with a few vectorized operations (a dict would need Python work per event)."""
from __future__ import annotations

import numpy as np

EMPTY = 0  # a key is never 0 (`_nonzero`)
STRAGGLERS = 16  # keys still probing after this few are probed one at a time (a numpy round costs ~10 calls)


_UNCLAIMED = np.iinfo(np.intp).max


def _nonzero(keys: np.ndarray) -> np.ndarray:
    return keys | np.uint64(1)  # halves the key space (2⁻⁶³ per pair), frees 0 for "empty"


class Recent:
    """Keys with their event time; `cap` entries at most before the old ones are dropped (`prune`):
    those older than `keep_ns` before the newest, and the cap doubles when more than half of it is kept.
    Linear probing in a table of 8 × cap slots (load <= 1/8: most keys settle at their first slot, so a batch
    takes a round or two of numpy calls; 4 × cap took one more, ~15 ns per event)."""

    def __init__(self, cap: int, keep_ns: int) -> None:
        self.min_cap = cap
        self.keep_ns = keep_ns
        self._alloc(cap)

    def _alloc(self, cap: int) -> None:
        self.cap = cap
        size = 1 << (8 * cap - 1).bit_length()
        self.mask = size - 1
        self.keys = np.zeros(size, dtype=np.uint64)
        self.ts = np.zeros(size, dtype=np.int64)
        if len(getattr(self, "_claim", ())) != size:  # scratch of `_add`, left unclaimed between batches: kept
            self._claim = np.full(size, _UNCLAIMED, dtype=np.intp)
        self.count = 0
        self._k, self._t = memoryview(self.keys), memoryview(self.ts)

    def __len__(self) -> int:
        return self.count

    # -- one key ------------------------------------------------------------------------------------
    def add_one(self, key: int, ts: int, newest: int) -> bool:
        """False if `key` is held (a duplicate); holds it otherwise."""
        key |= 1
        k, t, mask = self._k, self._t, self.mask
        pos = key & mask
        while True:
            held = k[pos]
            if held == key:
                return False
            if held == EMPTY:
                k[pos], t[pos] = key, ts
                self.count += 1
                if self.count > self.cap:
                    self.prune(newest)
                return True
            pos = (pos + 1) & mask

    # -- a batch ------------------------------------------------------------------------------------
    def add(self, keys: np.ndarray, ts: np.ndarray, newest: int) -> np.ndarray:
        """Mask of the events to keep: the first of each key in the batch, if not held; holds them.
        The same decisions as `add_one` event by event, pruning (if due) before this batch's keys go
        in rather than when the cap is crossed among them."""
        keys = _nonzero(keys)
        if self.count + len(keys) <= self.cap:  # no prune due whatever the batch holds: look up and insert at once
            return self._add(keys, ts)
        first = np.argsort(keys)  # no key twice (the usual batch): this sort is np.unique's, unstable and ~2x faster
        uniq = keys[first]
        if not (uniq[1:] != uniq[:-1]).all():
            uniq, first = np.unique(keys, return_index=True)  # each key's first event
        pos = (uniq & np.uint64(self.mask)).astype(np.intp)
        held = self._find(uniq, pos)
        new = np.flatnonzero(~held)
        if self.count + len(new) > self.cap:  # decided above; make room before inserting
            self.prune(newest, len(new))
            pos = (uniq & np.uint64(self.mask)).astype(np.intp)
        self._insert(uniq[new], ts[first[new]], pos[new])
        keep = np.zeros(len(keys), dtype=bool)
        keep[first[new]] = True
        return keep

    def _add(self, keys: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """`add` when no prune is due: every event probes from its key's slot; at an empty slot the earliest
        event aiming at it writes its key (`claim`), and every event that then reads its own key there is
        done: kept if it wrote it, else a duplicate (held before, or an earlier event of the batch)."""
        m = len(keys)
        keep = np.zeros(m, dtype=bool)
        mask = self.mask
        p = (keys & np.uint64(mask)).astype(np.intp)  # each probing event's slot
        todo, kt = None, keys  # the probing events (None: all) and their keys
        table, claim = self.keys, self._claim
        while True:
            fi = (table[p] == EMPTY).nonzero()[0]  # index arrays: cheaper than boolean masks here
            f = fi if todo is None else todo[fi]
            pf = p[fi]
            np.minimum.at(claim, pf, f)
            wi = (claim[pf] == f).nonzero()[0]
            claim[pf] = _UNCLAIMED
            w, pw = f[wi], pf[wi]
            table[pw] = keys[w]
            self.ts[pw] = ts[w]
            keep[w] = True
            self.count += len(w)
            on = (table[p] != kt).nonzero()[0]  # another key holds the slot: probe on
            todo = on if todo is None else todo[on]
            p = (p[on] + 1) & mask
            if len(todo) <= STRAGGLERS:
                break
            kt = kt[on]
        k, t = self._k, self._t
        for i, start in zip(todo.tolist(), p.tolist(), strict=True):  # the few long probe chains: one at a time
            key, q = int(keys[i]), start
            while k[q] != key and k[q] != EMPTY:
                q = (q + 1) & mask
            if k[q] == EMPTY:
                k[q], t[q] = key, int(ts[i])
                self.count += 1
                keep[i] = True
        return keep

    def _find(self, keys: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Which keys are held; leaves `pos` at each key's slot or at the empty slot that ends its probe."""
        found = np.zeros(len(keys), dtype=bool)
        todo = np.arange(len(keys))
        while len(todo) > STRAGGLERS:
            t = self.keys[pos[todo]]
            hit = t == keys[todo]
            found[todo[hit]] = True
            todo = todo[~hit & (t != EMPTY)]
            pos[todo] = (pos[todo] + 1) & self.mask
        k, mask = self._k, self.mask
        for i in todo.tolist():  # the few long probe chains: one key at a time
            key, p = int(keys[i]), int(pos[i])
            while k[p] != key and k[p] != EMPTY:
                p = (p + 1) & mask
            found[i], pos[i] = k[p] == key, p
        return found

    def _insert(self, keys: np.ndarray, ts: np.ndarray, pos: np.ndarray) -> None:
        """Insert distinct keys not held, each probing from `pos` (an empty slot, unless a key of this batch
        took it): every key aiming at a free slot is written there, the one that reads back won it (no sort
        to pick one), the others probe on."""
        todo = np.arange(len(keys))
        while len(todo) > STRAGGLERS:
            p = pos[todo]
            free = np.flatnonzero(self.keys[p] == EMPTY)
            cand, at = todo[free], p[free]
            self.keys[at] = keys[cand]
            won = self.keys[at] == keys[cand]
            self.ts[at[won]] = ts[cand[won]]
            self.count += int(np.count_nonzero(won))
            lost = np.ones(len(todo), dtype=bool)
            lost[free[won]] = False
            todo = todo[lost]
            pos[todo] = (pos[todo] + 1) & self.mask
        k, t, mask = self._k, self._t, self.mask
        for i in todo.tolist():  # the few left: one key at a time
            p = int(pos[i])
            while k[p] != EMPTY:
                p = (p + 1) & mask
            k[p], t[p] = int(keys[i]), int(ts[i])
            self.count += 1

    def prune(self, newest: int, extra: int = 0) -> None:
        """Drop the keys older than keep_ns before `newest`, with room for `extra` more (a rebuild:
        linear probing has no cheap delete)."""
        live = np.flatnonzero((self.keys != EMPTY) & (self.ts >= newest - self.keep_ns))
        keys, ts = self.keys[live], self.ts[live]
        self._alloc(max(self.min_cap, 2 * (len(live) + extra)))
        self._insert(keys, ts, (keys & np.uint64(self.mask)).astype(np.intp))
