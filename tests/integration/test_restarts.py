"""Restarting a stage must not publish a level change it cannot know (real processes, real sockets, real Redis)."""
from __future__ import annotations

import random
import time

import orjson
import pytest
import zmq

from common import topics
from common.schema import Liquidation, MetricsSnapshot, Signal
from common.wire import decode
from tests.integration.stage_harness import Sender, Stage, write_config
from tests.polling import wait_until
from tests.redis_server import RedisServer
from tests.unit.signals.helpers import snap

NS = 1_000_000_000


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def subscriber(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.subscribe(b"")
    sub.connect(endpoint)
    return sub


def drain(sock: zmq.Socket, ms: int = 200) -> list[tuple[bytes, object]]:
    got = []
    deadline = time.monotonic() + ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        if sock.poll(max(1, int(left * 1000))):
            topic, _, _, msgs = decode(sock.recv_multipart())
            got += [(topic, m) for m in msgs]
    return got


def changes(got: list[tuple[bytes, object]]) -> list[tuple[str, str, str]]:
    return [(m.symbol, m.previous_level, m.level) for _, m in got if isinstance(m, Signal) and not m.heartbeat]


def test_a_restarted_signals_process_restores_levels_instead_of_reannouncing_them(tmp_path, ctx):
    redis_srv = RedisServer().start()
    cfg = write_config(tmp_path, pipeline={"heartbeat_s": 0.2}, redis={"url": redis_srv.url},
                       signals={"alert_confirm_s": 0.0})
    r = redis_srv.client()
    publisher = Stage(cfg, "publish")
    signals = Stage(cfg, "signals")
    sub = subscriber(ctx, f"ipc://{tmp_path}/ipc/pub.ipc")
    push = Sender(ctx, f"ipc://{tmp_path}/ipc/signals-in.ipc", "analytics-test")
    risks = {"AAAUSDT": 0.6, "BBBUSDT": 0.75, "CCCUSDT": 0.9}  # ALERT, CRITICAL, EXTREME (and MARKET ALERT)

    def pump() -> list[tuple[bytes, object]]:
        for sym, risk in risks.items():
            push.send(topics.metrics(sym), [snap(risk, time.time(), symbol=sym)])
        return drain(sub)
    try:
        publisher.wait_started("publisher")
        signals.wait_started("signals")
        before: list = []
        wait_until(lambda: before.extend(pump()) or r.xlen("cascade:stream") >= 4, 20, what="4 level changes")
        stream = [orjson.loads(f[b"signal"]) for _, f in r.xrange("cascade:stream")]
        assert sorted((s["symbol"], s["previous_level"], s["signal"]) for s in stream) == [
            ("AAAUSDT", "NONE", "ALERT"), ("BBBUSDT", "NONE", "CRITICAL"), ("CCCUSDT", "NONE", "EXTREME"),
            ("MARKET", "NONE", "ALERT")]
        ps = r.pubsub()
        ps.subscribe("cascade:signals")
        wait_until(lambda: r.pubsub_numsub("cascade:signals")[0][1] == 1, what="Redis subscription")
        signals.proc.kill()  # the chaos case: no clean shutdown
        signals.stop()
        signals = Stage(cfg, "signals")
        signals.wait_started("signals")
        after: list = []
        published: list[dict] = []

        def restored_and_fed() -> bool:
            after.extend(pump())
            while (m := ps.get_message(timeout=0.01)) is not None:
                if m["type"] == "message":
                    published.append(orjson.loads(m["data"]))
            beats = {s["symbol"] for s in published if s["heartbeat"] and s["components"].get("restored")}
            relayed = sum(t == topics.metrics("AAAUSDT") for t, _ in after)
            return beats >= set(risks) and relayed >= 10  # announced as states, then 10 snapshots processed
        wait_until(restored_and_fed, 30, what="restored levels announced and fresh snapshots processed")
        assert changes(after) == [] and all(s["heartbeat"] for s in published)
        assert r.xlen("cascade:stream") == 4 and r.llen("cascade:signals:history") == 4
        assert orjson.loads(r.get("cascade:probability:CCCUSDT"))["level"] == "EXTREME"
        assert "3 level(s) restored from Redis" in signals.out.text()
    finally:
        for stage in (signals, publisher):
            stage.stop()
        push.close()
        redis_srv.stop()


def liquidations(start_ns: int, end_ns: int, rate: float, rng: random.Random) -> list[Liquidation]:
    """A steady one-sided flow of $1k liquidations on three venues, SOLUSDT, from start to end."""
    out, t = [], start_ns
    while t < end_ns:
        ex = rng.choice(("bybit", "okx", "binance"))
        out.append(Liquidation(ex, "SOLUSDT", "SOLUSDT", "long", 100.0, 10.0, 1_000.0, t, t, ex != "bybit"))
        t += int(rng.expovariate(rate) * NS)
    return out


def test_an_analytics_restart_does_not_move_a_level_on_thin_history(tmp_path, ctx):
    cfg = write_config(tmp_path, pipeline={"heartbeat_s": 0.2}, redis={"enabled": False},
                       analytics={"snapshot_every_s": 0.2},
                       signals={"alert_confirm_s": 0.3, "min_dwell_s": 0.5, "restart_grace_s": 0.0})
    rng = random.Random(7)
    signals = Stage(cfg, "signals")
    shard = Stage(cfg, "analytics", "--shard", "0", "--shards", "1")
    sub = subscriber(ctx, f"ipc://{tmp_path}/ipc/pub.ipc")
    push = Sender(ctx, f"ipc://{tmp_path}/ipc/analytics-0.ipc", "ingest-test")
    rate = 30.0  # 30 x $1k/s: 3x the $10k/s floor, ALERT on steady flow
    last = [time.time_ns()]

    def feed() -> list[tuple[bytes, object]]:
        now = time.time_ns()
        batch = liquidations(last[0], now, rate, rng)
        last[0] = now
        for i in range(0, len(batch), 256):
            push.send(topics.liq_batch(0), batch[i:i + 256])
        return drain(sub)
    try:
        signals.wait_started("signals")
        shard.wait_started("analytics-0")
        # 200 s of steady history (event time), so the first run's windows (3 x 60 s back) are full
        history = liquidations(last[0] - 200 * NS, last[0], rate, rng)
        for i in range(0, len(history), 256):
            push.send(topics.liq_batch(0), history[i:i + 256])
        before: list = []
        wait_until(lambda: before.extend(feed()) or any(c[2] in ("ALERT", "CRITICAL") for c in changes(before)), 30,
                   what="SOLUSDT at ALERT on steady flow")
        level = changes(before)[-1][2]
        shard.proc.kill()  # the chaos case
        shard.stop()
        restarted_ns = time.time_ns()
        shard = Stage(cfg, "analytics", "--shard", "0", "--shards", "1")
        shard.wait_started("analytics-0")
        after: list = []

        def fresh_snapshots() -> int:
            after.extend(feed())
            return sum(isinstance(m, MetricsSnapshot) and m.ts > restarted_ns for _, m in after) >= 20
        wait_until(fresh_snapshots, 30, what="20 snapshots from the restarted shard")
        fresh = [m for _, m in after if isinstance(m, MetricsSnapshot) and m.ts > restarted_ns]
        assert all(m.extra.get("warming") for m in fresh)
        # what the held level was protected from: the fresh state's risk says another level
        assert max(m.risk for m in fresh) >= 0.70 or min(m.risk for m in fresh) < 0.42, [m.risk for m in fresh]
        assert changes(after) == [], f"spurious level change after the restart (was {level})"
    finally:
        for stage in (shard, signals):
            stage.stop()
        push.close()
    assert signals.counter(r"(\d+) warming snapshot\(s\) held") >= 20


def test_without_redis_a_fresh_signals_process_announces_its_first_levels_as_states(tmp_path, ctx):
    cfg = write_config(tmp_path, pipeline={"heartbeat_s": 0.2}, redis={"enabled": False},
                       signals={"alert_confirm_s": 0.0, "restart_grace_s": 60.0})
    publisher = ctx.socket(zmq.PULL)  # stands in for the publisher
    publisher.setsockopt(zmq.LINGER, 0)
    publisher.bind(f"ipc://{tmp_path}/ipc/publisher-in.ipc")
    signals = Stage(cfg, "signals")
    push = Sender(ctx, f"ipc://{tmp_path}/ipc/signals-in.ipc", "analytics-test")
    try:
        signals.wait_started("signals")
        got: list = []

        def level_seen() -> bool:
            push.send(topics.metrics("AAAUSDT"), [snap(0.6, time.time(), symbol="AAAUSDT")])
            got.extend(drain(publisher, 100))
            return any(isinstance(m, Signal) and m.level == "ALERT" for _, m in got)
        wait_until(level_seen, 20, what="AAAUSDT at ALERT")
        sig = next(m for _, m in got if isinstance(m, Signal) and m.level == "ALERT")
        assert sig.heartbeat and sig.components["initial"] is True  # a state, not a change
        assert changes(got) == []
    finally:
        signals.stop()
        push.close()
