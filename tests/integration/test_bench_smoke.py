"""`liqcascade bench --quick --json` runs end to end and reports every figure (no thresholds)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.pipeline_harness import REPO, child_env

PERCENTILES = ("p50", "p99", "p999")


@pytest.mark.timeout(150)
def test_quick_bench_reports_every_figure_as_a_positive_number(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    proc = subprocess.run([sys.executable, "-m", "liqcascade", "bench", "--quick", "--json"], cwd=REPO,
                          env=child_env(config), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-4000:]
    res = json.loads(proc.stdout)

    assert "errors" not in res, res.get("errors")
    for key in ("transport_events_per_s", "transport_batched_events_per_s", "pipeline_events_per_s",
                "analytics_update_ns", "snapshot_us", "memory_bytes_per_symbol"):
        assert res[key] > 0, key
    for key in ("transport_3hop_latency_us", "latency_us", "latency_1k_us"):
        assert all(res[key][p] > 0 for p in PERCENTILES), (key, res[key])
    assert res["pipeline_lost"] == 0
    assert res["parse_ns"]["binance"] > 0
    assert all(ns > 0 for ns in res["parse_ns"].values())
    assert res["machine"]["cores"] >= 1 and res["machine"]["cpu"] and res["machine"]["python"]
    assert res["command"].startswith("liqcascade bench")
    for run in res["pipeline"].values():
        assert run["events_in"] > 0 and run["events_out"] == run["events_in"]
        assert run["cpu_percent"]["ingest"] > 0
