"""Column frames of liquidations (common/columns.py) through real processes: the signals tape relay
forwards their rows (dropping only the invalid ones, coalesced per topic towards the publisher) and the
publisher side reads the same structs; an analytics shard turns one into the velocity its events carry."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import msgpack
import pytest
import zmq

from analytics.process import AnalyticsShard
from common import topics
from common.columns import LiquidationBatch
from common.config import load_config
from common.lifecycle import StopFlag
from common.schema import FeedStatus, Liquidation
from common.wire import COLUMNS_MIN, SeqStamper
from tests.integration.signals_rig import recv_until, running_signals

NS = 1_000_000_000


def liqs(now: int, n: int = 2 * COLUMNS_MIN, symbol: str = "BTCUSDT") -> list[Liquidation]:
    return [Liquidation("bybit", symbol, symbol, "long" if i % 2 else "short", 60_000.0 + i, 0.1, 6_000.0 + i,
                        now - NS // 2 + i, now, False) for i in range(n)]


def test_the_signals_relay_forwards_column_frames_and_drops_only_the_invalid_rows(tmp_path: Path) -> None:
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path), "heartbeat_s": 0.2},
                                 "redis": {"enabled": False}}, env={})
    with running_signals(cfg, "ingest.bybit") as rig:
        now = time.time_ns()
        good = liqs(now)
        frames = rig.stamper.stamp(topics.liquidation("bybit", "BTCUSDT"), good)
        assert type(msgpack.unpackb(frames[2])[2]) is dict  # a column body
        rig.push.send_multipart(frames)
        bad = [*good[:10], good[10]._replace(side="sideways"), *good[11:]]
        rig.send(topics.liquidation("bybit", "BTCUSDT"), bad)
        want = good + good[:10] + good[11:]  # the second frame without its invalid row

        def rows(g: list) -> list[Liquidation]:
            return [liq for t, msgs in g if t.startswith(b"liq.") for liq in msgs]

        got = recv_until(rig.publisher, lambda g: len(rows(g)) >= len(want))
        # the publisher-bound tape is coalesced per topic (signals/outbox.py): one or two messages
        assert all(isinstance(msgs, LiquidationBatch) for t, msgs in got if t.startswith(b"liq."))
        assert rows(got) == want
    assert not rig.thread.is_alive() and rig.proc.rc == 0


def test_a_shard_batch_of_columns_reaches_the_pub_split_per_venue_and_symbol(tmp_path: Path) -> None:
    """The ingester's tape comes per shard (`liq.shardK`); subscribers filter on `liq.<exchange>.<SYMBOL>`:
    signals splits a column batch on its columns (LiquidationBatch.groups), each topic's rows in order."""
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path), "heartbeat_s": 0.2},
                                 "redis": {"enabled": False}}, env={})
    with running_signals(cfg, "ingest.bybit") as rig:
        now = time.time_ns()
        rig.join_sub(FeedStatus("bybit", True, False, 0, 1, 0, 1, now, now))
        rows = [liq._replace(exchange=("bybit", "okx")[i % 2]) for i, liq in
                enumerate(liqs(now, symbol="BTCUSDT") + liqs(now, symbol="ETHUSDT"))]
        rows = rows[::2] + rows[1::2][::-1]  # venues and symbols interleaved, arrival order not by symbol
        rig.send(topics.liq_batch(0), rows)
        want: dict[bytes, list[Liquidation]] = {}
        for liq in rows:
            want.setdefault(topics.liquidation(liq.exchange, liq.symbol), []).append(liq)

        def tape(g: list) -> dict[bytes, list[Liquidation]]:
            out: dict[bytes, list[Liquidation]] = {}
            for t, msgs in g:
                if t.startswith(b"liq."):
                    out.setdefault(t, []).extend(msgs)
            return out

        got = recv_until(rig.sub, lambda g: sum(map(len, tape(g).values())) >= len(rows))
        assert tape(got) == want and len(want) == 4
    assert not rig.thread.is_alive() and rig.proc.rc == 0


def test_an_analytics_shard_reads_a_column_frame(tmp_path: Path) -> None:
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path), "shards": 1}}, env={})
    ctx = zmq.Context()
    sink = ctx.socket(zmq.PULL)
    sink.bind(cfg.endpoint("signals"))
    stop = StopFlag()
    worker = AnalyticsShard(cfg, 0, stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    push = ctx.socket(zmq.PUSH)
    push.connect(cfg.endpoint("analytics", 0))
    stamper = SeqStamper("ingest.bybit")
    try:
        now = time.time_ns()
        events = liqs(now, symbol="ETHUSDT")
        push.send_multipart(stamper.stamp(topics.liq_batch(0), events))
        push.send_multipart(stamper.stamp(topics.status("bybit"), [FeedStatus("bybit", True, False, 0, 1, 0, 1, now,
                                                                              now)]))
        want = sum(e.notional_usd for e in events) / 10
        got = recv_until(sink, lambda g: any(m.velocity_usd_per_s["10s"] > 0 for _, ms in g for m in ms))
        snap = next(m for _, ms in got for m in ms if m.velocity_usd_per_s["10s"] > 0)
        assert snap.symbol == "ETHUSDT"
        assert snap.velocity_usd_per_s["10s"] == pytest.approx(want)
        assert snap.count_per_s["60s"] == pytest.approx(len(events) / 60)
        assert worker.counters["liquidations"] == len(events)
    finally:
        stop.set()
        thread.join(timeout=10)
        push.close(0)
        sink.close(0)
        ctx.term()
    assert not thread.is_alive()
