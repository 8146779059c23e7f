"""Wire fuzz through the real processes: every bound socket gets well-framed messages with wrong field types
and absurd values, structural garbage and an oversized frame; the stage keeps running, counts them, and
the good messages after them still flow."""
from __future__ import annotations

import math
import time

import orjson
import pytest
import zmq

from common import topics
from common.schema import FeedStatus, Liquidation, MetricsSnapshot, PriceTick, Signal
from common.wire import decode
from tests.integration.stage_harness import GARBAGE, Sender, Stage, row, write_config
from tests.polling import wait_until
from tests.redis_server import RedisServer
from tests.unit.signals.helpers import snap

NS = 1_000_000_000
MAX_MSG = 1 << 20
HUGE = "X" * 200_000  # under the message limit: must be caught by the field caps


def bad_liquidation_rows(good: Liquidation) -> list[list]:
    return [row(good, notional_usd="abc"), row(good, ts_event=math.nan), row(good, ts_event="1700000000000"),
            row(good, symbol=42), row(good, exchange=["binance"]), row(good, notional_usd=1e300),
            row(good, qty=1e160), row(good, symbol=HUGE), row(good, side={"S": []}), row(good, ts_recv=-1),
            {"not": "a row"}, [1, 2]]


def oversize(ctx: zmq.Context, endpoint: str) -> None:
    """A frame above pipeline.max_message_bytes, from its own connection (libzmq drops that peer)."""
    s = Sender(ctx, endpoint, "big")
    s.send_rows(b"x", "liquidation", [["b" * (2 * MAX_MSG)]])
    s.close()


def recv_until(sock: zmq.Socket, want, timeout_s: float = 15.0) -> list[tuple[bytes, object]]:
    got: list[tuple[bytes, object]] = []
    deadline = time.monotonic() + timeout_s
    while not want(got) and time.monotonic() < deadline:
        if sock.poll(100):
            topic, _, _, msgs = decode(sock.recv_multipart())
            got.extend((topic, m) for m in msgs)
    return got


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def test_analytics_shard_survives_wire_fuzz_and_caps_symbols(tmp_path, ctx):
    cfg = write_config(tmp_path, pipeline={"max_message_bytes": MAX_MSG}, analytics={"max_symbols": 3},
                       redis={"enabled": False})
    out = ctx.socket(zmq.PULL)  # stands in for signals
    out.bind(f"ipc://{tmp_path}/ipc/signals-in.ipc")
    stage = Stage(cfg, "analytics", "--shard", "0", "--shards", "1")
    try:
        stage.wait_started("analytics-0")
        push = Sender(ctx, f"ipc://{tmp_path}/ipc/analytics-0.ipc")
        now = time.time_ns()
        good = Liquidation("bybit", "GOODUSDT", "GOODUSDT", "long", 10.0, 1000.0, 10_000.0, now, now)
        bad = bad_liquidation_rows(good)
        push.send_rows(topics.liq_batch(0), "liquidation", [*bad, row(good)])  # the good row passes
        push.send_rows(topics.status("bybit"), "status", [row(FeedStatus("bybit", True, False, 0, 1, 0, 1, now, now),
                                                              frames="many")])
        for frames in GARBAGE:
            push.send_raw(frames)
        oversize(ctx, f"ipc://{tmp_path}/ipc/analytics-0.ipc")
        later = Liquidation("okx", "GOODUSDT", "GOODUSDT", "long", 10.0, 3000.0, 30_000.0, now, now, True)
        push.send(topics.liq_batch(0), [later])  # after all of it: still flows
        got = recv_until(out, lambda g: any(m.velocity_usd_per_s["10s"] >= 4_000.0 for _, m in g))
        snaps = [m for _, m in got if isinstance(m, MetricsSnapshot)]
        assert snaps and max(s.velocity_usd_per_s["10s"] for s in snaps) == pytest.approx(4_000.0)
        assert {s.symbol for s in snaps} == {"GOODUSDT"}
        # the symbol cap: GOODUSDT plus two new symbols are taken, the next ones refused
        push.send(topics.liq_batch(0), [good._replace(symbol=f"NEW{i}USDT") for i in range(5)])
        wait_until(lambda: {m.symbol for _, m in recv_until(out, lambda g: len(g) > 0, 0.5)} >= {"NEW1USDT"}, 15,
                   what="snapshots of the admitted new symbols")
        assert stage.alive()
    finally:
        rc = stage.stop()
    assert rc == 0, stage.out.text()[-3000:]
    assert stage.counter(r"(\d+) bad frame\(s\)") == len(GARBAGE)
    assert stage.counter(r"(\d+) invalid row\(s\)") == len(bad) + 1
    assert stage.counter(r"refused_symbols (\d+)") == 3
    assert stage.lines_with("invalid row") <= 2  # rate-limited: one line per 10 s, then the stop summary
    assert max(len(line) for line in stage.out.lines) < 2000  # the 200 KB symbol never reaches the log


