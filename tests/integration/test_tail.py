"""`liqcascade tail` as a user runs it: a real subprocess following ZMQ and Redis, filtered by level."""
from __future__ import annotations

import signal
import subprocess
import sys

import orjson
import pytest
import zmq

from common import topics
from common.schema import Signal
from common.sockets import make_socket
from common.wire import SeqStamper
from tests.integration.pipeline_harness import REPO, OutputCollector, child_env, write_config
from tests.polling import wait_until
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)


def sig(level: str, previous: str = "NONE", symbol: str = "BTCUSDT") -> Signal:
    return Signal(symbol, level, 0.8, 0.7, "long", "HIGH", f"{symbol} {level} because", 1_700_000_000_000_000_000,
                  previous_level=previous)


def json_lines(out: OutputCollector) -> list[dict]:
    return [orjson.loads(line) for line in out.lines if line.startswith("{")]


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(5)


def test_tail_follows_zmq_with_a_level_filter_as_json(tmp_path):
    config = write_config(tmp_path, "redis://127.0.0.1:1/0")
    ctx = zmq.Context()
    pub = make_socket(ctx, zmq.PUB, f"ipc://{tmp_path / 'ipc'}/pub.ipc", bind=True, hwm=1000)
    stamper = SeqStamper("test-signals")
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "tail", "--source", "zmq", "--json",
                             "--level", "ALERT"], cwd=REPO, env=child_env(config), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    out = OutputCollector(proc)
    try:
        def published_and_seen() -> bool:  # SUB joins late: keep publishing until the first line arrives
            for s in (sig("WATCH"), sig("ALERT", "WATCH")):
                pub.send_multipart(stamper.stamp(topics.signal(s.level, s.symbol), [s]))
            return any(d["signal"] == "ALERT" for d in json_lines(out))
        wait_until(published_and_seen, 20, what="an ALERT line from tail")
        pub.send_multipart(stamper.stamp(topics.signal("WATCH", "BTCUSDT"), [sig("WATCH", "CRITICAL")]))
        wait_until(lambda: any(d["previous_level"] == "CRITICAL" for d in json_lines(out)), 10,
                   what="the step down from CRITICAL (the end of an episode is shown)")
        assert stop(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        pub.close(0)
        ctx.term()
    lines = json_lines(out)
    assert all(d["signal"] != "WATCH" or d["previous_level"] == "CRITICAL" for d in lines)  # WATCH filtered
    alert = next(d for d in lines if d["signal"] == "ALERT")
    assert (alert["symbol"], alert["direction"], alert["ts"]) == ("BTCUSDT", "long", 1_700_000_000_000)


def test_tail_follows_redis_in_readable_form(tmp_path):
    server = RedisServer().start()
    try:
        config = write_config(tmp_path, server.url)
        proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "tail", "--source", "redis"], cwd=REPO,
                                env=child_env(config), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = OutputCollector(proc)
        client = server.client()
        body = orjson.dumps(sig("CRITICAL", "ALERT", "ETHUSDT").to_json_dict())

        def seen() -> bool:
            client.publish("cascade:signals", body)
            return any("ETHUSDT" in line for line in out.lines)
        wait_until(seen, 20, what="the signal in tail's output")
        line = next(line for line in out.lines if "ETHUSDT" in line)
        assert "CRITICAL" in line and "ALERT->CRITICAL" in line and "ETHUSDT CRITICAL because" in line
        assert stop(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()
