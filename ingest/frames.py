"""The one place a venue frame is parsed: any parser exception is a bad frame, exchange time is bounded.

`FrameParser.parse` never raises (except `ReconnectRequested`, which is the venue asking for a new
connection): a frame the parser rejects, or one that trips a parser bug (a TypeError from a field of an
unexpected type), is counted, logged (truncated, at most once a second) and skipped, so one frame can
never end the reader task. Exchange timestamps outside [receive - past, receive + future] are replaced
by the receive time and counted: a frame dated 2100 would otherwise hold a symbol's clock in the future.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from common.columns import LiquidationBatch
from ingest.exchanges.base import BadFrame, Event, ReconnectRequested, SubscriptionRejected

log = logging.getLogger(__name__)

LOG_EVERY_S = 1.0  # a flood of garbage must not become a flood of logs
FRAME_LOG_CHARS = 200


class FrameParser:
    """Wraps a venue's `parse(frame, ts_recv_ns)`; counts `bad` frames and `ts_clamped` events."""

    def __init__(self, name: str, parse: Callable[[str | bytes, int], list[Event]],
                 past_s: float = 3600.0, future_s: float = 60.0) -> None:
        self.name = name
        self.venue = name.rsplit(".", 1)[-1]
        self._parse = parse
        self.past_ns = int(past_s * 1e9)
        self.future_ns = int(future_s * 1e9)
        self.bad = 0
        self.ts_clamped = 0
        self.rejected: set[str] = set()  # subscriptions the venue refused (warned once each)
        self._bad_logged = float("-inf")
        self._clamp_logged = float("-inf")

    def parse(self, frame: str | bytes, ts_recv_ns: int) -> list[Event] | LiquidationBatch:
        try:
            events = self._parse(frame, ts_recv_ns)
        except ReconnectRequested:
            raise
        except SubscriptionRejected as exc:
            self._rejected(exc)
            self._bad(frame, exc)
            return []
        except Exception as exc:  # BadFrame, or a parser bug on a shape nobody foresaw: the frame is bad
            self._bad(frame, exc)
            return []
        return self._bound_times(events, ts_recv_ns) if events else events

    def _bound_times(self, events: list[Event] | LiquidationBatch, ts_recv_ns: int) -> list[Event] | LiquidationBatch:
        lo, hi = ts_recv_ns - self.past_ns, ts_recv_ns + self.future_ns
        if isinstance(events, LiquidationBatch):  # a frame read as columns: checked as one; rare misfits as structs
            ts = events.num["ts_event"]
            if ((ts >= lo) & (ts <= hi)).all():
                return events
            events = list(events)
        elif all(lo <= ev.ts_event <= hi for ev in events):
            return events
        out: list[Event] = []
        for ev in events:
            if lo <= ev.ts_event <= hi:
                out.append(ev)
                continue
            self.ts_clamped += 1
            now = time.monotonic()
            if now - self._clamp_logged > LOG_EVERY_S:
                self._clamp_logged = now
                log.warning("%s: exchange time %d ns is %.0f s from receive time; using receive time "
                            "(%d event(s) so far)", self.name, ev.ts_event, (ev.ts_event - ts_recv_ns) / 1e9,
                            self.ts_clamped)
            out.append(ev._replace(ts_event=ts_recv_ns))
        return out

    def _bad(self, frame: str | bytes, exc: Exception) -> None:
        self.bad += 1
        now = time.monotonic()
        if now - self._bad_logged > LOG_EVERY_S:
            self._bad_logged = now
            kind = "" if isinstance(exc, BadFrame) else f"{type(exc).__name__}: "
            log.warning("%s: bad frame #%d skipped (%s%.300s): %r", self.name, self.bad, kind, exc,
                        frame[:FRAME_LOG_CHARS])

    def _rejected(self, exc: SubscriptionRejected) -> None:
        """Said once per refused symbol (or message): a tracked symbol the venue does not list."""
        for key in exc.symbols or (exc.detail,):
            if key in self.rejected:
                continue
            self.rejected.add(key)
            if exc.symbols:
                log.warning("%s: tracked symbol %s is not listed on %s (subscription refused: %s)",
                            self.name, key, self.venue, exc.detail)
            else:
                log.warning("%s: the venue refused a subscription: %s", self.name, exc.detail)
