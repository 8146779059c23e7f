"""One websocket connection of a venue: subscribe, read every frame into a shared queue, send the keepalive."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from types import ModuleType

import websockets
from websockets.exceptions import WebSocketException

log = logging.getLogger(__name__)

Item = tuple[int, str | bytes]


class Link:
    """Frames from several links (old and new during a rotation) merge into one bounded queue, in arrival order.

    `last_rx` is the liveness clock: every frame (data, acks, pongs) moves it, protocol pings cannot
    (the websockets library answers them below us). `has_data` turns true on the first frame the venue
    parser turns into events, which is what a make-before-break rotation waits for.

    Two optional venue hooks, generic: `HEADERS` (sent with the handshake, e.g. Gate's decimal sizes)
    and `reply(frame) -> str | None`, the answer a frame demands (Deribit's heartbeat `test_request`
    must be answered with `public/test`), sent before the frame is queued.
    """

    def __init__(self, n: int, venue: ModuleType, url: str, out: asyncio.Queue[Item],
                 clock: Callable[[], int], wake: asyncio.Event) -> None:
        self.n = n
        self.venue = venue
        self.url = url
        self.out = out
        self.clock = clock
        self.wake = wake
        self.opened = time.monotonic()
        self.last_rx = self.opened
        self.frames = 0
        self.has_data = False
        self.ended = False
        self._ws: websockets.ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self, subscribe: list[str], keepalive: tuple[str, float] | None) -> None:
        self._ws = await websockets.connect(self.url, open_timeout=10, close_timeout=1, ping_interval=20,
                                            ping_timeout=20, max_size=2**23, max_queue=4096,
                                            additional_headers=getattr(self.venue, "HEADERS", None))
        self.opened = self.last_rx = time.monotonic()
        # A venue that limits subscribe messages per second (dYdX: 2) gets the first at once (the price
        # market, so liveness starts) and the rest paced in the background.
        pace = getattr(self.venue, "SUBSCRIBE_INTERVAL_S", 0.0)
        now, later = (subscribe[:1], subscribe[1:]) if pace else (subscribe, [])
        for msg in now:
            await self._ws.send(msg)
        self._tasks = [asyncio.create_task(self._read())]
        if later:
            self._tasks.append(asyncio.create_task(self._send_paced(later, pace)))
        if keepalive:
            self._tasks.append(asyncio.create_task(self._keepalive(*keepalive)))

    async def _read(self) -> None:
        assert self._ws is not None
        reply = getattr(self.venue, "reply", None)  # venues that must answer the server (Deribit test_request)
        try:
            async for frame in self._ws:
                ts = self.clock()
                self.last_rx = time.monotonic()
                self.frames += 1
                answer = reply(frame) if reply is not None else None
                if answer is not None:
                    await self._ws.send(answer)
                if not self.has_data and self._is_data(frame):
                    self.has_data = True
                    self.wake.set()
                await self.out.put((ts, frame))  # a full queue stops reading: TCP pushes back on the venue
                self.last_rx = time.monotonic()
        except (OSError, WebSocketException) as exc:
            log.warning("%s: link #%d lost: %s", self.venue.NAME, self.n, exc or type(exc).__name__)
        else:
            log.info("%s: link #%d closed (%s)", self.venue.NAME, self.n, self._ws.close_reason or self._ws.close_code)
        finally:
            self.ended = True
            self.wake.set()

    def _is_data(self, frame: str | bytes) -> bool:
        try:
            return bool(self.venue.parse(frame, 0))
        except Exception:  # bad frames, notices: not data; the runner deals with them
            return False

    async def _send_paced(self, messages: list[str], interval: float) -> None:
        assert self._ws is not None
        for msg in messages:
            await asyncio.sleep(interval)
            try:
                await self._ws.send(msg)
            except WebSocketException:
                return

    async def _keepalive(self, message: str, interval: float) -> None:
        """Venue application ping (Bybit {"op":"ping"}, OKX "ping", Hyperliquid {"method":"ping"})."""
        assert self._ws is not None
        while True:
            await asyncio.sleep(interval)
            try:
                await self._ws.send(message)
            except WebSocketException:
                return

    def close(self, after_s: float = 0.0) -> None:
        """Close gracefully (after `after_s`); frames that arrive before the close completes are still read."""
        asyncio.get_running_loop().call_later(after_s, lambda: asyncio.ensure_future(self._close()))

    async def _close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def abort(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            self._ws.transport.abort()
        self.ended = True
