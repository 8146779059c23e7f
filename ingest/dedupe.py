"""Drops liquidations already seen recently: replays after subscribe and connection overlaps repeat them."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from itertools import islice

import numpy as np

from common.columns import LiquidationBatch
from common.fingerprint import MASK, float_bits, fold, fold_one, text_key, text_keys
from common.schema import Liquidation
from ingest.exchanges.base import Event

log = logging.getLogger(__name__)


# What makes two reports the same liquidation: (exchange, native_symbol, side, ts_event, qty, price); the
# receive time is deliberately not part of it. Held as a `common.fingerprint` of those fields: one int per event,
# computed for a column batch with a few numpy operations (two different liquidations share one with probability
# ~2⁻⁶⁴ per pair: ~1e-15 per event with 20,000 remembered).
def key_of(liq: Liquidation) -> int:
    return fold_one(text_key(liq.exchange), (text_key(liq.native_symbol), text_key(liq.side), liq.ts_event & MASK,
                                             *float_bits(liq.qty, liq.price)))


def keys_of(batch: LiquidationBatch) -> list[int]:
    """`key_of` of every event of a column batch."""
    text, num = batch.text, batch.num
    return fold(text_keys(*text["exchange"]), (text_keys(*text["native_symbol"]), text_keys(*text["side"]),
                                               num["ts_event"].view(np.uint64), num["qty"].view(np.uint64),
                                               num["price"].view(np.uint64))).tolist()


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
        self._seen: dict[int, None] = {}  # insertion-ordered: the oldest keys first
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
        """`filter` of a column batch: its keys computed on the columns, and when none was seen (before or earlier
        in the batch), the usual case, no Python step per event."""
        keys = keys_of(batch)
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
