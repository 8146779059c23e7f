"""The `up --demo` signal view: `liqcascade tail` as `up` starts it (zmq, --width, --color) shows each level
change once, colored by level, every line within the width, and no heartbeats."""
from __future__ import annotations

import signal
import subprocess
import sys

import click
import pytest
import zmq

from common import topics
from common.schema import Signal
from common.sockets import make_socket
from common.wire import SeqStamper
from tests.integration.pipeline_harness import REPO, OutputCollector, child_env, write_config
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(60)
EXPLANATION = ("ETHUSDT EXTREME: cascade probability 97%, long side liquidated; ETHUSDT: $7.1M of longs liquidated "
               "in 10 s, 28.6× the $25k/s floor, accelerating, on 3 of 4 venues (ρ 0.59); regime HIGH (x1.9); "
               "BTC -302 bps in 60 s (odds x1.50).")


def sig(level: str, previous: str, heartbeat: bool = False, ts_ms: int = 1_700_000_000_000) -> Signal:
    return Signal("ETHUSDT", level, 0.97, 0.8, "long", "HIGH", EXPLANATION, ts_ms * 1_000_000,
                  previous_level=previous, heartbeat=heartbeat)


def test_demo_view_fits_shows_each_change_once_colored(tmp_path):
    config = write_config(tmp_path, "redis://127.0.0.1:1/0")
    ctx = zmq.Context()
    pub = make_socket(ctx, zmq.PUB, f"ipc://{tmp_path / 'ipc'}/pub.ipc", bind=True, hwm=1000)
    stamper = SeqStamper("test-signals")
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "tail", "--source", "zmq", "--width", "70",
                             "--color"], cwd=REPO, env=child_env(config), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    out = OutputCollector(proc)
    try:
        def joined() -> bool:  # SUB joins late: a WATCH probe until tail shows it
            pub.send_multipart(stamper.stamp(topics.signal("WATCH", "ETHUSDT"), [sig("WATCH", "NONE", ts_ms=1)]))
            return any("NONE->WATCH" in line for line in out.lines)
        wait_until(joined, 20, what="tail joined")
        pub.send_multipart(stamper.stamp(topics.signal("EXTREME", "ETHUSDT"), [sig("EXTREME", "WATCH")]))
        pub.send_multipart(stamper.stamp(topics.signal("EXTREME", "ETHUSDT"), [sig("EXTREME", "EXTREME", True)]))
        pub.send_multipart(stamper.stamp(topics.signal("NONE", "ETHUSDT"), [sig("NONE", "EXTREME")]))
        wait_until(lambda: any("EXTREME->NONE" in line for line in out.lines), 10, what="the step down")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        pub.close(0)
        ctx.term()
    plain = [click.unstyle(line) for line in out.lines]
    assert all(len(line) <= 70 for line in plain), plain
    assert sum("WATCH->EXTREME" in line for line in plain) == 1
    assert not any("heartbeat" in line for line in plain)
    extreme = next(line for line in out.lines if "WATCH->EXTREME" in line)
    assert extreme.startswith("\x1b[35m")  # magenta: EXTREME's color, kept although stdout is a pipe
    assert any(line.strip().startswith("$7.1M of longs liquidated") for line in plain)
