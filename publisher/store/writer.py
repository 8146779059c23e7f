"""The store's writer: a bounded buffer in front of a backend, written in batches by one thread, retried with
backoff while the database is down, oldest rows dropped (and counted) past the bound."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from common.config import StoreConfig
from common.schema import Liquidation, Signal
from publisher.store import schema as s
from publisher.store.backend import Backend, StoreUnavailable

log = logging.getLogger(__name__)


class StoreWriter:
    """Takes messages from the receive loop (`add`, never blocks) and writes them off it.

    The buffer holds messages, converted to rows only when written, so the receive loop does no
    per-row work. Liquidations and signal level changes share the bound (`buffer`); past it the
    oldest are dropped and counted. A failed write puts its batch back in front, in order.
    """

    def __init__(self, backend: Backend, cfg: StoreConfig, *, source: str = "live",
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.cfg = cfg
        self.source = source
        self.monotonic = monotonic
        self._buf: deque[Any] = deque()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # the thread and a final stop() flush never write at once
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0  # liquidation rows inserted (new)
        self.duplicates = 0  # liquidation rows skipped on the dedupe key
        self.signals_written = 0
        self.dropped = 0  # messages dropped from a full buffer
        self.rejected = 0  # messages in batches the database refused (not a connection problem)
        self.failures = 0
        self.up: bool | None = None
        self._retry_at = 0.0
        self._delay = 0.1

    # -- producer side (the receive loop) -------------------------------------------------------
    def add(self, msgs: Iterable[Any]) -> None:
        with self._lock:
            self._buf.extend(msgs)
            over = len(self._buf) - self.cfg.buffer
            if over > 0:
                for _ in range(over):
                    self._buf.popleft()
                before = self.dropped
                self.dropped += over
                if before == 0 or before // 10_000 != self.dropped // 10_000:
                    log.warning("store: buffer full (%d), dropped %d oldest row(s) so far", self.cfg.buffer,
                                self.dropped)
        if len(self._buf) >= self.cfg.batch:
            self._wake.set()

    def pending(self) -> int:
        return len(self._buf)

    # -- writing -------------------------------------------------------------------------------
    def flush(self) -> int:
        """Write what the database takes now (whole buffer, in batches); returns messages written."""
        with self._flush_lock:
            return self._flush()

    def _flush(self) -> int:
        total = 0
        while self._buf and self._ready():
            with self._lock:
                batch = [self._buf.popleft() for _ in range(min(self.cfg.batch, len(self._buf)))]
            try:
                self._write(batch)
            except StoreUnavailable as exc:
                with self._lock:
                    self._buf.extendleft(reversed(batch))  # nothing accepted is lost on a failed write
                self._went_down(exc)
                break
            except Exception:
                self.rejected += len(batch)
                log.exception("store: %d row(s) refused by %s and dropped", len(batch), self.backend.where)
                continue
            if self.up is not True:
                log.info("store: writing to %s", self.backend.where)
            self.up = True
            self._delay = 0.1
            total += len(batch)
        return total

    def _write(self, batch: list[Any]) -> None:
        liqs = [s.liq_row(m, self.source) for m in batch if type(m) is Liquidation]
        sigs = [s.signal_row(m) for m in batch if type(m) is Signal]
        added, n_sig = self.backend.write_batch(liqs, sigs)
        self.written += added
        self.duplicates += len(liqs) - added
        self.signals_written += n_sig

    def _ready(self) -> bool:
        return self.up is not False or self.monotonic() >= self._retry_at

    def _went_down(self, exc: Exception) -> None:
        self.failures += 1
        if self.up is not False:
            log.warning("store: database unavailable (%s); buffering up to %d rows, retrying", exc, self.cfg.buffer)
        self.up = False
        self._retry_at = self.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.cfg.backoff_max_s)

    def retention(self, now_ns: int) -> None:
        if self.cfg.retention_days <= 0:
            return
        cutoff = now_ns - int(self.cfg.retention_days * s.DAY_NS)
        try:
            n = self.backend.delete_before(cutoff)
        except StoreUnavailable as exc:
            log.info("store: retention skipped, database unavailable (%s)", exc)
            return
        if n:
            log.info("store: retention removed %d liquidation row(s) older than %.0f days", n,
                     self.cfg.retention_days)

    # -- the writer thread ---------------------------------------------------------------------
    def start(self, retention_every_s: float = 3600.0) -> None:
        self._thread = threading.Thread(target=self._run, args=(retention_every_s,), name="store-writer",
                                        daemon=True)
        self._thread.start()

    def _run(self, retention_every_s: float) -> None:
        next_retention = self.monotonic()
        while not self._stop.is_set():
            if self.monotonic() >= next_retention:
                self.retention(time.time_ns())
                next_retention = self.monotonic() + retention_every_s
            self.flush()
            self._wake.wait(self.cfg.flush_s)
            self._wake.clear()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Stop the thread, then write what is left while the database takes it, for at most timeout_s."""
        deadline = self.monotonic() + timeout_s
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        while self._buf and self.monotonic() < deadline:
            if not self.flush() and self.up is False:
                time.sleep(min(0.05, max(0.0, deadline - self.monotonic())))  # backoff while down, bounded
        if self._buf:
            log.warning("store: %d row(s) not written at stop (database unavailable)", len(self._buf))
        log.info("store: %d liquidation(s) and %d signal(s) written, %d duplicate(s) skipped, %d dropped, "
                 "%d refused", self.written, self.signals_written, self.duplicates, self.dropped, self.rejected)
        self.backend.close()
