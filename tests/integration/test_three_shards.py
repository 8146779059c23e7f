"""Three analytics shards behind the ingest router: every symbol on exactly one shard, nothing lost."""
from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest
import zmq

from analytics.process import AnalyticsShard
from common.config import load_config
from common.lifecycle import StopFlag
from common.schema import Liquidation
from common.sharding import shard_of
from common.sockets import make_socket
from common.wire import SeqStamper, decode
from ingest.router import Router
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(60)
SHARDS = 3


def test_every_symbol_is_processed_by_exactly_one_shard_and_nothing_is_lost(tmp_path):
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path), "shards": SHARDS}}, env={})
    ctx = zmq.Context()
    sink = make_socket(ctx, zmq.PULL, cfg.endpoint("signals"), bind=True, hwm=100_000)
    stops = [StopFlag() for _ in range(SHARDS)]
    workers = [AnalyticsShard(cfg, k, stops[k]) for k in range(SHARDS)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()
    pushes = [make_socket(ctx, zmq.PUSH, cfg.endpoint("analytics", k), bind=False, hwm=100_000)
              for k in range(SHARDS)]
    stamper = SeqStamper("test-ingest")
    symbols = [f"S{i}USDT" for i in range(30)]
    router = Router(SHARDS, (), "BTCUSDT")
    now = time.time_ns()
    sent: dict[str, int] = defaultdict(int)
    for i in range(600):
        sym = symbols[i % len(symbols)]
        router.add([Liquidation("bybit", sym, sym, "long", 10.0, 1.0, 10.0, now - 1_000_000 * i, now)])
        sent[sym] += 1
        if i % 50 == 49:  # batches of mixed symbols, as the ingester sends them
            for shard, topic, batch, _ in router.take():
                pushes[shard].send_multipart(stamper.stamp(topic, batch))
    try:
        wait_until(lambda: sum(w.counters["liquidations"] for w in workers) == 600, 15, what="all 600 at the shards")
        latest: dict[str, tuple[str, float]] = {}

        def every_symbol_reported() -> bool:
            while sink.poll(20):
                _, sender, _, snaps = decode(sink.recv_multipart())
                for snap in snaps:
                    owner = latest.get(snap.symbol, (sender,))[0]
                    assert owner == sender, f"{snap.symbol} reported by {owner} and {sender}"
                    latest[snap.symbol] = (sender, snap.count_per_s["300s"] * 300)
            return set(latest) == set(symbols) and all(
                round(latest[s][1]) == sent[s] for s in symbols)
        wait_until(every_symbol_reported, 15, what="each symbol's full count from its shard")
    finally:
        for s in stops:
            s.set()
        for t in threads:
            t.join(5)
        for p in pushes:
            p.close(0)
        sink.close(0)
        ctx.term()
    for sym, (sender, _) in latest.items():
        assert sender == f"analytics-{shard_of(sym, SHARDS)}"
    assert {shard_of(s, SHARDS) for s in symbols} == {0, 1, 2}  # the test really spreads over all three
    assert [w.counters["misrouted"] for w in workers] == [0, 0, 0]
    assert sum(w.counters["liquidations"] for w in workers) == sum(sent.values()) == 600
    assert all(not t.is_alive() for t in threads)
