"""The bench's targets are ratios of figures of the same run, each judged against its limit."""
from __future__ import annotations

from liqcascade.bench.targets import evaluate, table_rows


def figures(**over: object) -> dict:
    res = {"python_floor_ns": 300.0, "analytics_update_ns": 540.0, "analytics_update_one_ns": 3000.0,
           "snapshot_us": 49.0, "memory_bytes_per_symbol": 40 * 1024, "memory_bytes_per_symbol_11_venues": 66 * 1024,
           "latency_1k_us": {"p50": 700.0, "p99": 3000.0},
           "raw_3hop_latency_1k_us": {"p50": 500.0, "p99": 2500.0},
           "latency_us": {"p50": 800.0, "p99": 6000.0}, "raw_3hop_latency_us": {"p50": 400.0, "p99": 4200.0},
           "pipeline_events_per_s": 130_000, "transport_events_per_s": 142_000}
    res.update(over)
    return res


def test_each_ratio_is_computed_from_the_same_run_and_judged_against_its_limit():
    t = evaluate(figures())
    assert t["update_vs_python_floor"] == {"what": t["update_vs_python_floor"]["what"], "value": 1.8,
                                           "limit": "<= 2", "pass": True}
    assert t["latency_p50_1k_vs_raw"]["value"] == 1.4 and t["latency_p50_1k_vs_raw"]["pass"]
    assert t["latency_p50_10k_vs_raw"]["value"] == 2.0 and not t["latency_p50_10k_vs_raw"]["pass"]
    assert t["latency_p99_10k_vs_raw"]["value"] == 1.43 and t["latency_p99_10k_vs_raw"]["pass"]
    assert t["throughput_vs_transport"]["value"] == 0.92 and t["throughput_vs_transport"]["pass"]
    assert t["memory_kb_per_symbol"]["value"] == 40.0 and t["memory_kb_per_symbol"]["pass"]
    assert t["memory_kb_per_symbol_11_venues"] == {"what": t["memory_kb_per_symbol_11_venues"]["what"],
                                                    "value": 66.0}  # stated, no limit
    assert t["snapshot_us"]["pass"]


def test_a_missing_figure_fails_its_target_instead_of_passing_silently():
    res = figures()
    del res["raw_3hop_latency_1k_us"]
    t = evaluate(res)
    assert t["latency_p50_1k_vs_raw"]["value"] is None and t["latency_p50_1k_vs_raw"]["pass"] is False
    rows = "\n".join(table_rows(t))
    assert "FAIL" in rows and "n/a" in rows and "stated" in rows


def test_a_latency_run_that_did_not_happen_fails_instead_of_reading_zero():
    # `bench --rates ''` runs no latency run: its percentiles are zeros of no samples, not a 0x ratio
    t = evaluate(figures(latency_us={"p50": 0.0, "p99": 0.0, "p999": 0.0, "n": 0}))
    for name in ("latency_p50_10k_vs_raw", "latency_p99_10k_vs_raw"):
        assert t[name]["value"] is None and t[name]["pass"] is False
    assert t["latency_p50_1k_vs_raw"]["pass"]  # the 1,000/s run's figures are there
