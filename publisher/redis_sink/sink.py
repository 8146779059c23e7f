"""A bounded, batching, reconnecting Redis sink: the pipeline never waits on Redis."""
from __future__ import annotations

import logging
import time
from typing import Any

import redis

from common.config import RedisConfig
from common.logs import RateLimitedLog, clip
from common.schema import MetricsSnapshot, Regime, Signal
from publisher.redis_sink import contract as c
from publisher.redis_sink.buffer import Drops, PriorityBuffer, kind_of

log = logging.getLogger(__name__)

_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class Sink:
    """A bounded buffer written to Redis in batches, through one connection that backs off while Redis is
    down: the pipeline never waits on Redis. While it is down, writes stop, reconnects back off up to
    `backoff_max_s`, and the buffer keeps what matters (its own rule). A command Redis refuses (`OOM command
    not allowed`, WRONGTYPE on a key someone else wrote) costs that one message, logged with the key and
    counted as dropped, never the publisher. Subclasses give the buffer and `_write`."""

    buffer: Any

    def __init__(self, cfg: RedisConfig, buffer: Drops, monotonic=time.monotonic) -> None:
        self.cfg = cfg
        self.monotonic = monotonic
        self.buffer = buffer
        self.written = 0
        self.refused = 0  # messages with a command Redis refused (also in `dropped`)
        self.failures = 0
        self.up = False
        self._retry_at = 0.0
        self._delay = 0.1
        self._ttl = int(cfg.key_ttl_s) if cfg.key_ttl_s > 0 else None
        self._warn = RateLimitedLog(log)
        self.client = redis.Redis.from_url(cfg.url, socket_connect_timeout=0.5, socket_timeout=1.0,
                                           health_check_interval=0)

    @property
    def dropped(self) -> int:
        return self.buffer.dropped

    def add(self, msgs: list[Any]) -> None:
        for m in msgs:
            self.buffer.append(m)

    def flush(self) -> int:
        """Write as much of the buffer as Redis takes now; returns messages handled (written or refused)."""
        total = 0
        while self.buffer and self._ready():
            held = len(self.buffer)
            batch = self.buffer.take(self.cfg.batch)
            n = held - len(self.buffer)  # messages taken (a batch may hold them in parts)
            try:
                refused = self._write(batch)
            except _REDIS_ERRORS as exc:
                self.buffer.put_back(batch)  # keep order; nothing is lost on a failed write
                self._went_down(exc)
                break
            if not self.up:
                log.info("publisher: Redis is up at %s", self.where())
            self.up = True
            self._delay = 0.1
            self.written += n - refused
            total += n
        self.buffer.report()
        return total

    def _ready(self) -> bool:
        return self.up or self.monotonic() >= self._retry_at

    def _went_down(self, exc: Exception) -> None:
        self.failures += 1
        if isinstance(exc, redis.AuthenticationError):
            # A wrong or missing password is not an outage: say so plainly, and retry only slowly (an
            # operator may fix the password on the server side), at the longest backoff from the start.
            self._warn.error("auth", "publisher: Redis at %s refused the credentials (%s): check the password "
                             "in REDIS_URL or [redis] url; retrying every %.0f s", self.where(), exc,
                             self.cfg.backoff_max_s)
            self._delay = self.cfg.backoff_max_s
        elif self.up or self.failures == 1:
            log.warning("publisher: Redis unavailable at %s (%s); buffering up to %d messages",
                        self.where(), exc, self.cfg.buffer)
        self.up = False
        self._retry_at = self.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.cfg.backoff_max_s)
        self.client.connection_pool.disconnect()

    def _write(self, batch: Any) -> int:
        """Write a batch taken from the buffer; returns the messages Redis refused (connection errors raise)."""
        raise NotImplementedError

    def _refuse(self, kind: str, key: str, exc: Exception) -> None:
        """A message Redis (or serialization) refused: logged with the key, counted, skipped."""
        self.refused += 1
        self.buffer.count_drop(kind)
        self._warn.warning(f"refused:{type(exc).__name__}", "publisher: Redis refused a %s write to %s: %s",
                           kind, key, clip(str(exc), 200))

    def where(self) -> str:
        kw = self.client.connection_pool.connection_kwargs
        return f"{kw.get('host', kw.get('path', '?'))}:{kw.get('port', '')}/{kw.get('db', 0)}"


