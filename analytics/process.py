"""The analytics shard process: liquidations and feed statuses in, MetricsSnapshots out to signals."""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import click
import zmq

from analytics.engine import Engine
from common import topics
from common.config import Config
from common.lifecycle import StopFlag
from common.schema import FeedStatus, Liquidation
from common.sharding import shard_of
from common.sockets import describe
from common.worker import Worker

log = logging.getLogger(__name__)

NS = 1_000_000_000
EXPIRE_EVERY_NS = 10 * NS


class AnalyticsShard(Worker):
    """Owns the symbols with shard_of(symbol, shards) == shard.

    Emission: after each received batch, every touched symbol is snapshotted unless it was emitted
    less than min_emit_interval_s ago; then it is deferred and flushed by the next tick, which runs
    every min_emit_interval_s, so a deferred symbol goes out at most one interval late. Every active
    symbol is also emitted each snapshot_every_s even when quiet, so signals see risk decay.
    """

    def __init__(self, cfg: Config, shard: int, stop: StopFlag | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.name = f"analytics-{shard}"
        super().__init__(cfg, stop, clock)
        self.shard = shard
        self.shards = cfg.pipeline.shards
        acfg = cfg.analytics
        self.engine = Engine(acfg)
        self.min_emit_ns = int(acfg.min_emit_interval_s * NS)
        self.period_ns = int(min(acfg.snapshot_every_s, cfg.pipeline.heartbeat_s) * NS)
        self.tick_s = max(min(acfg.min_emit_interval_s, cfg.pipeline.heartbeat_s), 0.01)
        self.last_emit: dict[str, int] = {}
        self.deferred: set[str] = set()
        self.next_periodic = 0
        self.next_expire = 0
        self.counters = {"liquidations": 0, "statuses": 0, "misrouted": 0, "snapshots": 0,
                         "dropped_snapshots": 0}
        self.out: zmq.Socket | None = None

    def on_start(self) -> None:
        inp = self.socket(zmq.PULL, self.cfg.endpoint("analytics", self.shard), bind=True)
        self.out = self.socket(zmq.PUSH, self.cfg.endpoint("signals"), bind=False)
        self.add_input(inp, self.on_batch)
        log.info("%s: pulling %s, pushing to %s (shard %d of %d)", self.name,
                 describe(self.cfg.endpoint("analytics", self.shard)), describe(self.cfg.endpoint("signals")),
                 self.shard, self.shards)

    def on_batch(self, topic: bytes, msgs: list[Any], now_ns: int) -> None:
        touched: set[str] = set()
        for msg in msgs:
            if isinstance(msg, Liquidation):
                if shard_of(msg.symbol, self.shards) != self.shard:
                    self._misrouted(msg)
                    continue
                self.engine.update(msg)
                self.counters["liquidations"] += 1
                touched.add(msg.symbol)
            elif isinstance(msg, FeedStatus):
                self.engine.update_status(msg)
                self.counters["statuses"] += 1
        for symbol in sorted(touched):
            if now_ns - self.last_emit.get(symbol, -(1 << 62)) >= self.min_emit_ns:
                self.emit(symbol, now_ns)
            else:
                self.deferred.add(symbol)

    def on_tick(self, now_ns: int) -> None:
        for symbol in sorted(self.deferred):
            if now_ns - self.last_emit.get(symbol, -(1 << 62)) >= self.min_emit_ns:
                self.emit(symbol, now_ns)
        if now_ns >= self.next_periodic:
            self.next_periodic = now_ns + self.period_ns
            for symbol in self.engine.active_symbols(now_ns):
                if now_ns - self.last_emit.get(symbol, -(1 << 62)) >= self.min_emit_ns:
                    self.emit(symbol, now_ns)
        if now_ns >= self.next_expire:
            self.next_expire = now_ns + EXPIRE_EVERY_NS
            for symbol in self.engine.expire(now_ns):
                self.last_emit.pop(symbol, None)
                self.deferred.discard(symbol)
                log.info("%s: expired idle symbol %s", self.name, symbol)

    def emit(self, symbol: str, now_ns: int) -> None:
        """Snapshot and send without blocking: if signals is not keeping up, drop and count."""
        assert self.out is not None
        self.deferred.discard(symbol)
        self.last_emit[symbol] = now_ns
        snap = self.engine.snapshot(symbol, now_ns)
        try:
            self.out.send_multipart(self.stamper.stamp(topics.metrics(symbol), [snap]), zmq.NOBLOCK, copy=False)
            self.counters["snapshots"] += 1
        except zmq.Again:
            self.counters["dropped_snapshots"] += 1
            if self.counters["dropped_snapshots"] in (1, 10, 100) or self.counters["dropped_snapshots"] % 1000 == 0:
                log.warning("%s: signals not keeping up; %d snapshot(s) dropped", self.name,
                            self.counters["dropped_snapshots"])

    def _misrouted(self, liq: Liquidation) -> None:
        self.counters["misrouted"] += 1
        n = self.counters["misrouted"]
        if n in (1, 10, 100) or n % 1000 == 0:
            log.warning("%s: dropped %d liquidation(s) for symbols of other shards (latest %s -> shard %d)",
                        self.name, n, liq.symbol, shard_of(liq.symbol, self.shards))

    def on_stop(self) -> None:
        now = self.clock()
        for symbol in sorted(self.deferred):
            self.emit(symbol, now)
        log.info("%s: %s", self.name, ", ".join(f"{k} {v}" for k, v in self.counters.items()))


@click.command("analytics")
@click.option("--shard", type=int, default=0, show_default=True, help="This process's shard index.")
@click.option("--shards", type=int, default=None, help="Number of shards (default: pipeline.shards).")
@click.pass_context
def command(ctx: click.Context, shard: int, shards: int | None) -> None:
    """Run one analytics shard."""
    from liqcascade.cli import get_config

    cfg = get_config(ctx, {"pipeline": {"shards": shards}}, process=f"analytics-{shard}")
    if not 0 <= shard < cfg.pipeline.shards:
        raise click.BadParameter(f"must be in 0..{cfg.pipeline.shards - 1}", param_hint="--shard")
    sys.exit(AnalyticsShard(cfg, shard, StopFlag().install()).run())
