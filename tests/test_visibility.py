"""The visibility bound (liqcascade/tools/visibility.py): gate crossings of the truth and of what feeds show."""
from __future__ import annotations

from click.testing import CliRunner

from common.config import AnalyticsConfig
from liqcascade.tools.visibility import crossing_s, main, margins, rows_for, views

NS = 1_000_000_000
T0 = 1_700_000_000 * NS


def _liq(t_s: float, usd: float, side: str = "long", symbol: str = "BTCUSDT") -> dict:
    return {"symbol": symbol, "side": side, "ts_event": T0 + int(t_s * NS), "notional_usd": usd}


def test_the_gate_is_met_by_the_crowd_of_the_named_side_in_its_best_window() -> None:
    label = {"symbol": "BTCUSDT", "side": "long", "start_ns": T0, "end_ns": T0 + 20 * NS}
    # $100k of longs every 0.5 s: the 2 s window holds $400k (0.35 x $1M = $350k met at 1.5 s, four events)
    events = [_liq(k * 0.5, 100_000.0) for k in range(20)]
    events += [_liq(0.1, 5_000_000.0), _liq(0.2, 900_000.0, side="short")]  # a whale, the other side
    t, m = margins(events, label, gate=1_000_000.0, whale=1_000_000.0)
    assert len(t) == 21  # the short is not the named side; the whale is an event but adds no crowd USD
    assert crossing_s(t, m, T0) == 1.5
    assert crossing_s(t, m * 0.5, T0) == 9.5  # twice the gate: the 10 s window's $2M, the 20th event
    assert crossing_s(t, m * 0.1, T0) is None
    assert crossing_s(t, m, T0 + 5 * NS) == 0.0  # counted from the start given: met there already


def test_what_feeds_show_never_meets_a_gate_before_the_truth_does() -> None:
    cfg = AnalyticsConfig()
    for kind in ("throttled_only", "cascades"):
        v = views(kind, seed=7, split="train", count=3)
        assert len(v.shown) < len(v.truth)  # throttling dropped events
        rows = [r for r in rows_for(kind, v, cfg, scale=1.0) if r.positive]
        assert len(rows) == 3 and all(r.truth is not None for r in rows)
        for r in rows:
            assert r.shown is None or r.truth <= r.shown
    neg = views("spikes", seed=7, split="train", count=2)
    for r in rows_for("spikes", neg, cfg, scale=1.0):
        assert not r.positive and r.truth >= r.shown >= 0.0


def test_the_cli_prints_one_table_per_scale_and_refuses_a_bad_scale() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["--count", "2", "--hours", "0.5", "--scale", "1", "--scale", "1.5"])
    assert out.exit_code == 0, out.output
    assert out.output.count("== ALERT gate x") == 2 and "== ALERT gate x1.5 (train, seed 1)" in out.output
    assert "throttled_only" in out.output and "all positives" in out.output and "chop_swing" in out.output
    bad = runner.invoke(main, ["--scale", "0"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output and "--scale" in bad.output
