"""The simulator server: plays a timeline to every connected client in its venue's protocol."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from types import ModuleType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ingest.sim.session import Session
from ingest.sim.timeline import SimEvent, SimLiquidation

log = logging.getLogger(__name__)


class SimServer:
    """Serves every venue protocol module in `venues` on one port, routed by URL path.

    `speed` > 1 plays the timeline faster than real time; events are stamped with the wall clock when
    sent, so the live pipeline sees fresh events. `throttle` reproduces the 1/symbol/s snapshotting of
    venues that have it (Binance, OKX).
    """

    def __init__(self, venues: list[ModuleType], timeline: Iterator[tuple[float, SimEvent]], *,
                 speed: float = 1.0, throttle: bool = True, ping_interval: float | None = 180.0) -> None:
        self.venues = venues
        self.timeline = timeline
        self.speed = speed
        self.throttle = throttle
        self.ping_interval = ping_interval
        self.clients: dict[ServerConnection, tuple[ModuleType, Session]] = {}
        self.sent_events = 0
        self.done = asyncio.Event()
        self._last_sent: dict[tuple[str, str], float] = {}
        self._pending: dict[tuple[str, str], tuple[ModuleType, SimEvent]] = {}
        self._server: Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await serve(self._handle, host, port, ping_interval=self.ping_interval,
                                   compression=None, max_queue=64)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else "/"
        for venue in self.venues:
            session = venue.open_session(path)
            if session is not None:
                break
        else:
            await ws.close(1008, "unknown path")
            return
        self.clients[ws] = (venue, session)
        log.info("sim: %s client connected on %s", venue.NAME, path)
        try:
            async for text in ws:
                for reply in venue.on_client_message(session, text):
                    await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self.clients.pop(ws, None)

    async def play(self) -> None:
        """Play the timeline; events that are due together are sent back to back without sleeping."""
        start = time.monotonic()
        flusher = asyncio.create_task(self._flush_throttled()) if self.throttle else None
        try:
            for offset, ev in self.timeline:
                delay = start + offset / self.speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.broadcast(ev)
        finally:
            if flusher:
                flusher.cancel()
            self.done.set()

    async def broadcast(self, ev: SimEvent) -> None:
        now = time.time()
        for venue in self.venues:
            if isinstance(ev, SimLiquidation) and ev.venue not in (None, venue.NAME):
                continue
            key = venue.throttle_key(ev) if self.throttle else None
            if key is not None:
                k = (venue.NAME, key)
                if now - self._last_sent.get(k, 0.0) < venue.THROTTLE_S:
                    self._pending[k] = (venue, ev)  # only the latest survives, as on the real feed
                    continue
                self._last_sent[k] = now
            await self._send(venue, ev, now)

    async def _send(self, venue: ModuleType, ev: SimEvent, now: float) -> None:
        encoded = venue.encode(ev, int(now * 1000))
        if encoded is None:
            return
        stream, payload = encoded
        self.sent_events += 1
        for ws, (v, session) in list(self.clients.items()):
            if v is not venue:
                continue
            text = venue.frame(session, stream, payload)
            if text is not None:
                try:
                    await ws.send(text)
                    session.sent += 1
                except ConnectionClosed:
                    pass

    async def _flush_throttled(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            now = time.time()
            for k, (venue, ev) in list(self._pending.items()):
                if now - self._last_sent.get(k, 0.0) >= venue.THROTTLE_S:
                    del self._pending[k]
                    self._last_sent[k] = now
                    await self._send(venue, ev, now)

    async def disconnect_all(self, code: int = 1006) -> None:
        """Fault: drop every client abruptly."""
        for ws in list(self.clients):
            ws.transport.abort() if code == 1006 else await ws.close(code)
