"""One reconnecting websocket feed per venue, written once: backoff, watchdog and make-before-break rotation.

Reconnects forever with capped jittered backoff and resubscribes on every connection (`ingest.link`).
A stale-feed watchdog drops a connection on which no frame at all arrived for the venue's
STALE_AFTER_S (or `ingest.stale_after_s`). Data on the co-subscribed BTC price stream and pongs prove
liveness, so a quiet liquidation channel is never mistaken for a dead connection, while protocol pings
(answered inside the websockets library, invisible here) cannot keep a dead feed looking alive.

Planned reconnects never lose data: before Binance's 24 h limit (MAX_CONNECTION_S) and on request
(`reconnect`, e.g. OKX notice 64008) a new connection is opened while the old one keeps delivering;
once the new one yields its first data frame the old one is closed after a short overlap. Frames
delivered by both during the overlap are duplicates, dropped downstream by `ingest.dedupe`.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import ModuleType

from websockets.exceptions import WebSocketException

from common.config import Config
from ingest.backoff import Backoff
from ingest.link import Item, Link

log = logging.getLogger(__name__)

QUEUE_MAX = 4096  # frames between the socket readers and the parser; full = backpressure on the socket
TICK_S = 0.1  # supervisor period when nothing wakes it


@dataclass
class ConnectionState:
    """Counters reported downstream in FeedStatus."""

    connected: bool = False
    attempts: int = 0  # connection attempts (each open, including rotations)
    failures: int = 0  # attempts that did not connect
    reconnects: int = 0  # connections opened after a lost one (rotations are not losses)
    rotations: int = 0  # make-before-break replacements (age limit, venue notice)
    stale: int = 0  # connections dropped by the watchdog
    frames: int = 0
    last_frame_ns: int = 0
    connected_since: float = 0.0
    down_since: float = 0.0  # monotonic time the feed went down (0 while connected or never connected)
    fail_streak: int = 0  # failed attempts in a row
    last_error: str = ""


class Connection:
    """`async for ts_recv_ns, frame in conn.frames()` yields every frame of every connection."""

    def __init__(self, venue: ModuleType, cfg: Config, clock: Callable[[], int] = time.time_ns,
                 backoff: Backoff | None = None, stale_after_s: float | None = None,
                 max_age_s: float | None = None, overlap_s: float | None = None) -> None:
        self.venue = venue
        self.cfg = cfg
        self.clock = clock
        self.backoff = backoff or Backoff(cfg.ingest.backoff_min_s, cfg.ingest.backoff_max_s)
        self.stale_after_s = stale_after_s or cfg.ingest.stale_after_s or venue.STALE_AFTER_S
        self.max_age_s = max_age_s if max_age_s is not None else getattr(venue, "MAX_CONNECTION_S", None)
        self.overlap_s = overlap_s if overlap_s is not None else min(2.0, self.stale_after_s / 4)
        # The keepalive keeps the venue's ratio to the watchdog, so a shortened watchdog (tests) still
        # sees pongs before it fires.
        spec = venue.KEEPALIVE
        scale = min(1.0, self.stale_after_s / venue.STALE_AFTER_S)
        self.keepalive: tuple[str, float] | None = (spec[0], spec[1] * scale) if spec else None
        self.state = ConnectionState()
        self.name = venue.NAME
        self._rotate_reason = ""
        self._rotate_after = 0.0
        self._wake = asyncio.Event()
        self._links: list[Link] = []
        self._n = 0

    @property
    def url(self) -> str:
        base = self.cfg.ingest.urls.get(self.venue.NAME, self.venue.URL)
        return self.venue.url(base, self.cfg.ingest.symbols, self.cfg.ingest.price_symbol)

    def reconnect(self, reason: str) -> None:
        """Replace the connection ahead of a announced close (e.g. maintenance), without a gap."""
        if not self._rotate_reason:
            log.info("%s: reconnect requested (%s)", self.name, reason)
        self._rotate_reason = reason
        self._wake.set()

    async def frames(self) -> AsyncIterator[tuple[int, str | bytes]]:
        queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_MAX)
        self._wake = asyncio.Event()
        supervisor = asyncio.create_task(self._supervise(queue))
        try:
            while True:
                ts, frame = await queue.get()
                self.state.frames += 1
                self.state.last_frame_ns = ts
                yield ts, frame
        finally:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
            await asyncio.gather(*(link.abort() for link in self._links), return_exceptions=True)

    async def _supervise(self, queue: asyncio.Queue[Item]) -> None:
        """Forever: connect (with backoff), watch the connection, replace it when it dies or must rotate."""
        while True:
            try:
                link = await self._open(queue)
                if link is not None:
                    await self._watch(link, queue)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not end the feed: log it and reconnect
                log.exception("%s: connection supervisor error; reconnecting", self.name)
            if self.state.connected or not self.state.down_since:
                self.state.down_since = time.monotonic()
            self.state.connected = False
            delay = self.backoff.next_delay()
            if _worth_logging(self.state.fail_streak):
                log.info("%s: reconnecting in %.2f s (attempt %d)", self.name, delay, self.backoff.attempt)
            await asyncio.sleep(delay)

    async def _open(self, queue: asyncio.Queue[Item]) -> Link | None:
        self._n += 1
        self.state.attempts += 1
        link = Link(self._n, self.venue, self.url, queue, self.clock, self._wake)
        try:
            await link.open(self.venue.subscribe_messages(self.cfg.ingest.symbols, self.cfg.ingest.price_symbol),
                            self.keepalive)
        except (OSError, WebSocketException, TimeoutError) as exc:
            await link.abort()
            self._failed(link.url, (str(exc) or type(exc).__name__)[:200])
            return None
        self._links.append(link)
        st = self.state
        if st.fail_streak:
            log.info("%s: link #%d connected to %s after %d failed attempt(s), %.0f s down", self.name, link.n,
                     link.url, st.fail_streak, time.monotonic() - st.down_since if st.down_since else 0.0)
        else:
            log.info("%s: link #%d connected to %s", self.name, link.n, link.url)
        st.fail_streak, st.last_error = 0, ""
        return link

    def _failed(self, url: str, error: str) -> None:
        """Said on the first failure of a streak, then at failures 2, 4, 8...: less often as backoff grows."""
        st = self.state
        st.failures += 1
        st.fail_streak += 1
        changed = error != st.last_error
        st.last_error = error
        if st.fail_streak == 1 or changed or _worth_logging(st.fail_streak):
            log.warning("%s: cannot connect to %s: %s (%d failed attempt(s) in a row; next log at %d)", self.name,
                        url, error, st.fail_streak, _next_logged(st.fail_streak))

    async def _watch(self, cur: Link, queue: asyncio.Queue[Item]) -> None:
        """Returns when the current connection is lost or stale; rotates it in place when due."""
        if self.state.connected_since:
            self.state.reconnects += 1
        self._on_current(cur)
        pending: Link | None = None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)
            self._wake.clear()
            self._links = [link for link in self._links if not link.ended]
            now = time.monotonic()
            if cur.frames:
                self.backoff.reset()
            if cur.ended:
                if pending is None or pending.ended:
                    return
                cur, pending = pending, None  # the old one died first: take the new one as it is
                self._on_current(cur)
                continue
            if now - cur.last_rx > self.stale_after_s and not queue.full():
                self.state.stale += 1
                log.warning("%s: no frame for %.1f s on link #%d; reconnecting", self.name, self.stale_after_s, cur.n)
                await cur.abort()
                return
            if pending is None and now >= self._rotate_after and self._rotation_due(cur, now):
                pending = await self._open(queue)
                if pending is None:
                    self._rotate_after = now + self.backoff.next_delay()
            elif pending is not None and (pending.ended or now - pending.opened > self.stale_after_s):
                log.warning("%s: replacement link #%d delivered no data; keeping link #%d", self.name, pending.n, cur.n)
                await pending.abort()
                pending, self._rotate_after = None, now + self.backoff.next_delay()
            elif pending is not None and pending.has_data:
                log.info("%s: link #%d delivers; closing link #%d in %.2f s (%s)", self.name, pending.n, cur.n,
                         self.overlap_s, self._rotate_reason or "age limit")
                cur.close(self.overlap_s)
                cur, pending = pending, None
                self._rotate_reason = ""
                self.state.rotations += 1
                self._on_current(cur)

    def _rotation_due(self, cur: Link, now: float) -> bool:
        return bool(self._rotate_reason) or bool(self.max_age_s and now - cur.opened >= self.max_age_s)

    def _on_current(self, link: Link) -> None:
        self.state.connected = True
        self.state.connected_since = time.monotonic()
        self.state.down_since = 0.0


def _worth_logging(streak: int) -> bool:
    """Streaks of 0..2 and then powers of two: a venue down for hours logs a few dozen lines, not thousands."""
    return streak <= 2 or streak & (streak - 1) == 0


def _next_logged(streak: int) -> int:
    n = streak + 1
    while not _worth_logging(n):
        n += 1
    return n
