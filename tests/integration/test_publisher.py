"""The publisher against a real Redis: the contract's names, and surviving Redis going away."""
from __future__ import annotations

import threading

import orjson
import pytest
import zmq

from common import topics
from common.config import load_config
from common.schema import MetricsSnapshot, Regime, Signal
from common.wire import SeqStamper
from publisher.redis_sink.process import Publisher
from tests.polling import wait_until
from tests.redis_server import RedisServer


def sig(level: str, symbol: str = "BTCUSDT", heartbeat: bool = False, ts: int = 1_700_000_000_000_000_000) -> Signal:
    return Signal(symbol, level, 0.75, 0.8, "long", "NORMAL", f"{symbol} {level}", ts, heartbeat=heartbeat,
                  stages={"event": ts - 5, "signal": ts})


def snap(symbol: str, v: float) -> MetricsSnapshot:
    return MetricsSnapshot(symbol, 1_700_000_000_000_000_000, {"10s": v}, {"10s": 0.0}, {"10s": 0.0},
                           {"10s": 1.0}, {"binance": v}, 0.0, 1, 0.4, 0.6, "long", {}, "x")


@pytest.fixture
def redis_server():
    srv = RedisServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def publisher(tmp_path, redis_server):
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path)},
                                 "redis": {"url": redis_server.url, "buffer": 50, "history_len": 3,
                                           "backoff_max_s": 0.2}}, env={})
    pub = Publisher(cfg)
    thread = threading.Thread(target=pub.run, daemon=True)
    thread.start()
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(cfg.endpoint("publisher"))
    stamper = SeqStamper("test")

    def send(topic: bytes, msgs: list) -> None:
        push.send_multipart(stamper.stamp(topic, msgs))
    yield pub, send
    pub.stop.set()
    thread.join(5)
    assert not thread.is_alive(), "publisher did not stop within 5 s"
    push.close(0)
    ctx.term()


def test_signals_go_to_channels_keys_history_and_stream(redis_server, publisher):
    pub, send = publisher
    r = redis_server.client()
    ps = r.pubsub()
    ps.subscribe("cascade:signals", "cascade:alerts", "cascade:critical")
    wait_until(lambda: ps.get_message(timeout=0.05) is None and r.pubsub_numsub("cascade:critical")[0][1] == 1)
    send(topics.signal("WATCH", "ETHUSDT"), [sig("WATCH", "ETHUSDT")])
    send(topics.signal("ALERT", "BTCUSDT"), [sig("ALERT")])
    send(topics.signal("CRITICAL", "BTCUSDT"), [sig("CRITICAL")])
    send(topics.signal("CRITICAL", "BTCUSDT"), [sig("CRITICAL", heartbeat=True)])
    send(topics.REGIME, [Regime("HIGH", 1.9, 1_700_000_000_000_000_000)])
    send(topics.metrics("BTCUSDT"), [snap("BTCUSDT", 10.0), snap("BTCUSDT", 42.0)])

    got: dict[str, list[dict]] = {"cascade:signals": [], "cascade:alerts": [], "cascade:critical": []}

    def collect() -> bool:
        m = ps.get_message(timeout=0.05)
        if m and m["type"] == "message":
            got[m["channel"].decode()].append(orjson.loads(m["data"]))
        return len(got["cascade:signals"]) == 4 and len(got["cascade:critical"]) == 1
    wait_until(collect, what="published signals")
    assert [s["signal"] for s in got["cascade:signals"]] == ["WATCH", "ALERT", "CRITICAL", "CRITICAL"]
    assert [s["signal"] for s in got["cascade:alerts"]] == ["ALERT", "CRITICAL"]  # heartbeats are not alerts
    first = got["cascade:alerts"][0]
    assert first["symbol"] == "BTCUSDT" and first["direction"] == "long" and first["ts"] == 1_700_000_000_000
    assert {"probability", "confidence", "regime", "explanation"} <= set(first)

    wait_until(lambda: r.get("velocity:BTCUSDT:current"), what="velocity key")
    assert orjson.loads(r.get("velocity:BTCUSDT:current"))["velocity_usd_per_s"]["10s"] == 42.0  # newest wins
    assert orjson.loads(r.get("cascade:probability:BTCUSDT"))["level"] == "CRITICAL"
    assert orjson.loads(r.get("regime:current"))["regime"] == "HIGH"
    history = [orjson.loads(x)["signal"] for x in r.lrange("cascade:signals:history", 0, -1)]
    assert history == ["CRITICAL", "ALERT", "WATCH"]  # newest first, heartbeats excluded
    entries = r.xrange("cascade:stream")
    assert [orjson.loads(f[b"signal"])["signal"] for _, f in entries] == ["WATCH", "ALERT", "CRITICAL"]


