"""The simulator server: plays a timeline to every connected client in its venue's protocol, faults on demand."""
from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
from collections import Counter, deque
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from liqcascade.sim.faults import FaultInjection
from liqcascade.sim.schedule import paced
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation

log = logging.getLogger(__name__)

TICK_S = 0.01  # housekeeping period: batches, throttled snapshots, ping limits, connection age
SNDBUF = 128 * 1024  # per-connection kernel send buffer
Stamped = list[tuple[SimLiquidation, int]]  # the liquidations a frame carries, with their ms stamp


@dataclass(frozen=True, slots=True)
class Delivery:
    """A liquidation written to one client (recorded with `record=True`, for tests)."""

    venue: str
    client: int
    event: SimLiquidation
    ts_ms: int


@dataclass(eq=False)
class Client:
    """One connection: its protocol session and a bounded outgoing queue drained by its own writer task."""

    id: int
    ws: ServerConnection
    venue: ModuleType
    session: Session
    queue: asyncio.Queue[tuple[str | bytes, Stamped]]
    opened: float
    last_heard: float
    stalled_until: float = 0.0
    dead: bool = False
    replayed: set[int] = field(default_factory=set)


class SimServer(FaultInjection):
    """Serves every venue protocol module in `venues` on one port, routed by URL path.

    `speed` > 1 plays the timeline faster than real time; events are stamped with the wall clock when
    sent. `throttle` reproduces the 1/symbol/s snapshotting of Binance and OKX; venues with a
    `batch_window` (Bybit allLiquidation) merge a window's items into one frame. Each client has a
    bounded queue (`client_queue`): a client that cannot keep up is disconnected, never waited for,
    so one slow reader neither stalls the others nor grows memory. Faults are methods (`stall`,
    `send_garbage`, ...), see `liqcascade.sim.faults` for the CLI spec.
    """

    def __init__(self, venues: list[ModuleType], timeline: Iterator[tuple[float, SimEvent]], *,
                 speed: float = 1.0, throttle: bool = True, ping_interval: float | None = 180.0,
                 client_queue: int = 1000, max_age_s: float | None = None, enforce_pings: bool = True,
                 replay: int = 0, record: bool = False) -> None:
        self.venues = sorted(venues, key=lambda v: not hasattr(v, "PATH"))  # exact paths before prefixes
        self.timeline = timeline
        self.speed = speed
        self.throttle = throttle
        self.ping_interval = ping_interval
        self.client_queue = client_queue
        self.max_age_s = max_age_s
        self.ping_limits: dict[str, float | None] = {
            v.NAME: getattr(v, "PING_LIMIT_S", None) if enforce_pings else None for v in venues}
        self.replay = replay
        self.record = record
        self.clients: dict[ServerConnection, Client] = {}
        self.connects: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()
        self.deliveries: list[Delivery] = []
        self.contexts: dict[str, SimContext] = {}  # latest context per symbol: what REST endpoints answer from
        self.max_depth = 0
        self.sent_events = 0
        self.done = asyncio.Event()
        self._backlog: dict[str, deque[tuple[str, Any, Stamped]]] = {v.NAME: deque(maxlen=1000) for v in venues}
        self._batches: dict[tuple[str, str], tuple[ModuleType, float, list[Any], Stamped]] = {}
        self._last_sent: dict[tuple[str, str], float] = {}
        self._pending: dict[tuple[str, str], tuple[ModuleType, SimEvent]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await serve(self._handle, host, port, ping_interval=self.ping_interval,
                                   compression=None, max_queue=64, process_request=self._http)
        self._spawn(self._housekeep())
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def finish(self, timeout_s: float = 5.0) -> None:
        """At the end of the timeline: deliver what is still batched or throttled now, then wait (at most
        `timeout_s`) until every live client's queue is written out, so a finite replay sends everything."""
        for k, (venue, _due, payloads, stamped) in list(self._batches.items()):
            del self._batches[k]
            self._deliver(venue, k[1], venue.merge(payloads), stamped)
        for k, (venue, ev) in list(self._pending.items()):
            del self._pending[k]
            self._send(venue, ev, time.time())
        try:
            await asyncio.wait_for(asyncio.gather(*(c.queue.join() for c in self._targets(None))), timeout_s)
        except TimeoutError:
            log.warning("sim: client queues not written out within %.0f s of the end", timeout_s)

    def subscribed(self, venue: str) -> int:
        """Live clients of `venue` that have subscribed to something (what tests wait for)."""
        return sum(1 for c in self._targets(venue) if c.session.streams)

    # ---- connections -------------------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else "/"
        for venue in self.venues:
            session = venue.open_session(path)
            if session is not None:
                break
        else:
            await ws.close(1008, "unknown path")
            return
        if hasattr(venue, "on_headers") and ws.request is not None:  # e.g. Gate's X-Gate-Size-Decimal
            venue.on_headers(session, ws.request.headers)
        sock = ws.transport.get_extra_info("socket")
        if sock is not None:  # bound kernel buffering too, so a slow reader shows up in its queue
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        now = time.monotonic()
        session.recent = self._backlog[venue.NAME]
        c = Client(next(self._ids), ws, venue, session, asyncio.Queue(self.client_queue), now, now)
        self.clients[ws] = c
        self.connects[venue.NAME] += 1
        log.info("sim: %s client #%d connected on %s", venue.NAME, c.id, path)
        writer = asyncio.create_task(self._write(c))
        if getattr(venue, "GREETING", None):
            self._offer(c, venue.GREETING)
        self._replay(c)
        try:
            async for text in ws:
                c.last_heard = time.monotonic()
                for reply in venue.on_client_message(session, text):
                    # (text, stamped): a subscribe reply replaying recent liquidations (dYdX, Lighter)
                    self._offer(c, *reply) if isinstance(reply, tuple) else self._offer(c, reply)
                self._replay(c)
        except ConnectionClosed:
            pass
        finally:
            c.dead = True
            self.clients.pop(ws, None)
            writer.cancel()

    def _http(self, conn: ServerConnection, request: Request) -> Response | None:
        """Plain HTTP GETs on the websocket port: a venue's REST endpoint (Binance open interest) when one
        answers the path; None lets the websocket handshake go on."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        for venue in self.venues:
            reply = getattr(venue, "open_interest_reply", None)
            got = reply(request.path, self.contexts, int(time.time() * 1000)) if reply else None
            if got is not None:
                self.stats["http_requests"] += 1
                resp = conn.respond(got[0], got[1])
                resp.headers["Content-Type"] = "application/json"
                return resp
        return None

    async def _write(self, c: Client) -> None:
        try:
            while True:
                text, stamped = await c.queue.get()
                await c.ws.send(text)
                c.queue.task_done()
                if stamped and self.record:
                    self.deliveries.extend(Delivery(c.venue.NAME, c.id, ev, ts) for ev, ts in stamped)
        except ConnectionClosed:
            pass

    def _offer(self, c: Client, text: str | bytes, stamped: Stamped | None = None) -> None:
        if c.dead:
            return
        if c.stalled_until > time.monotonic():  # a stalled server sends nothing, not even pongs
            self.stats["stalled_drops"] += 1
            return
        try:
            c.queue.put_nowait((text, stamped or []))
        except asyncio.QueueFull:
            self.stats["slow_disconnects"] += 1
            log.warning("sim: %s client #%d reads too slowly (%d frames queued); disconnecting it",
                        c.venue.NAME, c.id, c.queue.qsize())
            self._kill(c)
            return
        self.max_depth = max(self.max_depth, c.queue.qsize())

    def _kill(self, c: Client, close: tuple[int, str] | None = None) -> None:
        c.dead = True
        if close is None:
            c.ws.transport.abort()
        else:
            self._spawn(c.ws.close(*close))

    def _targets(self, venue: str | None) -> list[Client]:
        return [c for c in self.clients.values() if not c.dead and venue in (None, c.venue.NAME)]

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- playing -----------------------------------------------------------------------------------------

    async def play(self) -> None:
        """Play the timeline, scaled by `speed`; events due within a moment are sent back to back (`paced`)."""
        try:
            async for ev in paced(((offset / self.speed, ev) for offset, ev in self.timeline), time.monotonic()):
                self.broadcast_now(ev)
        finally:
            self.done.set()

    async def broadcast(self, ev: SimEvent) -> None:  # what tests await; play() calls broadcast_now
        self.broadcast_now(ev)

    def broadcast_now(self, ev: SimEvent) -> None:
        """Send (or batch, or throttle) one event to every venue that reports it."""
        now = time.time()
        if isinstance(ev, SimContext):
            self.contexts[ev.symbol] = ev
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
            self._send(venue, ev, now)

    def _send(self, venue: ModuleType, ev: SimEvent, now: float) -> None:
        ts_ms = int(now * 1000)
        encoded = venue.encode(ev, ts_ms)
        if encoded is None:
            return
        key, payload = encoded
        self.sent_events += 1
        stamped: Stamped = [(ev, ts_ms)] if isinstance(ev, SimLiquidation) else []
        window = venue.batch_window(key) if hasattr(venue, "batch_window") else 0.0
        if window > 0:
            batch = self._batches.get((venue.NAME, key))
            if batch is None:
                batch = self._batches[venue.NAME, key] = (venue, venue.batch_due(key, time.monotonic()), [], [])
            _, _, payloads, evs = batch
            payloads.append(payload)
            evs.extend(stamped)
            return
        self._deliver(venue, key, payload, stamped)

    def _deliver(self, venue: ModuleType, key: str, payload: Any, stamped: Stamped) -> None:
        if stamped:
            self._backlog[venue.NAME].append((key, payload, stamped))
        for c in self._targets(venue.NAME):
            text = venue.frame(c.session, key, payload)
            if isinstance(text, list):  # one event, several channel pushes (OKX context)
                for t in text:
                    self._offer(c, t, stamped)
            elif text is not None:
                self._offer(c, text, stamped)

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            mono, wall = time.monotonic(), time.time()
            for k, (venue, due, payloads, stamped) in list(self._batches.items()):
                if mono >= due:
                    del self._batches[k]
                    self._deliver(venue, k[1], venue.merge(payloads), stamped)
            for k, (venue, ev) in list(self._pending.items()):
                if wall - self._last_sent.get(k, 0.0) >= venue.THROTTLE_S:
                    del self._pending[k]
                    self._last_sent[k] = wall
                    self._send(venue, ev, wall)
            for c in self._targets(None):
                if hasattr(c.venue, "on_tick"):  # server-initiated messages (Deribit heartbeats); None: close
                    out = c.venue.on_tick(c.session, mono)
                    if out is None:
                        self.stats["heartbeat_disconnects"] += 1
                        self._kill(c, getattr(c.venue, "HEARTBEAT_CLOSE", (1000, "heartbeat timeout")))
                        continue
                    for text in out:
                        self._offer(c, text)
                limit = self.ping_limits.get(c.venue.NAME)
                if limit and mono - c.last_heard > limit:
                    self.stats["ping_disconnects"] += 1
                    log.info("sim: %s client #%d sent nothing for %.1f s; closing", c.venue.NAME, c.id, limit)
                    self._kill(c, getattr(c.venue, "PING_CLOSE", (1000, "ping timeout")))
                elif self.max_age_s and mono - c.opened > self.max_age_s:
                    self.stats["age_disconnects"] += 1
                    self._kill(c, (1001, "connection age limit"))
