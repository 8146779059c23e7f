"""A bounded, batching, reconnecting Redis sink: the pipeline never waits on Redis."""
from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import redis

from common.config import RedisConfig
from common.schema import Liquidation, MetricsSnapshot, Regime, Signal
from publisher.redis_sink import contract as c

log = logging.getLogger(__name__)

_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisSink:
    """Buffers messages (drop-oldest past `buffer`, counted) and writes them in pipelined batches.

    Metrics snapshots only update a key, so a batch keeps the newest per symbol; signals and regimes
    are all written. While Redis is down, writes stop, reconnects back off up to `backoff_max_s`, and
    the buffer keeps the newest messages.
    """

    def __init__(self, cfg: RedisConfig, monotonic=time.monotonic) -> None:
        self.cfg = cfg
        self.monotonic = monotonic
        self.buffer: deque[Any] = deque()
        self.dropped = 0
        self.written = 0
        self.failures = 0
        self.up = False
        self._retry_at = 0.0
        self._delay = 0.1
        self.client = redis.Redis.from_url(cfg.url, socket_connect_timeout=0.5, socket_timeout=1.0,
                                           health_check_interval=0)

    def add(self, msgs: list[Any]) -> None:
        for m in msgs:
            if len(self.buffer) >= self.cfg.buffer:
                self.buffer.popleft()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 10_000 == 0:
                    log.warning("publisher: buffer full (%d), dropped %d oldest message(s) so far",
                                self.cfg.buffer, self.dropped)
            self.buffer.append(m)

    def flush(self) -> int:
        """Write as much of the buffer as Redis takes now; returns messages written."""
        total = 0
        while self.buffer and self._ready():
            batch = [self.buffer.popleft() for _ in range(min(self.cfg.batch, len(self.buffer)))]
            try:
                self._write(batch)
            except _REDIS_ERRORS as exc:
                self.buffer.extendleft(reversed(batch))  # keep order; nothing is lost on a failed write
                self._went_down(exc)
                break
            if not self.up:
                log.info("publisher: Redis is up at %s", self.where())
            self.up = True
            self._delay = 0.1
            self.written += len(batch)
            total += len(batch)
        return total

    def _ready(self) -> bool:
        return self.up or self.monotonic() >= self._retry_at

    def _went_down(self, exc: Exception) -> None:
        self.failures += 1
        if self.up or self.failures == 1:
            log.warning("publisher: Redis unavailable at %s (%s); buffering up to %d messages",
                        self.where(), exc, self.cfg.buffer)
        self.up = False
        self._retry_at = self.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.cfg.backoff_max_s)
        self.client.connection_pool.disconnect()

    def where(self) -> str:
        kw = self.client.connection_pool.connection_kwargs
        return f"{kw.get('host', kw.get('path', '?'))}:{kw.get('port', '')}/{kw.get('db', 0)}"

    def _write(self, batch: list[Any]) -> None:
        pipe = self.client.pipeline(transaction=False)
        latest: dict[str, MetricsSnapshot] = {}
        for m in batch:
            if isinstance(m, MetricsSnapshot):
                latest[m.symbol] = m
            elif isinstance(m, Signal):
                self._signal(pipe, m)
            elif isinstance(m, Regime):
                pipe.set(c.REGIME, c.regime_json(m))
            elif type(m) is Liquidation:
                pipe.xadd(c.LIQUIDATIONS, c.liquidation_fields(m), maxlen=self.cfg.liquidations_maxlen,
                          approximate=True)
        for sym, snap in latest.items():
            pipe.set(c.velocity_key(sym), c.velocity_json(snap))
        pipe.execute()

    def _signal(self, pipe: redis.client.Pipeline, sig: Signal) -> None:
        body = c.signal_json(sig)
        for ch in c.signal_channels(sig):
            pipe.publish(ch, body)
        pipe.set(c.probability_key(sig.symbol), c.probability_json(sig))
        if not sig.heartbeat:
            pipe.lpush(c.HISTORY, body)
            pipe.ltrim(c.HISTORY, 0, self.cfg.history_len - 1)
            pipe.xadd(c.STREAM, {"signal": body}, maxlen=self.cfg.stream_maxlen, approximate=True)
