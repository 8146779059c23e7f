"""The analytics shard process: liquidations and feed statuses in, MetricsSnapshots out to signals."""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import click
import numpy as np
import zmq

from analytics.engine import Engine
from common import topics
from common.columns import LiquidationBatch
from common.config import Config, get_config
from common.lifecycle import StopFlag
from common.logs import RateLimitedLog, clip
from common.schema import FeedStatus, Liquidation, MarketContext, MetricsSnapshot
from common.sharding import shard_of
from common.sockets import describe, send_frames
from common.worker import Worker

log = logging.getLogger(__name__)

NS = 1_000_000_000
EXPIRE_EVERY_NS = 10 * NS


class AnalyticsShard(Worker):
    """Owns the symbols with shard_of(symbol, shards) == shard.

    Emission: after each received batch, every touched symbol is snapshotted unless it was emitted
    less than min_emit_interval_s ago; then it is deferred to the moment that interval ends, and the
    worker loop wakes at the earliest such deadline (`wake_at`), so a deferred symbol goes out when it
    is due (to the millisecond), not at the next tick. An active symbol not emitted for
    snapshot_every_s is emitted anyway (checked every quarter of it), so signals see risk decay; a
    busy symbol gets no extra periodic snapshot, which would only rate-limit (defer) its next real one.
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
        self.tick_s = max(min(acfg.snapshot_every_s, cfg.pipeline.heartbeat_s) / 4, 0.01)
        self.last_emit: dict[str, int] = {}
        self.deferred: dict[str, int] = {}  # symbol -> clock ns at which it may be emitted
        self._owned: dict[str, bool] = {}  # symbol -> belongs to this shard (crc32 once per symbol)
        self.max_symbols = acfg.max_symbols
        self.warmup_ns = int(acfg.warmup_s * NS)
        self.started_ns: int | None = None  # the state's history starts here (on_start's clock)
        self.next_expire = 0
        self.counters = {"liquidations": 0, "statuses": 0, "contexts": 0, "misrouted": 0, "refused_symbols": 0,
                         "snapshots": 0, "dropped_snapshots": 0, "batches": 0}
        self.warn = RateLimitedLog(log)
        self.out: zmq.Socket | None = None
        self.pending: list[Liquidation] = []  # liquidations of this poll round from row frames, in arrival order
        self.columns: list[LiquidationBatch] = []  # and from column frames (rows before them folded in)
        self.touched: dict[str, None] = {}  # their symbols
        self.new_symbols: set[str] = set()  # symbols of `pending` the engine does not have yet (max_symbols)

    def on_start(self) -> None:
        self.started_ns = self.clock()
        inp = self.socket(zmq.PULL, self.cfg.endpoint("analytics", self.shard), bind=True)
        self.out = self.socket(zmq.PUSH, self.cfg.endpoint("signals"), bind=False)
        self.add_input(inp, self.on_batch)
        log.info("%s: pulling %s, pushing to %s (shard %d of %d)", self.name,
                 describe(self.cfg.endpoint("analytics", self.shard)), describe(self.cfg.endpoint("signals")),
                 self.shard, self.shards)

    def on_batch(self, topic: bytes, msgs: list[Any], now_ns: int) -> None:
        """Queue this message's liquidations for the engine; they go in, and the touched symbols are
        snapshotted, once the poll round is drained (`on_drained`): one Engine.update_batch for everything
        the round brought, on whole numpy columns, instead of one update per event."""
        if self.started_ns is None:
            self.started_ns = now_ns
        if isinstance(msgs, LiquidationBatch):
            self._take(msgs)
            return
        owned = self._owned
        symbols = self.engine.symbols
        pending, touched, new = self.pending, self.touched, self.new_symbols
        n = 0
        for msg in msgs:
            if type(msg) is Liquidation:
                mine = owned.get(msg.symbol)
                if mine is None:
                    if len(owned) >= 4 * self.max_symbols:  # a cache, not a record: garbage symbols must not grow it
                        owned.clear()
                    mine = owned[msg.symbol] = shard_of(msg.symbol, self.shards) == self.shard
                if not mine:
                    self._misrouted(msg.symbol)
                    continue
                if msg.symbol not in symbols and msg.symbol not in new:
                    if len(symbols) + len(new) >= self.max_symbols:
                        self._refuse(msg.symbol)
                        continue
                    new.add(msg.symbol)
                pending.append(msg)
                n += 1
                touched[msg.symbol] = None
            elif isinstance(msg, FeedStatus):
                self.engine.update_status(msg)
                self.counters["statuses"] += 1
            elif type(msg) is MarketContext:  # read at the next snapshot; context alone emits nothing
                self.engine.update_context(msg)
                self.counters["contexts"] += 1
        self.counters["liquidations"] += n

    def on_drained(self, now_ns: int) -> None:
        """Everything the poll round brought goes into the engine; then the touched symbols are emitted
        (or deferred: see the class docstring)."""
        if self.columns:
            if self.pending:
                self.columns.append(LiquidationBatch.of(self.pending))
            self.engine.update_batch(LiquidationBatch.concat(self.columns))
            self.pending, self.columns = [], []
            self.counters["batches"] += 1
        elif self.pending:
            self.engine.update_batch(self.pending)
            self.pending = []
            self.counters["batches"] += 1
        self.new_symbols.clear()
        touched, self.touched = self.touched, {}
        ready = []
        for symbol in sorted(touched):
            due = self.last_emit.get(symbol, -(1 << 62)) + self.min_emit_ns
            if now_ns >= due:
                ready.append(symbol)
            elif symbol not in self.deferred:
                self.deferred[symbol] = due
                self.wake_at(time.monotonic() + (due - now_ns) / NS)
        self.emit(ready, now_ns)

    def on_wakeup(self, now_ns: int) -> None:
        """Emit the deferred symbols that are due; ask to be woken again for the others."""
        self.emit(sorted(s for s, due in self.deferred.items() if due <= now_ns), now_ns)
        if self.deferred:
            self.wake_at(time.monotonic() + (min(self.deferred.values()) - now_ns) / NS)

    def on_tick(self, now_ns: int) -> None:
        self.on_wakeup(now_ns)  # a safety net: deferred symbols normally go out in on_wakeup
        every = max(self.period_ns, self.min_emit_ns)
        self.emit([s for s in self.engine.active_symbols(now_ns)
                   if now_ns - self.last_emit.get(s, -(1 << 62)) >= every], now_ns)
        if now_ns >= self.next_expire:
            self.next_expire = now_ns + EXPIRE_EVERY_NS
            for symbol in self.engine.expire(now_ns):
                self.last_emit.pop(symbol, None)
                self.deferred.pop(symbol, None)
                log.info("%s: expired idle symbol %s", self.name, symbol)

    def emit(self, symbols: list[str], now_ns: int) -> None:
        """Snapshot (their window sums read at once: Engine.snapshots) and send each without blocking: if
        signals is not keeping up, drop and count."""
        for snap in self.engine.snapshots(symbols, now_ns):
            self._send(snap, now_ns)

    def _send(self, snap: MetricsSnapshot, now_ns: int) -> None:
        assert self.out is not None
        symbol = snap.symbol
        self.deferred.pop(symbol, None)
        self.last_emit[symbol] = now_ns
        if self.started_ns is None or now_ns - self.started_ns < self.warmup_ns:
            # A fresh state's windows miss the history before the start: velocities read low and
            # acceleration high. Signals hold a level set before `state_start_ns` instead of moving it.
            snap.extra["warming"] = True
            snap.extra["state_start_ns"] = self.started_ns or now_ns
        try:
            send_frames(self.out, self.stamper.stamp(topics.metrics(symbol), [snap]), zmq.NOBLOCK)
            self.counters["snapshots"] += 1
        except zmq.Again:
            self.counters["dropped_snapshots"] += 1
            self.dropped += 1  # common.metrics: liqcascade_dropped_total{hop="analytics->signals"}
            if self.counters["dropped_snapshots"] in (1, 10, 100) or self.counters["dropped_snapshots"] % 1000 == 0:
                log.warning("%s: signals not keeping up; %d snapshot(s) dropped", self.name,
                            self.counters["dropped_snapshots"])

    def _take(self, batch: LiquidationBatch) -> None:
        """`on_batch` for a column batch, with the same decisions: ownership and the symbol cap are
        decided once per distinct symbol (in arrival order), the events kept with one mask."""
        table, codes = batch.text["symbol"]
        used, first = np.unique(codes, return_index=True)
        owned, symbols, new = self._owned, self.engine.symbols, self.new_symbols
        keep = np.ones(len(table), dtype=bool)
        for code in used[np.argsort(first)].tolist():
            sym = table[code]
            mine = owned.get(sym)
            if mine is None:
                if len(owned) >= 4 * self.max_symbols:
                    owned.clear()
                mine = owned[sym] = shard_of(sym, self.shards) == self.shard
            if not mine:
                self._misrouted(sym, int(np.count_nonzero(codes == code)))
                keep[code] = False
            elif sym not in symbols and sym not in new:
                if len(symbols) + len(new) >= self.max_symbols:
                    self._refuse(sym, int(np.count_nonzero(codes == code)))
                    keep[code] = False
                else:
                    new.add(sym)
        if not keep.all():
            batch = batch.take(keep[codes])
            used = used[keep[used]]
        if not batch.n:
            return
        if self.pending:  # rows of an older sender that came first go in first
            self.columns.append(LiquidationBatch.of(self.pending))
            self.pending = []
        self.columns.append(batch)
        self.touched.update(dict.fromkeys(table[c] for c in used.tolist()))
        self.counters["liquidations"] += batch.n

    def _refuse(self, symbol: str, n: int = 1) -> None:
        """A new symbol beyond analytics.max_symbols: refused (memory and snapshot time are per symbol)."""
        self.counters["refused_symbols"] += n
        self.warn.warning("cap", "%s: refused a liquidation of new symbol %s: %d active symbols is the cap "
                          "(analytics.max_symbols); %d refused so far", self.name, clip(symbol, 48),
                          self.max_symbols, self.counters["refused_symbols"])

    def _misrouted(self, symbol: str, n: int = 1) -> None:
        self.counters["misrouted"] += n
        self.warn.warning("misrouted", "%s: dropped %d liquidation(s) for symbols of other shards (latest %s -> "
                          "shard %d)", self.name, self.counters["misrouted"], clip(symbol, 48),
                          shard_of(symbol, self.shards))

    def on_stop(self) -> None:
        now = self.clock()
        self.on_drained(now)
        self.emit(sorted(self.deferred), now)
        log.info("%s: %s", self.name, ", ".join(f"{k} {v}" for k, v in self.counters.items()))


@click.command("analytics")
@click.option("--shard", type=int, default=0, show_default=True, help="This process's shard index.")
@click.option("--shards", type=int, default=None, help="Number of shards (default: pipeline.shards).")
@click.pass_context
def command(ctx: click.Context, shard: int, shards: int | None) -> None:
    """Run one analytics shard."""

    cfg = get_config(ctx, {"pipeline": {"shards": shards}}, process=f"analytics-{shard}")
    if not 0 <= shard < cfg.pipeline.shards:
        raise click.BadParameter(f"must be in 0..{cfg.pipeline.shards - 1}", param_hint="--shard")
    sys.exit(AnalyticsShard(cfg, shard, StopFlag().install()).run())
