"""The ingester process: one venue's connection -> parse -> route -> PUSH to analytics shards."""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import ModuleType

import click
import zmq
import zmq.asyncio

from common import metrics, topics
from common.columns import LiquidationBatch, joined
from common.config import Config, get_config
from common.schema import FeedStatus, Liquidation, MarketContext
from common.sockets import make_socket, send_frames
from common.wire import COLUMNS_MIN, SeqStamper
from ingest import exchanges
from ingest.binance_oi import OpenInterestPoller
from ingest.connection import Connection
from ingest.dedupe import Deduper
from ingest.exchanges import hyperliquid_node
from ingest.exchanges.base import ReconnectRequested
from ingest.frames import FrameParser
from ingest.node_tail import FileTailer
from ingest.router import Router
from ingest.state_line import state_line
from ingest.venue_setup import prepare

log = logging.getLogger(__name__)

STOP_FLUSH_S = 2.0
# The tape reaches the signal generator (and the PUB's readers) at most this much later than the shards:
# one message per shard topic and linger instead of one per flush, so at 1,000 events/s signals wakes
# ~50 times a second for the tape instead of ~1,000 (a wakeup costs ~0.1 ms on a loaded 2-core machine).
TAPE_LINGER_S = 0.02


class Ingester:
    """Same skeleton as common.worker.Worker (flag-only signal handlers, flush and close on stop), on asyncio."""

    def __init__(self, cfg: Config, venue: ModuleType, clock: Callable[[], int] = time.time_ns,
                 connection: Connection | None = None) -> None:
        self.cfg = cfg
        self.venue = venue
        self.name = f"ingest.{venue.NAME}"
        self.clock = clock
        self.conn = connection or Connection(venue, cfg, clock)
        self.dedupe = Deduper(name=self.name)
        self.router = Router(cfg.pipeline.shards, cfg.ingest.symbols, cfg.ingest.price_symbol,
                             tape=cfg.ingest.liquidation_tape, context_every_s=cfg.ingest.context_every_s)
        self.oi_poller = None  # Binance streams no open interest: it is polled over REST (ingest.binance_oi)
        if venue.NAME == "binance":
            self.oi_poller = OpenInterestPoller(cfg.ingest.urls.get("binance", venue.URL), cfg.ingest.symbols,
                                                cfg.ingest.binance_oi_every_s, clock, self._add)
        self.parser = FrameParser(self.name, venue.parse, cfg.ingest.ts_past_s, cfg.ingest.ts_future_s)
        self.events = 0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = threading.Event()
        self._wake: asyncio.Event | None = None
        # shard topic -> tape batches not yet sent to signals (columns or rows, as they went to the shard)
        self._tape: dict[bytes, list[Sequence[Liquidation]]] = {}
        self._tape_held: asyncio.Event | None = None

    @property
    def bad_frames(self) -> int:
        return self.parser.bad

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):  # until the loop installs its own: flag only
                signal.signal(sig, lambda *_: self._stop_requested.set())
            metrics.init(self.cfg.pipeline.ipc_dir, self.name)
        try:
            prepare(self.venue, self.cfg)
            return asyncio.run(self._main())
        except Exception:
            log.exception("%s: fatal error", self.name)
            return 1

    def request_stop(self) -> None:
        """Thread-safe stop (tests run the ingester in a thread; in production the signal handler stops it)."""
        self._stop_requested.set()  # seen by _main if it has not started its loop yet
        if self._stop is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def _main(self) -> int:
        loop = self._loop = asyncio.get_running_loop()
        self._stop, self._wake, self._tape_held = asyncio.Event(), asyncio.Event(), asyncio.Event()
        if self._stop_requested.is_set():  # stop asked for during startup (venue setup, imports)
            self._stop.set()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._stop.set)  # only sets the flag
            except (RuntimeError, ValueError):  # not the main thread (tests run us in a thread)
                pass
        ctx = zmq.asyncio.Context()
        hwm = self.cfg.pipeline.hwm
        sec = self.cfg.security  # CURVE client keys for tcp:// endpoints
        shard_socks = [make_socket(ctx, zmq.PUSH, self.cfg.endpoint("analytics", k), bind=False, hwm=hwm,
                                   security=sec) for k in range(self.cfg.pipeline.shards)]
        signals_sock = make_socket(ctx, zmq.PUSH, self.cfg.endpoint("signals"), bind=False, hwm=hwm, security=sec)
        self._outs = {None: _Sender(signals_sock), **{k: _Sender(sock) for k, sock in enumerate(shard_socks)}}
        # Sequence numbers count per destination socket, so each receiver sees an unbroken series.
        self._stampers = {dest: SeqStamper(self.name) for dest in self._outs}
        # Liquidation batches to the shards have their own series (the tape to signals goes through _stampers).
        self._liq_stamper = SeqStamper(self.name)
        tasks = [asyncio.create_task(self._read(), name="reader"), asyncio.create_task(self._flusher(), name="flusher"),
                 asyncio.create_task(self._heartbeat(), name="heartbeat"),
                 asyncio.create_task(self._tape_flusher(), name="tape flusher")]
        if self.oi_poller is not None:
            tasks.append(asyncio.create_task(self.oi_poller.run(), name="open-interest poller"))
        log.info("%s: started, %d shard(s), symbols=%s", self.name, len(shard_socks),
                 ",".join(self.cfg.ingest.symbols) or "all")
        rc = 0
        try:
            rc = await self._until_stop_or_death(tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await asyncio.wait_for(self._flush(final=True), STOP_FLUSH_S)
            except TimeoutError:
                log.warning("%s: downstream did not take the last batch within %.0f s", self.name, STOP_FLUSH_S)
            except Exception:  # a dying flusher must not also lose the exit code and the summary
                log.exception("%s: last flush failed", self.name)
            for out in self._outs.values():
                out.sock.close()
            ctx.term()
        st = self.conn.state
        log.info("%s: stopped; %d events, %d bad frames, %d exchange times replaced, %d duplicates dropped, "
                 "%d connection attempts, %d failed, %d reconnects", self.name, self.events, self.bad_frames,
                 self.parser.ts_clamped, self.dedupe.dropped, st.attempts, st.failures, st.reconnects)
        return rc

    async def _until_stop_or_death(self, tasks: list[asyncio.Task[None]]) -> int:
        """0 on a stop request; 1 as soon as any task ends on its own, so the supervisor restarts the process
        rather than a live-looking ingester whose reader or flusher is gone."""
        assert self._stop is not None
        stop = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        dead = [t for t in tasks if t in done]
        for t in dead:
            exc = None if t.cancelled() else t.exception()
            log.critical("%s: %s task ended (%s); exiting so the supervisor restarts the ingester", self.name,
                         t.get_name(), f"{type(exc).__name__}: {exc}" if exc else "returned", exc_info=exc)
        return 1 if dead else 0

    async def _read(self) -> None:
        batch_max = self.cfg.ingest.batch_max
        async for ts, frame in self.conn.frames():
            try:
                events = self.parser.parse(frame, ts)
            except ReconnectRequested as exc:
                self.conn.reconnect(str(exc) or "venue notice")
                continue
            events = self.dedupe.filter(events)
            if events and self.router.add(events):
                self._wake.set()
                if self.router.pending >= batch_max:
                    await self._flush()  # backpressure: a full downstream slows the reader

    def _add(self, events: list[MarketContext]) -> None:
        """What the open-interest poller found: routed like parsed events (same loop, no lock needed)."""
        if self.router.add(events) and self._wake is not None:
            self._wake.set()

    async def _flusher(self) -> None:
        """Runs when the reader yields: everything parsed since the last flush goes out as one batch."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self, final: bool = False) -> None:
        for dest, topic, batch, tape in self.router.take(self.clock()):
            if dest is None or type(batch) is list and type(batch[0]) is MarketContext:  # prices; context to its shard
                await self._outs[dest].send(self._stampers[dest].stamp(topic, batch))
                continue
            self.events += len(batch)
            if tape and len(batch) >= COLUMNS_MIN:  # columns built once for both sends (the shard's and the tape's)
                batch = LiquidationBatch.of(batch)
            await self._outs[dest].send(self._liq_stamper.stamp(topic, batch))
            if tape:
                held = self._tape.get(topic)
                if held is None:
                    self._tape[topic] = [batch]
                    self._tape_held.set()
                else:
                    held.append(batch)
        if final:
            await self._send_tape()
            await self._send_status(connected=False)

    async def _tape_flusher(self) -> None:
        """The tape rows held since the first of them, TAPE_LINGER_S later, one message per shard topic."""
        while True:
            await self._tape_held.wait()
            await asyncio.sleep(TAPE_LINGER_S)
            self._tape_held.clear()
            await self._send_tape()

    async def _send_tape(self) -> None:
        while self._tape:  # a topic leaves only once sent: a stop that cancels a send leaves it to the last flush
            topic, parts = next(iter(self._tape.items()))
            await self._outs[None].send(self._stampers[None].stamp(topic, joined(parts)))
            del self._tape[topic]

    async def _heartbeat(self) -> None:
        every = self.cfg.ingest.state_log_s
        next_line = time.monotonic() + every
        while True:
            await asyncio.sleep(self.cfg.pipeline.heartbeat_s)
            await self._send_status(self.conn.state.connected)
            if self.router.context.pending:  # a context held back by the coalescer goes out without a new frame
                self._wake.set()
            if every > 0 and time.monotonic() >= next_line:
                next_line = time.monotonic() + every
                log.info("%s", state_line(self.venue.NAME, self.conn.state, self.events, self.bad_frames,
                                          self.parser.ts_clamped))
            metrics.feed(self.status(self.conn.state.connected), self.router.pending)

    def status(self, connected: bool) -> FeedStatus:
        st = self.conn.state
        comp = self.venue.COMPLETENESS
        return FeedStatus(self.venue.NAME, connected, comp == "throttled", st.reconnects, st.frames,
                          self.bad_frames, self.events, st.last_frame_ns, self.clock(),
                          st.attempts, st.failures, self.parser.ts_clamped, comp)

    async def _send_status(self, connected: bool) -> None:
        msg = [self.status(connected)]
        topic = topics.status(self.venue.NAME)
        for dest, out in self._outs.items():
            await out.send(self._stampers[dest].stamp(topic, msg))


class _Sender:
    """An asyncio PUSH socket whose sends go out at once while its peer has room, without a future.

    zmq.asyncio's send_multipart builds a future and its bookkeeping for every message (~5 µs of ~14 µs a
    send took here, 1,000+ times a second at 1,000 events/s). A send goes out synchronously (NOBLOCK,
    `send_frames`) unless the queue is full or an earlier send still waits: then it waits in zmq.asyncio's
    queue, behind that one, so the order per socket is kept and a full shard still slows the reader.
    """

    def __init__(self, sock: zmq.asyncio.Socket) -> None:
        self.sock = sock
        self._now = zmq.Socket.shadow(sock.underlying)  # the same socket, synchronous (owned by `sock`)
        self._waiting = 0  # sends of this socket in zmq.asyncio's queue

    async def send(self, frames: list[bytes]) -> None:
        if not self._waiting:
            try:
                send_frames(self._now, frames, zmq.NOBLOCK)
                return
            except zmq.Again:
                pass
        self._waiting += 1
        try:
            await self.sock.send_multipart(frames, copy=False)
        finally:
            self._waiting -= 1


@click.command("ingest")
@click.argument("exchange", type=click.Choice(sorted(exchanges.EXCHANGES)))
@click.option("--url", default=None, help="Base URL override (e.g. the local simulator).")
@click.option("--shards", type=int, default=None, help="Number of analytics shards to route to.")
@click.option("--symbols", default=None, help="Comma-separated canonical symbols (also $TRACKED_SYMBOLS).")
@click.option("--fills-dir", default=None, type=click.Path(file_okay=False),
              help="hyperliquid only: tail a non-validating node's --write-fills directory (the complete tape).")
@click.pass_context
def command(ctx: click.Context, exchange: str, url: str | None, shards: int | None, symbols: str | None,
            fills_dir: str | None) -> None:
    """Connect to one EXCHANGE and feed its liquidations into the pipeline."""

    over = {"pipeline": {"shards": shards}, "ingest": {"symbols": symbols, "hyperliquid_fills_dir": fills_dir}}
    if url:
        over["ingest"]["urls"] = {exchange: url}
    cfg = get_config(ctx, over, process=f"ingest-{exchange}")
    if exchange == "hyperliquid" and cfg.ingest.hyperliquid_fills_dir:

        tailer = FileTailer(cfg.ingest.hyperliquid_fills_dir)
        sys.exit(Ingester(cfg, hyperliquid_node, connection=tailer).run())
    if fills_dir:
        raise click.UsageError("--fills-dir applies to hyperliquid only")
    sys.exit(Ingester(cfg, exchanges.get(exchange)).run())
