"""One reconnecting websocket connection, written once for every venue.

Reconnects forever with capped jittered backoff, resubscribes on every connection, sends the venue's
application keepalive, and a stale-feed watchdog reconnects when no frame at all arrived for the
venue's STALE_AFTER_S. Data on the co-subscribed BTC price stream and pongs prove liveness, so a quiet
liquidation channel is never mistaken for a dead connection, while protocol pings (answered inside
the websockets library, invisible here) cannot keep a dead feed looking alive.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import ModuleType

import websockets
from websockets.exceptions import WebSocketException

from common.config import Config
from ingest.backoff import Backoff

log = logging.getLogger(__name__)


class StaleFeed(Exception):
    """No frame for longer than the venue's stale limit."""


@dataclass
class ConnectionState:
    """Counters reported downstream in FeedStatus."""

    connected: bool = False
    reconnects: int = 0
    frames: int = 0
    last_frame_ns: int = 0
    connected_since: float = 0.0


class Connection:
    """`async for ts_recv_ns, frame in conn.frames()` yields every frame of every connection."""

    def __init__(self, venue: ModuleType, cfg: Config, clock: Callable[[], int] = time.time_ns,
                 backoff: Backoff | None = None, stale_after_s: float | None = None) -> None:
        self.venue = venue
        self.cfg = cfg
        self.clock = clock
        self.backoff = backoff or Backoff(cfg.ingest.backoff_min_s, cfg.ingest.backoff_max_s)
        self.stale_after_s = stale_after_s or venue.STALE_AFTER_S
        self.state = ConnectionState()
        self._ws: websockets.ClientConnection | None = None
        self._rotate_reason = ""
        self.name = venue.NAME

    @property
    def url(self) -> str:
        base = self.cfg.ingest.urls.get(self.venue.NAME, self.venue.URL)
        return self.venue.url(base, self.cfg.ingest.symbols, self.cfg.ingest.price_symbol)

    def reconnect(self, reason: str) -> None:
        """Close the current connection now and reconnect at once (no backoff), e.g. before maintenance."""
        self._rotate_reason = reason
        if self._ws is not None:
            asyncio.ensure_future(self._ws.close())

    async def frames(self) -> AsyncIterator[tuple[int, str | bytes]]:
        while True:
            url = self.url
            try:
                async with websockets.connect(url, open_timeout=10, close_timeout=1, ping_interval=20,
                                              ping_timeout=20, max_size=2**23, max_queue=4096) as ws:
                    self._on_open(ws, url)
                    keepalive = asyncio.create_task(self._keepalive(ws))
                    try:
                        for msg in self.venue.subscribe_messages(self.cfg.ingest.symbols,
                                                                 self.cfg.ingest.price_symbol):
                            await ws.send(msg)
                        while True:
                            frame = await self._recv(ws)
                            ts = self.clock()
                            self.state.frames += 1
                            self.state.last_frame_ns = ts
                            self.backoff.reset()
                            yield ts, frame
                    finally:
                        keepalive.cancel()
            except StaleFeed:
                log.warning("%s: no frame for %.0f s on a connected socket; reconnecting",
                            self.name, self.stale_after_s)
            except (OSError, WebSocketException, TimeoutError) as exc:
                log.warning("%s: connection to %s lost: %s", self.name, url, exc or type(exc).__name__)
            finally:
                self._ws = None
                if self.state.connected:
                    self.state.connected = False
            if self._rotate_reason:
                log.info("%s: reconnecting at once (%s)", self.name, self._rotate_reason)
                self._rotate_reason = ""
                continue
            delay = self.backoff.next_delay()
            log.info("%s: reconnecting in %.2f s (attempt %d)", self.name, delay, self.backoff.attempt)
            await asyncio.sleep(delay)

    def _on_open(self, ws: websockets.ClientConnection, url: str) -> None:
        self._ws = ws
        if self.state.connected_since:
            self.state.reconnects += 1
        self.state.connected = True
        self.state.connected_since = time.monotonic()
        log.info("%s: connected to %s", self.name, url)

    async def _recv(self, ws: websockets.ClientConnection) -> str | bytes:
        try:
            return await asyncio.wait_for(ws.recv(), self.stale_after_s)
        except TimeoutError:
            raise StaleFeed from None

    async def _keepalive(self, ws: websockets.ClientConnection) -> None:
        """Venue application ping (Bybit {"op":"ping"}, OKX "ping", Hyperliquid {"method":"ping"})."""
        spec = self.venue.KEEPALIVE
        max_age = getattr(self.venue, "MAX_CONNECTION_S", None)
        interval = spec[1] if spec else (max_age or 3600.0)
        while True:
            await asyncio.sleep(interval if not max_age else min(interval, max_age))
            if max_age and time.monotonic() - self.state.connected_since >= max_age:
                self.reconnect("connection age limit")
                return
            if spec:
                try:
                    await ws.send(spec[0])
                except WebSocketException:
                    return
