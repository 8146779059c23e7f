"""What signals sends the publisher: signals at once; the tape and the latest snapshot per symbol coalesced."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from common import topics
from common.columns import joined
from common.schema import Liquidation, MetricsSnapshot
from common.wire import packed_row, rows_body

LINGER_S = 0.05  # the tape and the snapshots reach Redis at most this much later than the PUB
MAX_ROWS = 1024  # tape rows held before a flush regardless of the linger (~100 KB a message)
SNAPSHOTS = topics.METRICS + b".latest"  # the coalesced snapshots' topic towards the publisher only

Stamp = Callable[[bytes, list[Any]], list[bytes]]
StampBody = Callable[[bytes, bytes], list[bytes]]


class PublisherOutbox:
    """Coalesces what the publisher only stores, so it costs a few messages a second instead of one each.

    The publisher writes the tape to a capped Redis stream and keeps only the latest snapshot of a symbol
    (`velocity:<SYMBOL>`); one message per snapshot and per tape batch cost signals, the publisher and
    Redis a wakeup each (a ZMQ send and a Redis round trip), which at 1,000 events/s was a third of the
    pipeline's CPU on a 2-core machine and delayed the latency path behind it. Signals, regime and
    status go out at once (`push`); tape rows (per input topic) and the newest snapshot per symbol wait
    at most LINGER_S (`due`), or until MAX_ROWS rows are held.
    """

    def __init__(self, push: Callable[[list[bytes]], None], stamp: Stamp, linger_s: float = LINGER_S,
                 monotonic: Callable[[], float] = time.monotonic, stamp_body: StampBody | None = None) -> None:
        self.push = push
        self.stamp = stamp
        self.stamp_body = stamp_body
        self.linger_s = linger_s
        self.monotonic = monotonic
        self.tape: dict[bytes, list[Sequence[Liquidation]]] = {}  # topic -> batches held, joined at the flush
        self.rows = 0
        self.snapshots: dict[str, MetricsSnapshot] = {}
        # symbol -> its latest snapshot's row as received (`add_snapshots`' body): joined at the flush
        # instead of packing the snapshots again (~10 µs each, most of a flush)
        self.packed: dict[str, bytes] = {}
        self.due: float | None = None  # monotonic time of the next flush; None while empty

    def add_tape(self, topic: bytes, rows: Sequence[Liquidation]) -> None:
        self.tape.setdefault(topic, []).append(rows)
        self.rows += len(rows)
        self._arm()
        if self.rows >= MAX_ROWS:
            self.flush()

    def add_snapshots(self, snaps: list[MetricsSnapshot], body: bytes = b"") -> None:
        """`body`: the received body these snapshots were decoded from, whole (b"" when unknown or partly
        refused); a one-snapshot body's row is kept to be joined at the flush."""
        row = packed_row(body, MetricsSnapshot.KIND) if body and len(snaps) == 1 else None
        for snap in snaps:
            self.snapshots[snap.symbol] = snap
            if row is None:
                self.packed.pop(snap.symbol, None)
            else:
                self.packed[snap.symbol] = row
        if snaps:
            self._arm()

    def flush_if_due(self) -> None:
        if self.due is not None and self.monotonic() >= self.due:
            self.flush()

    def flush(self) -> None:
        """Everything held, one message per tape topic and one for the snapshots."""
        tape, snaps, packed = self.tape, self.snapshots, self.packed
        self.tape, self.rows, self.snapshots, self.packed, self.due = {}, 0, {}, {}, None
        for topic, parts in tape.items():
            self.push(self.stamp(topic, joined(parts)))
        if not snaps:
            return
        if self.stamp_body is not None and len(packed) == len(snaps):  # every row as received: the same body
            self.push(self.stamp_body(SNAPSHOTS, rows_body(MetricsSnapshot.KIND, [packed[s] for s in snaps])))
        else:
            self.push(self.stamp(SNAPSHOTS, list(snaps.values())))

    def _arm(self) -> None:
        if self.due is None:
            self.due = self.monotonic() + self.linger_s
