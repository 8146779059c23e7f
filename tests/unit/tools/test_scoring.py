"""Per-class scoring, reliability table, suite judgement on hand-made inputs; replay dedupe equals live dedupe."""
from __future__ import annotations

from collections import Counter

import orjson
import pytest
from click.testing import CliRunner

from common.config import load_config
from common.schema import Liquidation, Signal
from ingest.dedupe import Deduper
from liqcascade.cli import main
from liqcascade.tools import reliability
from liqcascade.tools.backtest import Replay, parse, read_lines
from liqcascade.tools.scenario import build
from liqcascade.tools.scoring import finish, score_stream
from liqcascade.tools.suite_eval import judge

S = 10**9


def sig(ts_s: float, prev: str, level: str, symbol: str = "ETHUSDT", heartbeat: bool = False) -> Signal:
    return Signal(symbol=symbol, level=level, probability=0.6, confidence=1.0, direction="long", regime="NORMAL",
                  explanation="", ts=int(ts_s * S), previous_level=prev, heartbeat=heartbeat)


def label(cls: str, positive: bool, symbol: str, start_s: float, end_s: float, usd: float = 3e7,
          venues: tuple[str, ...] = ("bybit", "okx")) -> dict:
    return {"symbol": symbol, "start_ns": int(start_s * S), "end_ns": int(end_s * S), "side": "long", "usd": usd,
            "venues": list(venues), "kind": cls, "class": cls, "positive": positive}


LABELS = [label("flash", True, "ETHUSDT", 100, 110), label("throttled_only", True, "BTCUSDT", 500, 540),
          label("second_wave", True, "ETHUSDT", 130, 150),
          label("whale", False, "BTCUSDT", 1000, 1000), label("split_whale", False, "ETHUSDT", 2000, 2000.5)]
SIGNALS = [sig(101, "NONE", "WATCH"), sig(104, "WATCH", "ALERT"), sig(125, "ALERT", "ALERT", heartbeat=True),
           sig(180, "ALERT", "NONE"),
           sig(800, "NONE", "ALERT", "BTCUSDT"), sig(850, "ALERT", "NONE", "BTCUSDT"),
           sig(1010, "NONE", "CRITICAL", "BTCUSDT"), sig(1100, "CRITICAL", "NONE", "BTCUSDT"),
           sig(1500, "NONE", "EXTREME", "MARKET"), sig(2001, "NONE", "WATCH")]


def test_score_stream_recall_delay_false_alerts_and_negatives():
    res = finish(score_stream(SIGNALS, LABELS, span_s=43_200.0, n_symbols=2))
    assert res["classes"]["flash"] == {"labels": 1, "detected": 1, "recall": 1.0,
                                       "delay_s": {"median": 4.0, "p90": 4.0, "max": 4.0, "n": 1}}
    assert res["classes"]["throttled_only"]["recall"] == 0.0 and res["classes"]["throttled_only"]["delay_s"]["n"] == 0
    # the level was still ALERT when the second wave began (window opens 10 s early): delay 0
    assert res["classes"]["second_wave"]["delay_s"]["median"] == 0.0
    assert res["false_alerts"] == 2 and res["symbol_days"] == 1.0 and res["false_alerts_per_symbol_day"] == 2.0
    assert res["negatives"] == {"whale": {"labels": 1, "at_alert": 1}, "split_whale": {"labels": 1, "at_alert": 0}}


def test_reliability_bins_count_snapshots_inside_positive_labels():
    evals = [("ETHUSDT", 105 * S, 0.55), ("ETHUSDT", 112 * S, 0.57), ("ETHUSDT", 126 * S, 0.51),
             ("ETHUSDT", 300 * S, 0.05), ("BTCUSDT", 520 * S, 1.0), ("BTCUSDT", 105 * S, 0.59),
             ("BTCUSDT", 1000 * S, 0.95)]
    c = reliability.counts(evals, LABELS, tail_s=15.0)
    assert c["count"] == [1, 0, 0, 0, 0, 4, 0, 0, 0, 2]
    # 105 and 112 (within the 15 s tail) in the ETH flash; 126 is past it; BTC at 105 is the wrong symbol
    assert c["inside"] == [0, 0, 0, 0, 0, 2, 0, 0, 0, 1]
    rows = reliability.table(reliability.merge([c, c]))
    assert rows[5] == {"lo": 0.5, "hi": 0.6, "count": 8, "in_cascade": 0.5} and rows[3]["in_cascade"] is None
    assert reliability.lines(rows)[-1].startswith("[0.9, 1.0]")


