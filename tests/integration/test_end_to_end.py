"""The whole pipeline as real processes: cascade in through the simulator, signals out in Redis and ZMQ."""
from __future__ import annotations

import re
import subprocess
import sys

import orjson
import pytest

from liqcascade.sim.venues import SIM_VENUES
from tests.integration.pipeline_harness import (
    REPO,
    OutputCollector,
    RedisAlertWatcher,
    ZmqSignalWatcher,
    assert_redis_contract,
    child_env,
    stop_launcher,
    terminate_and_wait,
    wait_for_alert,
    write_config,
)
from tests.polling import wait_until
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def redis_server():
    srv = RedisServer().start()
    yield srv
    srv.stop()


def stopped_codes(text: str) -> dict[str, str]:
    """honcho's `name stopped (rc=N)` lines."""
    return dict(re.findall(r"(\S+)\s+stopped \(rc=(-?\d+)\)", text))


def start_simulator(tmp_path, redis_server) -> tuple[dict[str, str], subprocess.Popen]:
    """The simulator for the launcher tests, serving the Procfile's venues, and the env pointing at it."""
    from liqcascade.sim.venues import sim_urls

    port = free_port()
    venues = ["binance", "bybit", "okx"]
    env = child_env(write_config(tmp_path, redis_server.url, urls=sim_urls("127.0.0.1", port, venues)))
    sim = subprocess.Popen([sys.executable, "-m", "liqcascade", "exchange-sim", "--port", str(port),
                            "--venues", ",".join(venues), "--speed", "3"], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return env, sim


def assert_history_recorded(config) -> None:
    """The demo run left a DuckDB file that `liqcascade history` reads: the cascade's longs and its ALERT."""
    env = child_env(config)
    totals = subprocess.run([sys.executable, "-m", "liqcascade", "history", "totals", "--since", "1h", "--by",
                             "symbol,side", "--json"], cwd=REPO, env=env, capture_output=True, timeout=60)
    assert totals.returncode == 0, totals.stderr.decode()[-2000:]
    rows = {(r["symbol"], r["side"]): r for r in orjson.loads(totals.stdout)}
    assert rows[("BTCUSDT", "long")]["usd"] > 1e6 and rows[("BTCUSDT", "long")]["count"] > 10, rows
    sigs = subprocess.run([sys.executable, "-m", "liqcascade", "history", "signals", "--since", "1h", "--json"],
                          cwd=REPO, env=env, capture_output=True, timeout=60)
    assert any(s["symbol"] == "BTCUSDT" and s["level"] in ("ALERT", "CRITICAL", "EXTREME")
               for s in orjson.loads(sigs.stdout)), sigs.stdout[-2000:]


def test_liqcascade_up_demo_detects_the_cascade_and_stops_cleanly(tmp_path, redis_server):
    config = write_config(tmp_path, redis_server.url)
    redis_watch = RedisAlertWatcher(redis_server)
    zmq_watch = ZmqSignalWatcher(f"ipc://{tmp_path / 'ipc'}/pub.ipc")
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "up", "--demo", "--speed", "3", "--no-tail"],
                            cwd=REPO, env=child_env(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = OutputCollector(proc)
    try:
        alert = wait_for_alert(redis_watch, zmq_watch, "BTCUSDT", "long", 90, out)
        assert 0.0 < alert["probability"] <= 1.0 and alert["explanation"]
        # the simulated venues' context went through ingest and analytics into the signal
        context = alert["components"]["market_context"]
        assert context["oi_usd"] > 1e8 and context["funding"] is not None and context["basis"] is not None
        assert context["est_usd_low"] <= context["est_usd"] <= context["est_usd_high"]
        assert_redis_contract(redis_server, "BTCUSDT")
        took = terminate_and_wait(proc)
    finally:
        zmq_watch.close()
        stop_launcher(proc)
    codes = stopped_codes(out.text())
    expected = {"sim", "analytics-0", "analytics-1", "signals", "publisher", "store", "dashboard"} | {
        f"ingest-{v}" for v in SIM_VENUES}  # the demo runs every venue the simulator speaks
    assert expected <= set(codes), out.text()[-3000:]
    assert all(codes[name] == "0" for name in expected), codes
    assert took < 6.0
    assert_history_recorded(config)


def test_honcho_procfile_runs_the_pipeline(tmp_path, redis_server):
    env, sim = start_simulator(tmp_path, redis_server)
    redis_watch = RedisAlertWatcher(redis_server)
    zmq_watch = ZmqSignalWatcher(f"ipc://{tmp_path / 'ipc'}/pub.ipc")
    proc = subprocess.Popen([sys.executable, "-m", "honcho", "-f", str(REPO / "Procfile"), "start"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = OutputCollector(proc)
    try:
        wait_for_alert(redis_watch, zmq_watch, "BTCUSDT", "long", 90, out)
        assert_redis_contract(redis_server, "BTCUSDT")
        took = terminate_and_wait(proc)
    finally:
        zmq_watch.close()
        for p in (proc, sim):
            stop_launcher(p)
    codes = stopped_codes(out.text())
    assert len(codes) == 9 and all(rc == "0" for rc in codes.values()), out.text()[-3000:]  # every Procfile line
    assert took < 6.0
    wait_until(lambda: sim.poll() is not None, 5, what="simulator exit")


def test_supervisord_conf_runs_the_pipeline_and_stops_it_as_a_group(tmp_path, redis_server):
    """The shipped supervisord.conf, with only its run-file paths (socket, pid, logs) moved to tmp."""
    conf = (REPO / "supervisord.conf").read_text().replace("%(here)s", str(REPO))
    conf = conf.replace("/tmp/liqcascade-", f"{tmp_path}/sv-").replace("childlogdir=/tmp", f"childlogdir={tmp_path}")
    (tmp_path / "supervisord.conf").write_text(conf)
    env, sim = start_simulator(tmp_path, redis_server)
    redis_watch = RedisAlertWatcher(redis_server)
    zmq_watch = ZmqSignalWatcher(f"ipc://{tmp_path / 'ipc'}/pub.ipc")
    proc = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-c", str(tmp_path / "supervisord.conf")],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = OutputCollector(proc)
    try:
        wait_for_alert(redis_watch, zmq_watch, "BTCUSDT", "long", 90, out)
        assert_redis_contract(redis_server, "BTCUSDT")
        took = terminate_and_wait(proc, seconds=12)
    finally:
        zmq_watch.close()
        for p in (proc, sim):
            stop_launcher(p)
    log = (tmp_path / "sv-supervisord.log").read_text()
    stopped = dict(re.findall(r"stopped: (\S+) \(exit status (\d+)\)", log))
    expected = {"ingest_binance", "ingest_bybit", "ingest_okx", "analytics_0", "analytics_1", "signals", "publisher",
                "store", "dashboard"}
    assert set(stopped) == expected, log[-3000:]
    assert all(code == "0" for code in stopped.values()), stopped
    assert took < 6.0  # one group: all programs stop together, each within its 5 s
