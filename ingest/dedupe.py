"""Drops liquidations already seen recently: replays after subscribe and connection overlaps repeat them."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from itertools import islice
from operator import itemgetter

import numpy as np

from common.columns import LiquidationBatch
from common.schema import Liquidation
from ingest.exchanges.base import Event

log = logging.getLogger(__name__)

Key = tuple[str, str, str, int, float, float]


# What makes two reports the same liquidation: (exchange, native_symbol, side, ts_event, qty, price); the
# receive time is deliberately not part of it. An itemgetter: no Python call per event.
_F = Liquidation._fields
KEY_FIELDS = ("exchange", "native_symbol", "side", "ts_event", "qty", "price")
key_of: Callable[[Liquidation], Key] = itemgetter(*map(_F.index, KEY_FIELDS))


class Deduper:
    """Bounded memory of recent liquidation keys: at least the last `capacity`, at most twice that (trimmed
    to the newest `capacity` in one step when it doubles, not one key per event), so memory stays flat on an
    endless feed.

    Why: OKX replays recent liquidations after a subscribe, and a make-before-break rotation delivers the
    overlap twice. Price ticks pass untouched. Two genuinely distinct liquidations with the same
    (venue, symbol, side, ms, qty, price) would be merged; no venue is known to send such pairs.
    """

    def __init__(self, capacity: int = 10_000, name: str = "") -> None:
        self.capacity = capacity
        self.name = name
        self.dropped = 0
        self._seen: dict[Key, None] = {}  # insertion-ordered: the oldest keys first
        self._logged = 0.0

    def filter(self, events: Iterable[Event] | LiquidationBatch) -> list[Event] | LiquidationBatch:
        if isinstance(events, LiquidationBatch):
            return self._filter_batch(events)
        out: list[Event] = []
        dropped = 0
        seen = self._seen
        for ev in events:
            if isinstance(ev, Liquidation):
                k = key_of(ev)
                if k in seen:
                    dropped += 1
                    continue
                seen[k] = None
            out.append(ev)
        self._trim()
        if dropped:
            self._count(dropped)
        return out

    def _filter_batch(self, batch: LiquidationBatch) -> LiquidationBatch:
        """`filter` of a column batch: its keys read off the columns, and when none was seen (before or earlier in
        the batch), the usual case, no Python step per event."""
        keys = list(zip(*(batch.values(f) for f in KEY_FIELDS), strict=True))
        fresh = dict.fromkeys(keys)
        seen = self._seen
        if len(fresh) == len(keys) and seen.keys().isdisjoint(fresh):
            seen.update(fresh)
            self._trim()
            return batch
        keep = np.ones(len(keys), dtype=bool)
        for i, k in enumerate(keys):
            if k in seen:
                keep[i] = False
            else:
                seen[k] = None
        self._trim()
        self._count(len(keys) - int(keep.sum()))
        return batch.take(keep)

    def _trim(self) -> None:
        if len(self._seen) > 2 * self.capacity:
            self._seen = dict.fromkeys(islice(self._seen, len(self._seen) - self.capacity, None))

    def __len__(self) -> int:
        return len(self._seen)

    def _count(self, n: int) -> None:
        self.dropped += n
        now = time.monotonic()
        if now - self._logged > 5.0:  # a replayed backlog must not become a flood of logs
            self._logged = now
            log.info("%s: dropped %d duplicate liquidation(s) (%d in total)", self.name, n, self.dropped)
