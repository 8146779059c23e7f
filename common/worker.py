"""The process skeleton every synchronous stage uses: hooks around one poll loop.

Subclasses create sockets in `on_start`, register inputs with `add_input`, react in their input
handlers, do periodic work in `on_tick`, ask for an earlier wakeup with `wake_at` (served by
`on_wakeup`), and flush in `on_stop`. `run()` returns the exit code.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from common import curve, metrics
from common.config import Config
from common.lifecycle import StopFlag
from common.logs import RateLimitedLog, clip
from common.sockets import make_socket, send_frames
from common.wire import GapCounter, SeqStamper, WireError, decode, decode_head

log = logging.getLogger(__name__)

Handler = Callable[[bytes, list[Any], int], None]

DRAIN_MAX = 512  # messages taken from one socket per wakeup: amortizes the ~0.1 ms wakeup cost
STOP_DRAIN_S = 1.0  # on stop, consume what is already queued (at most this long) so nothing buffered is lost


class Worker:
    """Base for analytics, signals and publisher processes."""

    name = "worker"

    def __init__(self, cfg: Config, stop: StopFlag | None = None, clock: Callable[[], int] = time.time_ns):
        self.cfg = cfg
        self.stop = stop or StopFlag()
        self.clock = clock
        self.ctx: zmq.Context | None = None
        self.poller = zmq.Poller()
        self._inputs: dict[zmq.Socket, Handler] = {}
        self._sockets: list[zmq.Socket] = []
        # One series per process: a batch fanned out to several sockets carries the same number on each.
        self.stamper = SeqStamper(self.name)
        self.gaps = GapCounter(self.name)
        self.bad_frames = 0
        self.bad_rows = 0  # well-framed rows that failed validation (common.validate): dropped, counted
        self.dropped = 0
        self.warn = RateLimitedLog(log)
        self.msgs_in = self.events_in = self.events_out = 0  # for common.metrics, read on tick
        self.tick_s = cfg.pipeline.heartbeat_s
        self._wake_at: float | None = None  # time.monotonic() of the earliest requested on_wakeup
        self.raw_body = b""  # body frame of the message being handled: relays forward it as it is
        # (b"" when rows of it were dropped: a relay must then re-encode what it kept)
        # Topics this worker ignores (gap-checked on the header only, the body never decoded).
        self.skip_prefix: bytes | None = None

    # -- hooks ---------------------------------------------------------------------------------
    def on_start(self) -> None:
        """Create sockets (self.socket) and register inputs (self.add_input)."""

    def on_tick(self, now_ns: int) -> None:
        """Periodic work: heartbeats, expiries, periodic snapshots."""

    def on_drained(self, now_ns: int) -> None:
        """Called after each poll round that received anything: per-batch work (flushes, snapshots)."""

    def on_wakeup(self, now_ns: int) -> None:
        """Called once the deadline given to `wake_at` has passed (deferred work that is now due)."""

    def on_stop(self) -> None:
        """Flush whatever is buffered; sockets are closed afterwards by the base."""

    # -- helpers for subclasses ----------------------------------------------------------------
    def socket(self, kind: int, endpoint: str, *, bind: bool, subscribe: tuple[bytes, ...] = ()) -> zmq.Socket:
        assert self.ctx is not None
        sock = make_socket(self.ctx, kind, endpoint, bind=bind, hwm=self.cfg.pipeline.hwm, subscribe=subscribe,
                           max_msg_bytes=self.cfg.pipeline.max_message_bytes, security=self.cfg.security)
        self._sockets.append(sock)
        return sock

    def wake_at(self, monotonic_s: float) -> None:
        """Have `on_wakeup` called at `monotonic_s` (time.monotonic()), or at an earlier pending request.

        The poll timeout honors it (to the next millisecond), so deferred work does not wait for a tick."""
        if self._wake_at is None or monotonic_s < self._wake_at:
            self._wake_at = monotonic_s

    def add_input(self, sock: zmq.Socket, handler: Handler) -> None:
        self._inputs[sock] = handler
        self.poller.register(sock, zmq.POLLIN)

    def send(self, sock: zmq.Socket, topic: bytes, msgs: list[Any], *, block: bool = True) -> bool:
        """Send a batch. block=False for sinks that must never stall this process: a full peer
        queue drops the batch, counts it in `self.dropped` and returns False (the receiver also sees
        the sequence gap)."""
        if not msgs:
            return True
        try:
            send_frames(sock, self.stamper.stamp(topic, msgs), 0 if block else zmq.NOBLOCK)
            self.events_out += len(msgs)
            return True
        except zmq.Again:
            self.dropped += len(msgs)
            if self.dropped == len(msgs) or self.dropped % 1000 < len(msgs):
                log.warning("%s: downstream full, %d message(s) dropped so far", self.name, self.dropped)
            return False

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            self.stop.install()  # a process: SIGTERM/SIGINT set the flag (threads in tests set it directly)
            metrics.init(self.cfg.pipeline.ipc_dir, self.name)
        self.ctx = zmq.Context()
        try:
            curve.start_authenticator(self.ctx, self.cfg.security)  # before any CURVE server socket binds
            self.on_start()
            log.info("%s: started", self.name)
            self._loop()
            self._drain_on_stop()
            self.on_stop()
            metrics.worker(self)  # the counts since the last tick
            log.info("%s: stopping (%s); %d gap(s), %d bad frame(s), %d invalid row(s)", self.name,
                     self.stop.signal_name or "requested", self.gaps.gaps, self.bad_frames, self.bad_rows)
            return 0
        except Exception:
            log.exception("%s: fatal error", self.name)
            return 1
        finally:
            for sock in self._sockets:
                sock.close()
            refused = curve.stop_authenticator(self.ctx)
            if refused:
                log.info("%s: curve refused %d client connection(s)", self.name, refused)
            self.ctx.term()

    def _loop(self) -> None:
        next_tick = time.monotonic() + self.tick_s
        while not self.stop.is_set():
            due = next_tick if self._wake_at is None else min(next_tick, self._wake_at)
            timeout_ms = math.ceil(max(0.0, min(due - time.monotonic(), 0.2)) * 1000)  # never spin
            self._poll_once(timeout_ms)
            now = time.monotonic()
            if self._wake_at is not None and now >= self._wake_at:
                self._wake_at = None  # on_wakeup may ask again
                self.on_wakeup(self.clock())
            if now >= next_tick:
                next_tick = now + self.tick_s
                self.on_tick(self.clock())
                metrics.worker(self)

    def _poll_once(self, timeout_ms: float) -> int:
        handled = 0
        for sock, _ in self.poller.poll(timeout_ms):
            handled += self._drain(sock)
        if handled:
            self.on_drained(self.clock())
        return handled

    def _drain(self, sock: zmq.Socket) -> int:
        handler = self._inputs[sock]
        n = 0
        while n < DRAIN_MAX:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            n += 1
            if self.skip_prefix is not None and frames[0].startswith(self.skip_prefix):
                self._skip(frames)
                continue
            rejected: list[str] = []
            try:
                topic, sender, seq, msgs = decode(frames, rejected)
            except WireError as exc:
                self.bad_frames += 1
                self.warn.warning("frame", "%s: dropped bad frame #%d: %s", self.name, self.bad_frames, exc)
                continue
            self.gaps.check(sender, topic, seq)
            self.msgs_in += 1
            self.events_in += len(msgs)
            self.raw_body = frames[2]
            if rejected:
                self.bad_rows += len(rejected)
                self.warn.warning("row", "%s: dropped %d invalid row(s) from %s on %s (%d so far), e.g. %s",
                                  self.name, len(rejected), clip(sender, 64), clip(topic, 64), self.bad_rows,
                                  rejected[0])
                self.raw_body = b""
                if not msgs:
                    continue
            handler(topic, msgs, self.clock())
        return n

    def _skip(self, frames: list[bytes]) -> None:
        try:
            topic, sender, seq = decode_head(frames)
        except WireError as exc:
            self.bad_frames += 1
            log.warning("%s: dropped bad frame: %s", self.name, exc)
            return
        self.gaps.check(sender, topic, seq)

    def _drain_on_stop(self) -> None:
        """Consume what upstream already sent (until quiet for 20 ms), so a stop loses nothing queued.

        A live upstream that keeps sending does not hold us past STOP_DRAIN_S: what it sends later is
        covered by its own flush and linger, not by waiting here.
        """
        deadline = time.monotonic() + STOP_DRAIN_S
        while time.monotonic() < deadline and self._poll_once(20):
            pass
