"""`liqcascade bench --quick --json` runs end to end and reports every figure (no thresholds), and the
user's Redis (a real one, given by REDIS_URL) sees no key and no message while it runs."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from tests.integration.pipeline_harness import REPO, child_env
from tests.polling import wait_until
from tests.redis_server import RedisServer

PERCENTILES = ("p50", "p99", "p999")


@pytest.mark.timeout(150)
def test_quick_bench_reports_every_figure_and_leaves_the_users_redis_alone(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    users = RedisServer().start()  # stands in for the user's Redis
    try:
        client = users.client()
        client.config_set("notify-keyspace-events", "KEA")  # any write shows up as a message too
        pubsub = client.pubsub()
        pubsub.psubscribe("*")
        seen: list[object] = []
        done = threading.Event()

        def listen() -> None:
            while not done.is_set():
                msg = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
                if msg:
                    seen.append(msg)
        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        env = dict(child_env(config), REDIS_URL=users.url)
        proc = subprocess.run([sys.executable, "-m", "liqcascade", "bench", "--quick", "--json"], cwd=REPO,
                              env=env, capture_output=True, timeout=180)
        client.publish("canary", "still listening")  # proves the listener was live all along
        wait_until(lambda: any(m.get("channel") == b"canary" for m in seen), 5, what="the canary")
        done.set()
        listener.join(5)
        assert [m for m in seen if m.get("channel") != b"canary"] == []
        assert client.dbsize() == 0
    finally:
        users.stop()
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-4000:]
    assert b"private redis-server" in proc.stderr
    res = json.loads(proc.stdout)
    assert res["redis"] == "private"

    assert "errors" not in res, res.get("errors")
    for key in ("transport_events_per_s", "transport_batched_events_per_s", "pipeline_events_per_s",
                "analytics_update_ns", "snapshot_us", "memory_bytes_per_symbol", "python_floor_ns",
                "analytics_update_one_ns", "memory_bytes_per_symbol_11_venues"):
        assert res[key] > 0, key
    assert res["memory_bytes_per_symbol_11_venues"] > res["memory_bytes_per_symbol"]  # venue rows cost memory
    for name, target in res["targets"].items():  # every ratio of issue 14, computed from this run's figures
        assert target["value"] is not None and target["value"] > 0, name
        assert "pass" not in target or isinstance(target["pass"], bool), name
    for key in ("transport_3hop_latency_us", "transport_3hop_latency_1k_us", "latency_us", "latency_1k_us"):
        assert all(res[key][p] > 0 for p in PERCENTILES), (key, res[key])
    assert res["pipeline_lost"] == 0
    assert res["parse_ns"]["binance"] > 0
    assert all(ns > 0 for ns in res["parse_ns"].values())
    assert res["tape_write_us"]["publisher_cpu_us"] > 0 and res["tape_write_us"]["redis_cpu_us"] > 0
    work = res["latency_work_us"]
    assert work["total"] == pytest.approx(work["ingest"] + work["analytics"] + work["signals"], abs=0.2)
    assert res["targets"]["latency_floor_1k_vs_raw"]["value"] > 1  # the raw chain plus the work: above the chain
    assert res["machine"]["cores"] >= 1 and res["machine"]["cpu"] and res["machine"]["python"]
    assert res["command"].startswith("liqcascade bench")
    for run in res["pipeline"].values():
        assert run["events_in"] > 0 and run["events_out"] == run["events_in"]
        assert run["cpu_percent"]["ingest"] > 0
