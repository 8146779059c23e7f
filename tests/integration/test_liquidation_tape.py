"""The liquidation tape through the demo pipeline: every liquidation the ingesters produced is on the
`liq.<exchange>.<SYMBOL>` ZMQ topics and in the `liquidations:stream` Redis stream; `tail --liquidations`.

The run plays one round of the demo (`exchange-sim --rounds 1`) and is compared once the flow has ended,
so the counts are exact and do not depend on which process exits first at SIGTERM.
"""
from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections import Counter

import orjson
import pytest
import zmq

from common import topics
from common.config import RedisConfig
from common.schema import FeedStatus, Liquidation
from common.sockets import make_socket
from common.wire import GapCounter, SeqStamper, decode
from liqcascade.sim.venues import sim_urls
from publisher.redis_sink.tape_sink import TapeSink
from tests.integration.pipeline_harness import REPO, OutputCollector, child_env, terminate_and_wait, write_config
from tests.polling import wait_until
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.timeout(180)
VENUES = ("binance", "bybit", "okx", "hyperliquid")


class TapeWatcher:
    """SUB to `liq.` and `status.` on the signals PUB: tape counts per venue, gaps, final statuses."""

    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.sub = make_socket(self.ctx, zmq.SUB, endpoint, bind=False, hwm=1_000_000,
                               subscribe=(topics.LIQ + b".", topics.STATUS + b"."))
        self.tape: Counter[str] = Counter()
        self.bad_topics: list[bytes] = []
        self.statuses: dict[str, list[FeedStatus]] = {}
        self.gaps = GapCounter("test-tape")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.sub.poll(50):
                continue
            topic, sender, seq, msgs = decode(self.sub.recv_multipart())
            if topic.startswith(b"status."):
                for m in msgs:
                    self.statuses.setdefault(m.exchange, []).append(m)
                continue
            self.gaps.check(sender, topic, seq)
            for m in msgs:
                assert isinstance(m, Liquidation)
                if topic != topics.liquidation(m.exchange, m.symbol):
                    self.bad_topics.append(topic)
                self.tape[m.exchange] += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sub.close()
        self.ctx.term()


def test_zmq_tape_and_redis_stream_carry_every_liquidation_of_a_demo_run(tmp_path):
    redis_server = RedisServer().start()
    port = free_port()
    env = child_env(write_config(tmp_path, redis_server.url, urls=sim_urls("127.0.0.1", port, list(VENUES))))
    watcher = TapeWatcher(f"ipc://{tmp_path / 'ipc'}/pub.ipc")
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "up", "--exchanges", ",".join(VENUES), "--no-tail"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = OutputCollector(proc)
    sim = None

    def settled() -> bool:
        """Each ingester's count unchanged over two heartbeats and equal to the tape's; Redis has them all."""
        last = {v: watcher.statuses.get(v, [])[-2:] for v in VENUES}
        if not all(len(s) == 2 and s[0].events == s[1].events == watcher.tape[v] > 0 for v, s in last.items()):
            return False
        return redis_server.client().xlen("liquidations:stream") == sum(watcher.tape.values())
    try:
        wait_until(lambda: out.text().count(": started") >= 4 + 2 + 1 + 1, 60, what="the pipeline up")
        sim = subprocess.Popen([sys.executable, "-m", "liqcascade", "exchange-sim", "--port", str(port), "--venues",
                                ",".join(VENUES), "--speed", "3", "--rounds", "1"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: sim.poll() is not None, 60, what="the demo round played")
        wait_until(settled, 30, what="the tape and the stream caught up with the ingesters")
        produced = {v: watcher.statuses[v][-1].events for v in VENUES}
        entry = redis_server.client().xrange("liquidations:stream", count=1)[0][1]
        terminate_and_wait(proc)
    finally:
        watcher.close()
        for p in (proc, sim):
            if p is not None and p.poll() is None:
                p.kill()
        redis_server.stop()
    stopped = {v: int(n) for v, n in re.findall(r"ingest\.(\w+): stopped; (\d+) events", out.text())}
    assert stopped == produced, out.text()[-3000:]
    assert dict(watcher.tape) == produced and sum(produced.values()) > 100  # on liq.<exchange>.<SYMBOL>
    assert watcher.gaps.gaps == 0 and watcher.bad_topics == []
    gaps = dict(re.findall(r"(analytics-\d|signals|publisher): stopping \([^)]*\); (\d+) gap", out.text()))
    assert gaps == {"analytics-0": "0", "analytics-1": "0", "signals": "0", "publisher": "0"}, out.text()[-3000:]
    assert {k.decode() for k in entry} == set(Liquidation._fields)


def test_tail_liquidations_shows_the_tape_above_a_minimum(tmp_path):
    config = write_config(tmp_path, "redis://127.0.0.1:1/0")
    ctx = zmq.Context()
    pub = make_socket(ctx, zmq.PUB, f"ipc://{tmp_path / 'ipc'}/pub.ipc", bind=True, hwm=1000)
    stamper = SeqStamper("test-ingest")
    big = Liquidation("binance", "BTCUSDT", "BTCUSDT", "long", 97_300.0, 12.3, 1_196_790.0, 10**18, 10**18)
    small = Liquidation("bybit", "BTCUSDT", "BTCUSDT", "short", 97_300.0, 0.1, 9_730.0, 10**18, 10**18)
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "tail", "--liquidations", "--source", "zmq",
                             "--min-usd", "1e6"], cwd=REPO, env=child_env(config), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    out = OutputCollector(proc)
    try:
        def seen() -> bool:  # SUB joins late: keep publishing until the first line arrives
            for liq in (small, big):
                pub.send_multipart(stamper.stamp(topics.liquidation(liq.exchange, liq.symbol), [liq]))
            return any("Liquidated" in line for line in out.lines)
        wait_until(seen, 20, interval=0.1, what="a tape line from tail")
    finally:
        proc.terminate()
        proc.wait(5)
        pub.close(0)
        ctx.term()
    lines = [line for line in out.lines if "Liquidated" in line]
    assert lines and all(line.endswith("#BTC Long Liquidated $1.2M @ 97,300 on Binance") for line in lines)


def test_tail_liquidations_from_the_redis_stream(tmp_path):
    redis_server = RedisServer().start()
    config = write_config(tmp_path, redis_server.url)
    sink = TapeSink(RedisConfig(url=redis_server.url))
    big = Liquidation("okx", "ETHUSDT", "ETH-USDT-SWAP", "short", 3012.5, 200.0, 602_500.0, 10**18, 10**18, True,
                     "throttled")
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "tail", "--liquidations", "--json"], cwd=REPO,
                            env=child_env(config), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = OutputCollector(proc)
    try:
        def seen() -> bool:  # XREAD starts at "now": keep adding until the first line arrives
            sink.add([big])
            sink.flush()
            return any(line.startswith("{") for line in out.lines)
        wait_until(seen, 20, interval=0.1, what="a tape line from tail --source redis")
    finally:
        proc.terminate()
        proc.wait(5)
        sink.client.close()
        redis_server.stop()
    first = orjson.loads(next(line for line in out.lines if line.startswith("{")))
    assert Liquidation(**first) == big
