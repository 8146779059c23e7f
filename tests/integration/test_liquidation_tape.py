"""The liquidation tape through the demo pipeline: every liquidation the ingesters produced is on the
`liq.<exchange>.<SYMBOL>` ZMQ topics and in the `liquidations:stream` Redis stream; `tail --liquidations`."""
from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections import Counter

import pytest
import zmq

from common import topics
from common.schema import FeedStatus, Liquidation
from common.sockets import make_socket
from common.wire import GapCounter, SeqStamper, decode
from tests.integration.pipeline_harness import REPO, OutputCollector, child_env, terminate_and_wait, write_config
from tests.polling import wait_until
from tests.redis_server import RedisServer

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
        self.final: dict[str, FeedStatus] = {}
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
                self.final.update((m.exchange, m) for m in msgs if not m.connected)
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
    watcher = TapeWatcher(f"ipc://{tmp_path / 'ipc'}/pub.ipc")
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "up", "--demo", "--speed", "3", "--no-tail"],
                            cwd=REPO, env=child_env(write_config(tmp_path, redis_server.url)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = OutputCollector(proc)
    try:
        wait_until(lambda: sum(watcher.tape.values()) >= 300 and all(watcher.tape[v] for v in VENUES), 90,
                   what="liquidations from every venue on the tape")
        terminate_and_wait(proc)
        wait_until(lambda: set(watcher.final) == set(VENUES), 5, what="each ingester's final status")
        xlen = redis_server.client().xlen("liquidations:stream")
        entry = redis_server.client().xrange("liquidations:stream", count=1)[0][1]
    finally:
        watcher.close()
        if proc.poll() is None:
            proc.kill()
        redis_server.stop()
    stopped = {v: int(n) for v, n in re.findall(r"ingest\.(\w+): stopped; (\d+) events", out.text())}
    produced = {v: watcher.final[v].events for v in VENUES}
    assert stopped == produced, out.text()[-3000:]
    assert dict(watcher.tape) == produced  # every liquidation of every venue, on its liq.<exchange>.<SYMBOL>
    assert xlen == sum(produced.values())
    assert watcher.gaps.gaps == 0 and watcher.bad_topics == []
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
