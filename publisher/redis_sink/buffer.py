"""The publisher's bounded buffers: under pressure periodic messages go first, level changes last; the tape
keeps its newest liquidations, as columns."""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from common.columns import LiquidationBatch
from common.schema import Liquidation, Signal

log = logging.getLogger(__name__)

REPORT_EVERY_S = 10.0


def is_change(msg: Any) -> bool:
    """A level change is what consumers act on; metrics, regimes and heartbeats are refreshed anyway."""
    return type(msg) is Signal and not msg.heartbeat


def kind_of(msg: Any) -> str:
    if type(msg) is Signal:
        return "heartbeat" if msg.heartbeat else "change"
    return getattr(msg, "KIND", "other")


class Drops:
    """Drops counted per kind, and logged as a summary every `REPORT_EVERY_S` while they go on (and once
    after): a flood of drops is one line per interval, not one per message."""

    def __init__(self, capacity: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.monotonic = monotonic
        self.dropped = 0
        self.dropped_by_kind: dict[str, int] = {}
        self._window: dict[str, int] = {}  # drops since the last summary
        self._report_at = 0.0

    def count_drop(self, kind: str, n: int = 1) -> None:
        self.dropped += n
        self.dropped_by_kind[kind] = self.dropped_by_kind.get(kind, 0) + n
        self._window[kind] = self._window.get(kind, 0) + n
        self.report()

    def report(self) -> None:
        """Log the drops of the last interval, at most once per REPORT_EVERY_S (call it periodically)."""
        now = self.monotonic()
        if not self._window or now < self._report_at:
            return
        self._report_at = now + REPORT_EVERY_S
        what = ", ".join(f"{k} {v}" for k, v in sorted(self._window.items()))
        self._window = {}
        log.warning("publisher: dropped %s (buffer of %d full or writes refused); %d dropped in all",
                    what, self.capacity, self.dropped)


class PriorityBuffer(Drops):
    """At most `capacity` messages, written in arrival order.

    Two queues share one arrival sequence: level changes, and everything periodic (metrics,
    regime, heartbeats), which the next period replaces. When full, the oldest periodic message is
    dropped; only a buffer of nothing but level changes drops its oldest change (`Drops` counts them).
    """

    def __init__(self, capacity: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(capacity, monotonic)
        self._changes: deque[tuple[int, Any]] = deque()
        self._periodic: deque[tuple[int, Any]] = deque()
        self._seq = 0

    def __len__(self) -> int:
        return len(self._changes) + len(self._periodic)

    def __bool__(self) -> bool:
        return bool(self._changes or self._periodic)

    def append(self, msg: Any) -> None:
        if len(self) >= self.capacity:
            victim = (self._periodic or self._changes).popleft()[1]
            self.count_drop(kind_of(victim))
        self._seq += 1
        (self._changes if is_change(msg) else self._periodic).append((self._seq, msg))

    def take(self, n: int) -> list[tuple[int, Any]]:
        """Remove and return up to n (seq, message) in arrival order."""
        out: list[tuple[int, Any]] = []
        c, p = self._changes, self._periodic
        while len(out) < n and (c or p):
            out.append((c if not p or (c and c[0][0] < p[0][0]) else p).popleft())
        return out

    def put_back(self, batch: list[tuple[int, Any]]) -> None:
        """Return a batch taken by `take` (a write that failed), keeping the order."""
        for item in reversed(batch):
            (self._changes if is_change(item[1]) else self._periodic).appendleft(item)


Part = LiquidationBatch | list[Liquidation]


def _split(part: Part, k: int) -> tuple[Part, Part]:
    """The first k liquidations of a part and the rest, each of the part's kind."""
    if isinstance(part, LiquidationBatch):
        return part.take(slice(0, k)), part.take(slice(k, None))
    return part[:k], part[k:]


class TapeBuffer(Drops):
    """At most `capacity` liquidations, kept as the batches they arrived in (column batches as decoded, no
    struct per event: the tape's writer reads columns, `contract.tape_columns`), written in arrival order.
    When full, the oldest liquidations are dropped: the tape is a recent history, its newest entries matter
    most."""

    def __init__(self, capacity: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(capacity, monotonic)
        self._parts: deque[Part] = deque()
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0

    def append(self, msgs: Sequence[Liquidation]) -> None:
        """Add a batch: a LiquidationBatch as decoded, or Liquidation structs."""
        if not len(msgs):
            return
        self._parts.append(msgs if isinstance(msgs, LiquidationBatch) else list(msgs))
        self._n += len(msgs)
        over = self._n - self.capacity
        if over > 0:
            self.take(over)  # the oldest, discarded
            self.count_drop("liquidation", over)

    def take(self, n: int) -> list[Part]:
        """Remove and return up to n liquidations, oldest first, as the parts they are held in."""
        out: list[Part] = []
        want = n
        while want and self._parts:
            first = self._parts[0]
            if len(first) <= want:
                out.append(self._parts.popleft())
                want -= len(first)
            else:
                head, self._parts[0] = _split(first, want)
                out.append(head)
                want = 0
        self._n -= n - want
        return out

    def put_back(self, parts: list[Part]) -> None:
        """Return parts taken by `take` (a write that failed) to the front, in their order."""
        for part in reversed(parts):
            self._parts.appendleft(part)
            self._n += len(part)
