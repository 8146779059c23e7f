"""`liqcascade dashboard` as a process, fed by a test PUB socket speaking the signals process's topics."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import httpx
import orjson
import pytest
import zmq

from common import topics
from common.schema import FeedStatus, Liquidation, PriceTick, Signal
from common.wire import SeqStamper
from tests.integration.pipeline_harness import REPO, OutputCollector, child_env
from tests.polling import wait_until
from tests.redis_server import free_port

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def dashboard(tmp_path):
    port = free_port()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[pipeline]\nipc_dir = "{tmp_path / "ipc"}"\n[dashboard]\nport = {port}\npush_every_s = 0.1\n'
                   f'[store]\ndata_dir = "{tmp_path / "store"}"\n')
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    (tmp_path / "ipc").mkdir()
    pub.bind(f"ipc://{tmp_path / 'ipc'}/pub.ipc")
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "dashboard"], cwd=REPO, env=child_env(cfg),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = OutputCollector(proc)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(base + "/livez", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
    wait_until(up, 30, what="the dashboard to serve /livez")
    yield base, pub, proc, out
    if proc.poll() is None:
        proc.kill()
    pub.close()
    ctx.term()


def publish_until(pub: zmq.Socket, stamper: SeqStamper, msgs: dict[bytes, list], pred, what: str) -> None:
    """PUB/SUB joins late: publish again until the dashboard shows it (each batch is idempotent here)."""
    def step():
        for topic, batch in msgs.items():
            pub.send_multipart(stamper.stamp(topic, batch))
        return pred()
    wait_until(step, 20, interval=0.2, what=what)


def test_state_events_and_readiness_follow_the_stream(dashboard):
    base, pub, proc, out = dashboard
    r = httpx.get(base + "/readyz")
    assert r.status_code == 503 and "no venue connected" in r.json()["reasons"]
    page = httpx.get(base + "/")
    assert page.status_code == 200 and "uPlot.iife.min.js" in page.text
    assert httpx.get(base + "/static/vendor/uPlot.iife.min.js").status_code == 200

    now = time.time_ns()
    stamper = SeqStamper("test")
    sig = Signal("BTCUSDT", "ALERT", 0.62, 0.8, "long", "NORMAL", "BTCUSDT: $9.1M of longs liquidated in 10 s",
                 now, "WATCH", components={"factors": {"velocity": {"raw": 18.2, "score": 1.0, "weight": 0.35,
                                                                    "contribution": 0.35}}})
    msgs = {
        topics.status("bybit"): [FeedStatus("bybit", True, False, 0, 10, 0, 3, now, now)],
        topics.price("BTCUSDT"): [PriceTick("bybit", "BTCUSDT", 60_000.0, 0.1, now, now)],
        b"liq.bybit.BTCUSDT": [Liquidation("bybit", "BTCUSDT", "BTCUSDT", "long", 60_000.0, 10.0, 600_000.0,
                                           now, now)],
        topics.signal("ALERT", "BTCUSDT"): [sig],
    }
    publish_until(pub, stamper, msgs, lambda: httpx.get(base + "/readyz").status_code == 200, "/readyz 200")
    state = httpx.get(base + "/api/state").json()
    assert state["venues"]["bybit"]["connected"] and state["venues"]["bybit"]["feed"] == "complete"
    assert state["totals"]["1h"]["long_usd"] >= 600_000.0 and state["tape"][0]["usd"] == 600_000.0
    assert state["signals"][0]["explanation"] == sig.explanation
    assert state["levels"][0]["level"] == "ALERT" and state["prices"][0][1] == 60_000.0

    events: list[tuple[str, dict]] = []

    def read_sse() -> None:
        with httpx.stream("GET", base + "/events", timeout=30) as resp:
            event = ""
            for line in resp.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, orjson.loads(line[6:])))
    threading.Thread(target=read_sse, daemon=True).start()
    wait_until(lambda: events, 10, what="the first SSE event")
    assert events[0][0] == "state" and events[0][1]["signals"][0]["symbol"] == "BTCUSDT"
    liq2 = Liquidation("bybit", "ETHUSDT", "ETHUSDT", "short", 3000.0, 100.0, 300_000.0, now, now)
    pub.send_multipart(stamper.stamp(b"liq.bybit.ETHUSDT", [liq2]))
    wait_until(lambda: any(e == "delta" and any(t["symbol"] == "ETHUSDT" for t in d["tape"]) for e, d in events),
               10, what="the new liquidation in an SSE delta")

    # SIGTERM with a browser still attached: the stream is closed and the process exits, cleanly, in time.
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(8) == 0, out.text()[-2000:]
    assert time.monotonic() - t0 < 5.0


def test_metrics_endpoint_serves_the_dashboards_own_series(dashboard):
    base, *_ = dashboard
    def scrape() -> str | None:
        text = httpx.get(base + "/metrics").text
        return text if "liqcascade_dashboard_clients" in text else None
    text = wait_until(scrape, 10, what="/metrics")
    assert 'liqcascade_process_heartbeat_timestamp_seconds{process="dashboard"}' in text
    assert "liqcascade_build_info{" in text