def test_history_is_capped(redis_server, publisher):
    _, send = publisher
    for i in range(6):
        send(topics.signal("ALERT", "BTCUSDT"), [sig("ALERT", ts=1_700_000_000_000_000_000 + i)])
    r = redis_server.client()
    wait_until(lambda: r.xlen("cascade:stream") == 6, what="6 stream entries")
    assert r.llen("cascade:signals:history") == 3


def test_redis_down_then_back_buffers_drops_oldest_and_resumes(redis_server, publisher):
    pub, send = publisher
    r = redis_server.client()
    send(topics.signal("ALERT", "AAAUSDT"), [sig("ALERT", "AAAUSDT")])
    wait_until(lambda: r.exists("cascade:probability:AAAUSDT"), what="first write")
    redis_server.stop()
    for i in range(80):  # more than the 50-message buffer
        send(topics.signal("ALERT", f"S{i}USDT"), [sig("ALERT", f"S{i}USDT")])
    wait_until(lambda: pub.sink.dropped == 30 and not pub.sink.up, what="oldest 30 dropped while down")
    assert len(pub.sink.buffer) == 50
    redis_server.start()
    r = redis_server.client()
    wait_until(lambda: r.xlen("cascade:stream") == 50, timeout=15, what="buffer written after Redis returned")
    symbols = [orjson.loads(f[b"signal"])["symbol"] for _, f in r.xrange("cascade:stream")]
    assert symbols == [f"S{i}USDT" for i in range(30, 80)]  # the newest 50, in order
    send(topics.signal("CRITICAL", "ZZZUSDT"), [sig("CRITICAL", "ZZZUSDT")])
    wait_until(lambda: r.exists("cascade:probability:ZZZUSDT"), what="live writes resumed")


def test_health_key_has_venues_last_signal_and_a_short_ttl(redis_server, publisher):
    from common.schema import FeedStatus
    from publisher.redis_sink.health import KEY, TTL_S

    pub, send = publisher
    now = 1_700_000_000_000_000_000
    send(topics.status("bybit"), [FeedStatus("bybit", True, False, 2, 10, 0, 5, now, now)])
    send(topics.signal("ALERT", "BTCUSDT"), [sig("ALERT", ts=now)])
    r = redis_server.client()

    def health() -> dict | None:
        raw = r.get(KEY)
        body = orjson.loads(raw) if raw else None
        return body if body and body["last_signal_ts"] and body["venues"] else None
    body = wait_until(health, 10, what="liqcascade:health with the venue and the signal")
    assert body["last_signal_ts"] == now // 1_000_000
    assert body["venues"]["bybit"]["connected"] is True and body["venues"]["bybit"]["reconnects"] == 2
    assert 0 < r.ttl(KEY) <= TTL_S
    pub.stop.set()
    wait_until(lambda: r.ttl(KEY) == -2, TTL_S + 5, interval=0.2, what="the key to expire once the publisher stopped")


def test_a_batch_sets_the_snapshot_keys_before_it_publishes_its_alerts(redis_server):
    """Within one write the velocity key goes first: Redis may serve a consumer's read between two parts of a long
    pipeline, and one that reads velocity:<SYMBOL> on an alert must find the snapshot that came with it."""
    from publisher.redis_sink.sink import RedisSink

    sink = RedisSink(load_config(overrides={"redis": {"url": redis_server.url}}, env={}).redis)
    monitor = redis_server.client().monitor()
    with monitor as m:
        sink.add([sig("ALERT"), snap("BTCUSDT", 5e5)])
        assert sink.flush() == 2
        seen = []
        while not any(c.startswith("PUBLISH") for c in seen):
            seen.append(m.next_command()["command"])
    order = [c.split()[0] + " " + c.split()[1] for c in seen if c.startswith(("SET", "PUBLISH"))]
    assert order[:2] == ["SET velocity:BTCUSDT:current", "PUBLISH cascade:signals"], order
    sink.client.close()