class RedisSink(Sink):
    """Signals, metrics snapshots and regimes (`PriorityBuffer`: periodic ones dropped before level changes,
    counted), written in pipelined batches. Metrics snapshots only update a key, so a batch keeps the newest
    per symbol; signals and regimes are all written."""

    def __init__(self, cfg: RedisConfig, monotonic=time.monotonic) -> None:
        super().__init__(cfg, PriorityBuffer(cfg.buffer, monotonic), monotonic)

    def _write(self, taken: list[tuple[int, Any]]) -> int:
        """One pipelined round trip for the batch; returns how many messages Redis refused a command of.

        Connection errors propagate (the batch is kept and retried); per-command errors do not.
        """
        batch = [m for _, m in taken]
        pipe = self.client.pipeline(transaction=False)
        latest: dict[str, MetricsSnapshot] = {}
        owners: list[tuple[int, str]] = []  # per queued command: (message index, key), for errors
        refused = 0
        for m in batch:
            if isinstance(m, MetricsSnapshot):
                latest[m.symbol] = m
        # The snapshots' keys first: a consumer that reads velocity:<SYMBOL> on an alert of this batch finds the
        # snapshot behind it (Redis may serve that read between two parts of a long pipeline).
        for j, (sym, snap) in enumerate(latest.items()):  # metrics get negative indices
            try:
                pipe.set(c.velocity_key(sym), c.velocity_json(snap), ex=self._ttl)
                owners.append((-1 - j, c.velocity_key(sym)))
            except (TypeError, ValueError) as exc:
                self._refuse("metrics", c.velocity_key(sym), exc)
                refused += 1
        for i, m in enumerate(batch):
            if isinstance(m, MetricsSnapshot):
                continue
            before = len(pipe)
            try:
                keys = self._signal(pipe, m) if isinstance(m, Signal) else self._regime(pipe, m)
            except (TypeError, ValueError) as exc:  # cannot be serialized: that message only
                del pipe.command_stack[before:]
                self._refuse(kind_of(m), "?", exc)
                refused += 1
                continue
            owners += [(i, k) for k in keys]
        failed: dict[int, tuple[str, Exception]] = {}
        results = pipe.execute(raise_on_error=False)
        for (i, key), res in zip(owners, results, strict=True):
            if isinstance(res, Exception):
                failed.setdefault(i, (key, res))
        for i, (key, exc) in failed.items():
            self._refuse("metrics" if i < 0 else kind_of(batch[i]), key, exc)
        return refused + len(failed)

    def _regime(self, pipe: redis.client.Pipeline, reg: Any) -> list[str]:
        if not isinstance(reg, Regime):
            return []
        pipe.set(c.REGIME, c.regime_json(reg))
        return [c.REGIME]

    def _signal(self, pipe: redis.client.Pipeline, sig: Signal) -> list[str]:
        """Queue a signal's commands; return the key (or channel) of each, in order."""
        body = c.signal_json(sig)
        keys = []
        for ch in c.signal_channels(sig):
            pipe.publish(ch, body)
            keys.append(ch)
        pipe.set(c.probability_key(sig.symbol), c.probability_json(sig), ex=self._ttl)
        keys.append(c.probability_key(sig.symbol))
        if not sig.heartbeat:
            pipe.lpush(c.HISTORY, body)
            pipe.ltrim(c.HISTORY, 0, self.cfg.history_len - 1)
            pipe.xadd(c.STREAM, {"signal": body}, maxlen=self.cfg.stream_maxlen, approximate=True)
            keys += [c.HISTORY, c.HISTORY, c.STREAM]
        return keys
