"""An AnalyticsShard over real ipc sockets: liquidations in, snapshots with the right velocity out."""
from __future__ import annotations

import threading
import time

import pytest
import zmq

from analytics.process import AnalyticsShard
from common import topics
from common.config import load_config
from common.lifecycle import StopFlag
from common.schema import FeedStatus, Liquidation, MetricsSnapshot
from common.sharding import shard_of
from common.wire import SeqStamper, decode
from tests.polling import wait_until

NS = 1_000_000_000


def owned(shard: int, shards: int, n: int = 1) -> list[str]:
    """The first n symbols SYM0USDT, SYM1USDT, ... that belong to `shard`."""
    return [s for s in (f"SYM{i}USDT" for i in range(200)) if shard_of(s, shards) == shard][:n]


def test_shard_emits_snapshots_with_the_velocity_of_what_it_received(tmp_path):
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path), "shards": 2}}, env={})
    shard = 1
    mine, = owned(shard, 2)
    other, = owned(0, 2)
    ctx = zmq.Context()
    sink = ctx.socket(zmq.PULL)
    sink.setsockopt(zmq.LINGER, 0)
    sink.bind(cfg.endpoint("signals"))
    stop = StopFlag()
    worker = AnalyticsShard(cfg, shard, stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(cfg.endpoint("analytics", shard))
    stamper = SeqStamper("test-ingest")
    try:
        now = time.time_ns()
        # two distinct liquidations of `mine` (identical ones would be one event delivered twice)
        liqs = [Liquidation("bybit", sym, sym, "long", 100.0 + i, 100_000.0 / (100.0 + i), 100_000.0,
                            now - NS // 2 + i, now) for i, sym in enumerate((mine, mine, other))]
        push.send_multipart(stamper.stamp(topics.liq_batch(shard), liqs))
        push.send_multipart(stamper.stamp(topics.status("bybit"), [
            FeedStatus("bybit", True, False, 0, 10, 0, 2, now, now)]))
        got: list[MetricsSnapshot] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(s.velocity_usd_per_s["10s"] > 0 for s in got):
            if sink.poll(200):
                topic, _sender, _seq, msgs = decode(sink.recv_multipart())
                assert topic == topics.metrics(mine)
                got.extend(msgs)
        snap = next(s for s in got if s.velocity_usd_per_s["10s"] > 0)
        assert snap.symbol == mine
        assert snap.velocity_usd_per_s["10s"] == pytest.approx(200_000.0 / 10)
        assert snap.count_per_s["60s"] == pytest.approx(2 / 60)
        assert snap.by_venue == {"bybit": pytest.approx(20_000.0)}
        # the status batch is a separate message: wait for both counters, not just the first
        wait_until(lambda: worker.counters["misrouted"] >= 1 and worker.counters["statuses"] >= 1, 5,
                   what="misrouted and status counters")
        assert worker.counters["misrouted"] == 1  # `other` belongs to shard 0: dropped, counted
        assert worker.counters["statuses"] == 1
    finally:
        stop.set()
        thread.join(timeout=10)
        push.close()
        sink.close()
        ctx.term()
    assert not thread.is_alive()


def test_a_deferred_symbol_goes_out_when_its_rate_limit_ends_not_at_the_next_tick(tmp_path):
    """Two batches 1 ms apart: the second is rate-limited (min_emit_interval_s 0.2 s) and must go out
    ~0.2 s after the first snapshot, although the tick (heartbeat 10 s) is far away."""
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path), "shards": 1, "heartbeat_s": 10.0},
                                 "analytics": {"min_emit_interval_s": 0.2, "snapshot_every_s": 10.0}}, env={})
    sym, = owned(0, 1)
    ctx = zmq.Context()
    sink = ctx.socket(zmq.PULL)
    sink.setsockopt(zmq.LINGER, 0)
    sink.bind(cfg.endpoint("signals"))
    stop = StopFlag()
    worker = AnalyticsShard(cfg, 0, stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(cfg.endpoint("analytics", 0))
    stamper = SeqStamper("test-ingest")
    try:
        received: list[tuple[float, MetricsSnapshot]] = []

        def collect(n: int) -> bool:
            while sink.poll(0):
                received.extend((time.monotonic(), m) for m in decode(sink.recv_multipart())[3])
            return len(received) >= n

        for k in range(2):
            now = time.time_ns()
            push.send_multipart(stamper.stamp(topics.liq_batch(0), [
                Liquidation("bybit", sym, sym, "long", 100.0, 1.0, 100.0, now, now)]))
            wait_until(lambda k=k: collect(k + 1), 5, 0.001, what=f"snapshot {k + 1}")
        (t1, first), (t2, second) = received
        assert second.ts_trigger_recv > first.ts_trigger_recv  # the second carries the second event
        assert 0.15 < t2 - t1 < 0.5  # released by its own deadline (0.2 s), not the 10 s tick
    finally:
        stop.set()
        thread.join(timeout=10)
        push.close()
        sink.close()
        ctx.term()
