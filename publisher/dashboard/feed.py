"""The ZMQ side: a SUB on the signals process's PUB feeding the state, and the SSE fan-out to browsers."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import orjson
import zmq
import zmq.asyncio

from common import metrics, topics
from common.config import Config
from common.sockets import make_socket
from common.wire import GapCounter, WireError, decode
from publisher.dashboard.state import DashboardState

log = logging.getLogger(__name__)

CLIENT_QUEUE = 32  # SSE messages buffered per browser; a browser that falls this far behind is dropped
DRAIN_MAX = 512


def subscriptions(cfg: Config) -> tuple[bytes, ...]:
    return (topics.LIQ + b".", topics.SIGNAL + b".", topics.STATUS + b".", topics.REGIME,
            topics.price(cfg.ingest.price_symbol))


class Feed:
    """Owns the SUB socket and the browsers' queues; both tasks run on the server's event loop."""

    def __init__(self, cfg: Config, state: DashboardState, clock: Callable[[], int] = time.time_ns) -> None:
        self.cfg = cfg
        self.state = state
        self.clock = clock
        self.clients: set[asyncio.Queue[bytes | None]] = set()
        self.gaps = GapCounter("dashboard")
        self.received = 0
        self.bad_frames = 0
        self._ctx: zmq.asyncio.Context | None = None
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self._ctx = zmq.asyncio.Context()
        sock = make_socket(self._ctx, zmq.SUB, self.cfg.endpoint("pub"), bind=False, hwm=self.cfg.pipeline.hwm,
                           subscribe=subscriptions(self.cfg), security=self.cfg.security)
        self._tasks = [asyncio.create_task(self._receive(sock)), asyncio.create_task(self._push())]
        log.info("dashboard: subscribed to %s", self.cfg.endpoint("pub"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for q in list(self.clients):
            self._offer(q, None)  # ends each open /events stream
        if self._ctx is not None:
            self._ctx.destroy(linger=0)

    async def _receive(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            frames = await sock.recv_multipart()
            self._handle(frames)
            for _ in range(DRAIN_MAX):  # take what is already queued before yielding to the web side
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK).result()
                except zmq.Again:
                    break
                self._handle(frames)

    def _handle(self, frames: list[bytes]) -> None:
        try:
            topic, sender, seq, msgs = decode(frames)
        except WireError as exc:
            self.bad_frames += 1
            log.warning("dashboard: dropped bad frame: %s", exc)
            return
        self.gaps.check(sender, topic, seq)
        self.received += 1
        self.state.apply(topic, msgs, self.clock())

    async def _push(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.dashboard.push_every_s)
            delta = self.state.take_delta(self.clock())
            if self.clients:
                body = sse("delta", delta)
                for q in list(self.clients):
                    self._offer(q, body)
            metrics.dashboard_clients(len(self.clients))
            metrics.heartbeat("dashboard")

    def _offer(self, q: asyncio.Queue[bytes | None], body: bytes | None) -> None:
        try:
            q.put_nowait(body)
        except asyncio.QueueFull:  # a stalled browser: drop it rather than buffer without bound
            self.clients.discard(q)
            log.info("dashboard: dropped a browser that fell %d updates behind", CLIENT_QUEUE)

    def subscribe(self) -> asyncio.Queue[bytes | None]:
        q: asyncio.Queue[bytes | None] = asyncio.Queue(CLIENT_QUEUE)
        q.put_nowait(sse("state", self.state.snapshot(self.clock())))
        self.clients.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[bytes | None]) -> None:
        self.clients.discard(q)


def sse(event: str, data: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS) + b"\n\n"