def test_signals_survive_wire_fuzz_and_refuse_forged_snapshots(tmp_path, ctx):
    redis_srv = RedisServer().start()
    cfg = write_config(tmp_path, pipeline={"max_message_bytes": MAX_MSG, "heartbeat_s": 0.2},
                       redis={"url": redis_srv.url}, signals={"alert_confirm_s": 0.0})
    publisher = ctx.socket(zmq.PULL)  # stands in for the publisher
    publisher.bind(f"ipc://{tmp_path}/ipc/publisher-in.ipc")
    stage = Stage(cfg, "signals")
    try:
        stage.wait_started("signals")
        push = Sender(ctx, f"ipc://{tmp_path}/ipc/signals-in.ipc")
        t = time.time()
        ok = snap(0.6, t, symbol="ETHUSDT")
        push.send_rows(topics.metrics("ETHUSDT"), "metrics", [
            row(ok, risk="0.99"), row(ok, ts=math.nan), row(ok, symbol=7), row(ok, factors={"velocity": 0.9}),
            row(ok, extra={"venues": ["x"]}), row(ok, explanation=HUGE), row(ok, velocity_usd_per_s={"10s": 1e300})])
        tick = PriceTick("binance", "BTCUSDT", 60_000.0, 0.1, int(t * NS), int(t * NS))
        push.send_rows(topics.price("BTCUSDT"), "price", [row(tick, price="60k"), row(tick, ts_event=1.5)])
        push.send_rows(topics.status("okx"), "status", [row(FeedStatus("okx", True, True, 0, 1, 0, 1, 1, 1),
                                                            exchange=None)])
        for frames in GARBAGE:
            push.send_raw(frames)
        oversize(ctx, f"ipc://{tmp_path}/ipc/signals-in.ipc")
        # a forged snapshot: well-typed, risk 0.995, no flow behind it
        forged = MetricsSnapshot("FAKEUSDT", int(t * NS), {"10s": 0.0}, {}, {}, {"10s": 0.0}, {}, 0.0, 0, 0.995,
                                 0.99, "long", {}, "made up", extra={"n_effective": 50.0})
        push.send(topics.metrics("FAKEUSDT"), [forged, forged])
        push.send(topics.metrics("ETHUSDT"), [ok])  # after all of it: a real level change
        got = recv_until(publisher, lambda g: any(isinstance(m, Signal) and m.symbol == "ETHUSDT" for _, m in g))
        sigs = [m for _, m in got if isinstance(m, Signal)]
        assert [(s.symbol, s.level, s.heartbeat) for s in sigs] == [("ETHUSDT", "ALERT", False)]
        assert not any(tp == topics.metrics("FAKEUSDT") for tp, _ in got)  # refused snapshots are not relayed
        assert stage.alive()
    finally:
        rc = stage.stop()
        redis_srv.stop()
    assert rc == 0, stage.out.text()[-3000:]
    assert stage.counter(r"(\d+) bad frame\(s\)") == len(GARBAGE)
    assert stage.counter(r"(\d+) invalid row\(s\)") == 10
    assert stage.counter(r"(\d+) snapshot\(s\) refused as inconsistent") == 2
    assert max(len(line) for line in stage.out.lines) < 2000


def test_publisher_survives_wire_fuzz(tmp_path, ctx):
    redis_srv = RedisServer().start()
    cfg = write_config(tmp_path, pipeline={"max_message_bytes": MAX_MSG}, redis={"url": redis_srv.url})
    stage = Stage(cfg, "publish")
    try:
        stage.wait_started("publisher")
        push = Sender(ctx, f"ipc://{tmp_path}/ipc/publisher-in.ipc")
        ts = time.time_ns()
        good = Signal("BTCUSDT", "ALERT", 0.6, 0.7, "long", "NORMAL", "why", ts)
        push.send_rows(topics.signal("ALERT", "BTCUSDT"), "signal", [
            row(good, ts="1700000000000"), row(good, probability=math.inf), row(good, level=3),
            row(good, components={"a": [[[[["deep"]]]]]}), row(good, symbol=HUGE), row(good, stages={"x": "y"})])
        push.send_rows(topics.metrics("BTCUSDT"), "metrics", [row(snap(0.5, 1.0), risk="high")])
        for frames in GARBAGE:
            push.send_raw(frames)
        oversize(ctx, f"ipc://{tmp_path}/ipc/publisher-in.ipc")
        push.send(topics.signal("ALERT", "BTCUSDT"), [good])  # after all of it: written
        r = redis_srv.client()
        wait_until(lambda: r.xlen("cascade:stream") == 1, 15, what="the good signal in Redis")
        assert orjson.loads(r.xrange("cascade:stream")[0][1][b"signal"])["ts_ns"] == ts
        assert stage.alive()
    finally:
        rc = stage.stop()
        redis_srv.stop()
    assert rc == 0, stage.out.text()[-3000:]
    assert stage.counter(r"(\d+) bad frame\(s\)") == len(GARBAGE)
    assert stage.counter(r"(\d+) invalid row\(s\)") == 7
