"""Drops liquidations already seen recently: replays after subscribe and connection overlaps repeat them."""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from operator import itemgetter

from common.schema import Liquidation
from ingest.exchanges.base import Event

log = logging.getLogger(__name__)

Key = tuple[str, str, str, int, float, float]


# What makes two reports the same liquidation: (exchange, native_symbol, side, ts_event, qty, price); the
# receive time is deliberately not part of it. An itemgetter: no Python call per event.
_F = Liquidation._fields
key_of: Callable[[Liquidation], Key] = itemgetter(*map(_F.index, ("exchange", "native_symbol", "side", "ts_event",
                                                                  "qty", "price")))


class Deduper:
    """Bounded FIFO of recent liquidation keys (`capacity`), so memory stays flat on an endless feed.

    Why: OKX replays recent liquidations after a subscribe, and a make-before-break rotation delivers the
    overlap twice. Price ticks pass untouched. Two genuinely distinct liquidations with the same
    (venue, symbol, side, ms, qty, price) would be merged; no venue is known to send such pairs.
    """

    def __init__(self, capacity: int = 10_000, name: str = "") -> None:
        self.capacity = capacity
        self.name = name
        self.dropped = 0
        self._seen: OrderedDict[Key, None] = OrderedDict()
        self._logged = 0.0

    def filter(self, events: Iterable[Event]) -> list[Event]:
        out: list[Event] = []
        dropped = 0
        for ev in events:
            if isinstance(ev, Liquidation):
                k = key_of(ev)
                if k in self._seen:
                    dropped += 1
                    continue
                self._seen[k] = None
                if len(self._seen) > self.capacity:
                    self._seen.popitem(last=False)
            out.append(ev)
        if dropped:
            self._count(dropped)
        return out

    def __len__(self) -> int:
        return len(self._seen)

    def _count(self, n: int) -> None:
        self.dropped += n
        now = time.monotonic()
        if now - self._logged > 5.0:  # a replayed backlog must not become a flood of logs
            self._logged = now
            log.info("%s: dropped %d duplicate liquidation(s) (%d in total)", self.name, n, self.dropped)
