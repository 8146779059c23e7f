"""The dashboard on a running pipeline: a real browser sees the cascade, a real Prometheus scrapes every process
through /metrics, and /readyz follows the exchanges (the simulator) going away and coming back."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from liqcascade.sim.venues import sim_urls
from tests.integration.pipeline_harness import REPO, OutputCollector, child_env, terminate_and_wait, write_config
from tests.polling import wait_until
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.timeout(240)

VENUES = ["binance", "bybit", "okx"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


class Pipeline:
    """The simulator (a separate process, so a test can stop it) and `liqcascade up` against it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis = RedisServer().start()
        self.sim_port, self.port = free_port(), free_port()
        self.config = write_config(tmp, self.redis.url, urls=sim_urls("127.0.0.1", self.sim_port, VENUES),
                                   dashboard_port=self.port)
        self.env = child_env(self.config)
        self.base = f"http://127.0.0.1:{self.port}"
        self.sim: subprocess.Popen | None = None
        self.start_sim()
        self.proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "up", "--exchanges", ",".join(VENUES),
                                      "--no-tail"], cwd=REPO, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = OutputCollector(self.proc)

    def start_sim(self) -> None:
        self.sim = subprocess.Popen([sys.executable, "-m", "liqcascade", "exchange-sim", "--port", str(self.sim_port),
                                     "--venues", ",".join(VENUES), "--speed", "3"], cwd=REPO, env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_sim(self) -> None:
        assert self.sim is not None
        self.sim.terminate()
        self.sim.wait(10)

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(self.base + path, timeout=5)
        except httpx.HTTPError:
            return None

    def state(self) -> dict:
        r = self.get("/api/state")
        return r.json() if r is not None and r.status_code == 200 else {}

    def close(self) -> None:
        try:
            assert terminate_and_wait(self.proc) < 6.0
        finally:
            for p in (self.proc, self.sim):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait(5)
            self.redis.stop()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    p = Pipeline(tmp_path_factory.mktemp("live"))
    yield p
    p.close()


def alert_signal(pipeline: Pipeline) -> dict | None:
    return next((s for s in pipeline.state().get("signals", [])
                 if s["level"] in ("ALERT", "CRITICAL", "EXTREME") and s["explanation"]), None)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")
def test_browser_sees_the_cascade_with_explanation_and_charts(pipeline, tmp_path):
    from playwright.sync_api import sync_playwright

    try:
        sig = wait_until(lambda: alert_signal(pipeline), 120, interval=0.5, what="an ALERT+ signal in /api/state")
    except AssertionError:
        raise AssertionError("no signal; pipeline output:\n" + pipeline.out.text()[-4000:]) from None
    wait_until(lambda: any(pipeline.state()["bars"]["long"]), 30, what="liquidations in the per-minute bars")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(pipeline.base + "/")
            row = page.wait_for_selector(f'.sig.{sig["level"]}[data-symbol="{sig["symbol"]}"]', timeout=20_000)
            assert sig["explanation"] in row.inner_text()
            assert "velocity" in row.query_selector(".factors").inner_text()  # the factor breakdown
            page.wait_for_function("pricePlot && pricePlot.data[0].length > 1 && barsPlot.data[1].some(v => v > 0)",
                                   timeout=20_000)
            assert page.eval_on_selector_all("#price canvas, #bars canvas", "els => els.length") == 2
            assert "connected" in page.inner_text("#venues")
            ids = page.eval_on_selector_all(".sig", "els => els.map(e => e.dataset.id)")
            assert len(ids) == len(set(ids)), ids  # the first snapshot and the next delta overlap: no repeats
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            assert not errors, errors
        finally:
            browser.close()


@pytest.mark.skipif(not shutil.which("prometheus"), reason="Debian's prometheus is not installed (make test does)")
def test_prometheus_scrapes_every_process_through_one_target(pipeline, tmp_path):
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: liqcascade\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{pipeline.port}']}}]\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api/v1"

    def labels(metric: str, label: str) -> set[str]:
        try:
            r = httpx.get(f"{api}/series", params={"match[]": metric}, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return set()
        return {s.get(label) for s in r.get("data", [])}
    try:
        wait_until(lambda: set(VENUES) <= labels("liqcascade_ingest_frames_total", "venue"), 60,
                   interval=0.5, what="per-venue frame counters in Prometheus")
        assert set(VENUES) <= labels("liqcascade_ingest_connected", "venue")
        wait_until(lambda: {"analytics-0", "analytics-1", "signals", "publisher"}
                   <= labels("liqcascade_stage_events_in_total", "stage"), 30, what="per-stage counters")
        processes = labels("liqcascade_process_heartbeat_timestamp_seconds", "process")
        assert {"ingest.binance", "analytics-0", "signals", "publisher", "dashboard"} <= processes
        assert labels("liqcascade_e2e_latency_seconds_bucket", "le") >= {"0.001", "+Inf"}
        assert labels("liqcascade_redis_up", "__name__") == {"liqcascade_redis_up"}
        assert labels("liqcascade_build_info", "version")
        up = httpx.get(f"{api}/query", params={"query": "up"}, timeout=5).json()["data"]["result"]
        assert [r["value"][1] for r in up] == ["1"]  # one target for the whole pipeline
    finally:
        prom.terminate()
        prom.wait(10)


def test_readyz_follows_the_exchanges_going_away_and_coming_back(pipeline):
    def status(expected: int) -> dict | None:
        r = pipeline.get("/readyz")
        return r.json() if r is not None and r.status_code == expected else None

    ready = wait_until(lambda: status(200), 60, interval=0.5, what="/readyz 200")
    assert ready["checks"]["publisher"] == "publisher writing to Redis"
    def health() -> dict | None:  # the publisher's view, in Redis: each venue's first status may lag /readyz
        h = orjson.loads(pipeline.redis.client().get("liqcascade:health") or b"{}")
        return h if set(VENUES) <= set(h.get("venues", {})) else None

    h = wait_until(health, 20, interval=0.2, what="every venue in liqcascade:health")
    assert {"ingest.binance", "analytics-0", "signals", "publisher", "dashboard"} <= set(h["processes"])
    assert all(p["age_s"] < 10 for p in h["processes"].values()), h["processes"]
    assert h["venues"]["bybit"]["connected"]
    pipeline.stop_sim()
    t0 = time.monotonic()
    down = wait_until(lambda: status(503), 30, interval=0.2, what="/readyz 503 once the exchanges are gone")
    assert "no venue connected" in down["reasons"], down
    assert time.monotonic() - t0 < 20
    pipeline.start_sim()
    wait_until(lambda: status(200), 60, interval=0.5, what="/readyz 200 after the exchanges return")
