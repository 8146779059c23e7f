"""The publisher against a real, misbehaving Redis: refused commands cost one message, never the process."""
from __future__ import annotations

import dataclasses
import logging

import orjson

from common import topics
from common.config import load_config
from common.schema import Regime
from publisher.redis_sink.sink import RedisSink
from tests.integration.test_publisher import publisher, redis_server, sig, snap  # noqa: F401 - fixtures
from tests.polling import wait_until


def test_wrongtype_history_key_costs_the_message_not_the_publisher(redis_server, publisher):  # noqa: F811
    pub, send = publisher
    r = redis_server.client()
    r.set("cascade:signals:history", "someone else's string")  # LPUSH on it: WRONGTYPE
    send(topics.signal("ALERT", "BTCUSDT"), [sig("ALERT")])
    wait_until(lambda: pub.sink.refused == 1, what="the refused write counted")
    assert pub.sink.dropped == 1 and pub.sink.buffer.dropped_by_kind == {"change": 1}
    # the commands Redis accepted still went through, and the next messages flow
    assert orjson.loads(r.get("cascade:probability:BTCUSDT"))["level"] == "ALERT"
    r.delete("cascade:signals:history")
    send(topics.signal("CRITICAL", "BTCUSDT"), [sig("CRITICAL")])
    wait_until(lambda: r.llen("cascade:signals:history") == 1, what="history written again")
    assert pub.sink.refused == 1 and pub.sink.up


def test_oom_refusals_are_counted_and_the_publisher_recovers(redis_server, publisher):  # noqa: F811
    pub, send = publisher
    r = redis_server.client()
    send(topics.REGIME, [Regime("HIGH", 1.9, 1_700_000_000_000_000_000)])
    wait_until(lambda: r.exists("regime:current"), what="first write")
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", "1mb")  # below what the server already uses: every write is refused
    for i in range(5):
        send(topics.signal("ALERT", f"S{i}USDT"), [sig("ALERT", f"S{i}USDT")])
    send(topics.metrics("BTCUSDT"), [snap("BTCUSDT", 1.0)])
    wait_until(lambda: pub.sink.refused == 6, what="6 refused messages")
    assert pub.sink.buffer.dropped_by_kind == {"change": 5, "metrics": 1}
    r.config_set("maxmemory", "0")
    send(topics.signal("CRITICAL", "ZZZUSDT"), [sig("CRITICAL", "ZZZUSDT")])
    wait_until(lambda: r.exists("cascade:probability:ZZZUSDT"), what="writes resumed")
    assert pub.sink.refused == 6


def test_per_symbol_keys_expire(redis_server, publisher):  # noqa: F811
    _, send = publisher
    r = redis_server.client()
    send(topics.signal("ALERT", "BTCUSDT"), [sig("ALERT", heartbeat=True)])
    send(topics.metrics("BTCUSDT"), [snap("BTCUSDT", 1.0)])
    wait_until(lambda: r.exists("velocity:BTCUSDT:current") and r.exists("cascade:probability:BTCUSDT"))
    assert 0 < r.ttl("velocity:BTCUSDT:current") <= 120 and 0 < r.ttl("cascade:probability:BTCUSDT") <= 120


def test_a_refused_password_is_said_as_such_and_nothing_buffered_is_lost(redis_server, caplog):  # noqa: F811
    redis_server.client().config_set("requirepass", "right")
    base = load_config(None, env={}).redis
    cfg = dataclasses.replace(base, url=f"redis://:wrong@127.0.0.1:{redis_server.port}/0", backoff_max_s=5.0)
    sink = RedisSink(cfg)
    sink.add([sig("ALERT")])
    with caplog.at_level(logging.WARNING, logger="publisher.redis_sink.sink"):
        sink.flush()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "refused the credentials" in errors[0].getMessage()
    assert "wrong" not in errors[0].getMessage()  # the password itself is never logged
    assert not any("unavailable" in r.getMessage() for r in caplog.records)  # not mistaken for an outage
    assert not sink.up and len(sink.buffer) == 1 and sink._delay == 5.0