def test_judge_fails_a_whale_at_alert_and_a_slow_throttled_class():
    pos = score_stream(SIGNALS[:4], LABELS[:3], 3600.0, 2)
    pos.update(kind="mixed", positive=True, replay_s=1.0, reliability=reliability.counts([], []), targets=None)
    neg = score_stream(SIGNALS[4:], LABELS[3:], 86_400.0, 2)
    neg.update(kind="whales", positive=False, replay_s=1.0, reliability=reliability.counts([], []), targets=None)
    report = judge([pos, neg])
    rows = {r["name"]: r for r in report["rows"]}
    assert rows["flash"]["pass"] and not rows["throttled_only"]["pass"]
    assert rows["whales"]["false_alerts"] == 2 and rows["whales"]["false_per_symbol_day"] == 1.0
    assert not rows["whales"]["pass"]  # the rate is within 1/symbol-day, but a whale reached ALERT
    assert rows["all positives"]["delay_s"]["median"] == 2.0 and not report["passed"]


def live_dedupe(path) -> list[Liquidation]:
    """What the live ingesters would pass on: one ingest Deduper per venue process."""
    per_venue: dict[str, Deduper] = {}
    out = []
    for msg in parse(read_lines(path)):
        if isinstance(msg, Liquidation):
            out += per_venue.setdefault(msg.exchange, Deduper()).filter([msg])
    return out


@pytest.fixture(scope="module")
def dup_stream(tmp_path_factory):
    st = build("duplicates", 3, count=3)
    clean = build("duplicates", 3, count=3)
    clean.duplicate = False
    root = tmp_path_factory.mktemp("dup")
    return st.write(root / "dup")[0], clean.write(root / "clean")[0]


def test_backtest_dedupe_equals_live_dedupe(dup_stream):
    dup, clean = dup_stream
    cfg = load_config(env={})
    kept = live_dedupe(dup)
    total = sum(1 for line in dup.read_bytes().splitlines() if b'"liquidation"' in line)
    rep = Replay(cfg)
    rep.run(parse(read_lines(dup)))
    assert rep.events == len(kept) == total // 2 and rep.duplicates == total - len(kept)
    ref = Replay(cfg)
    ref.run(parse(read_lines(clean)))
    assert ref.duplicates == 0 and ref.events == rep.events
    assert [(s.ts, s.symbol, s.level, s.probability) for s in rep.signals] == \
           [(s.ts, s.symbol, s.level, s.probability) for s in ref.signals]
    raw = Replay(cfg, dedupe=False)  # --no-dedupe: every copy reaches analytics
    raw.run(parse(read_lines(dup)))
    assert raw.events == total and raw.duplicates == 0


def test_backtest_labels_json_has_classes_and_a_reliability_table(tmp_path):
    data, labels = build("split_whales", 2, count=3).write(tmp_path)
    res = CliRunner().invoke(main, ["backtest", str(data), "--labels", str(labels), "--json"])
    assert res.exit_code == 0, res.output
    out = orjson.loads(res.stdout)["per_class"]
    assert out["negatives"]["split_whale"]["labels"] == 3 and len(out["reliability"]) == 10
    assert sum(r["count"] for r in out["reliability"]) > 1000  # one evaluation per snapshot, ~1/s per symbol
    text = CliRunner().invoke(main, ["backtest", str(data), "--labels", str(labels)])
    assert "split_whale reaching ALERT:" in text.output and "[0.5, 0.6)" in text.output


def test_backtest_suite_prints_one_table_per_split(tmp_path):
    gen = CliRunner().invoke(main, ["scenario", "--suite", str(tmp_path), "--count", "1", "--kind", "whales",
                                    "--kind", "flash"])
    assert gen.exit_code == 0, gen.output
    res = CliRunner().invoke(main, ["backtest", "--suite", str(tmp_path), "--split", "all", "--json"])
    assert res.exit_code in (0, 1), res.output
    out = orjson.loads(res.stdout)
    assert set(out) == {"train", "heldout"}
    names = Counter(r["name"] for r in out["heldout"]["rows"])
    assert names["flash"] == 1 and names["whales"] == 1 and names["all positives"] == 1
    assert (res.exit_code == 0) == all(r["passed"] for r in out.values())
    text = CliRunner().invoke(main, ["backtest", "--suite", str(tmp_path)])
    assert "== heldout" in text.output and "recall>=0.8" in text.output and "p bin" in text.output
    bad = CliRunner().invoke(main, ["backtest"])
    assert bad.exit_code != 0 and "exactly one of" in bad.output


def test_the_20m_target_is_size_duration_and_breadth_but_not_throttled_only():
    from liqcascade.tools.suite_eval import is_target

    assert is_target(label("second_wave", True, "BTCUSDT", 0, 59, usd=2.1e7))
    assert not is_target(label("cascade", True, "BTCUSDT", 0, 61, usd=5e7))  # slower than 60 s
    assert not is_target(label("cascade", True, "BTCUSDT", 0, 30, usd=5e7, venues=("bybit",)))
    assert not is_target(label("throttled_only", True, "BTCUSDT", 0, 30, usd=5e7, venues=("binance", "okx")))
    assert not is_target(label("whale_pair", False, "BTCUSDT", 0, 20, usd=5e7))
