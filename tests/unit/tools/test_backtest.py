"""Backtest: event-time replay is deterministic, detects a labeled cascade, scores, and the CLI agrees."""
from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from common.config import load_config
from common.schema import Signal
from liqcascade.cli import main
from liqcascade.tools.backtest import Replay, parse, read_lines, run_file, score
from liqcascade.tools.scenario import build


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build("cascades", seed=11, count=2).write(tmp_path_factory.mktemp("scen"))


def test_same_file_same_signals(scenario):
    cfg = load_config(env={})
    a, b = run_file(cfg, scenario[0]), run_file(cfg, scenario[0])
    assert [(s.ts, s.symbol, s.level, s.probability) for s in a.signals] == \
           [(s.ts, s.symbol, s.level, s.probability) for s in b.signals]
    assert any(s.level == "EXTREME" for s in a.signals)


def test_gzip_input_gives_the_same_result(scenario, tmp_path):
    gz = tmp_path / "s.jsonl.gz"
    gz.write_bytes(gzip.compress(scenario[0].read_bytes()))
    cfg = load_config(env={})
    assert [s.ts for s in run_file(cfg, gz).signals] == [s.ts for s in run_file(cfg, scenario[0]).signals]


def test_parse_skips_bad_lines_and_reads_prices():
    lines = [b'{"type":"price","symbol":"BTCUSDT","price":60000.5,"ts_event":1000000000}', b"{not json",
             b'{"type":"liquidation","exchange":"bybit","symbol":"ETHUSDT","side":"long","price":3000,'
             b'"qty":2,"notional_usd":6000,"ts_event":2000000000}', b'{"type":"other"}']
    msgs = list(parse(lines))
    assert [type(m).__name__ for m in msgs] == ["PriceTick", "Liquidation"]
    assert msgs[1].ts_recv == 2_000_000_000 and msgs[1].throttled is False


def sig(ts_s: float, level: str, prev: str, symbol: str = "ETHUSDT") -> Signal:
    return Signal(symbol=symbol, level=level, probability=0.6, confidence=1.0, direction="long", regime="NORMAL",
                  explanation="", ts=int(ts_s * 1e9), previous_level=prev)


def test_score_counts_recall_delay_and_false_alerts():
    labels = [{"symbol": "ETHUSDT", "start_ns": 100 * 10**9, "end_ns": 140 * 10**9, "side": "long",
               "usd": 5e7, "venues": ["bybit", "okx"], "kind": "cascade"},
              {"symbol": "BTCUSDT", "start_ns": 500 * 10**9, "end_ns": 500 * 10**9, "side": "long",
               "usd": 5e6, "venues": ["okx"], "kind": "whale"}]
    signals = [sig(101, "WATCH", "NONE"), sig(103, "ALERT", "WATCH"), sig(150, "NONE", "ALERT"),
               sig(1000, "ALERT", "NONE"), sig(500.5, "ALERT", "NONE", symbol="BTCUSDT")]
    sc = score(signals, labels, span_s=7200.0, n_symbols=2)
    assert sc["levels"]["ALERT"] == {"entries": 3, "true": 1, "precision": 0.3333, "recall": 1.0}
    assert sc["levels"]["CRITICAL"]["recall"] == 0.0
    assert sc["delay_s"]["median"] == 3.0
    assert sc["false_alerts"] == 2 and sc["false_alerts_per_hour"] == 1.0
    assert sc["false_alerts_per_symbol_day"] == 12.0
    assert sc["whale_alerts"] == 1


def test_backtest_cli_json_scores_the_labels(scenario):
    data, labels = scenario
    res = CliRunner().invoke(main, ["backtest", str(data), "--json", "--labels", str(labels)])
    assert res.exit_code == 0, res.output
    out = orjson.loads(res.stdout)
    assert out["score"]["targets"] == 2 and out["score"]["recall_alert"] == 1.0
    assert out["score"]["delay_s"]["n"] == 2 and out["score"]["delay_s"]["median"] >= 0.0
    assert out["summary"]["symbols"] == ["BTCUSDT", "ETHUSDT"]
    first = out["signals"][0]
    assert set(first) >= {"ts", "symbol", "level", "probability", "direction"}
    assert isinstance(first["ts"], int) and first["ts"] > 1_700_000_000 * 10**9


def test_backtest_cli_text_prints_changes_and_the_table(scenario):
    data, labels = scenario
    res = CliRunner().invoke(main, ["backtest", str(data), "--labels", str(labels)])
    assert res.exit_code == 0, res.output
    assert "NONE -> " in res.output and "recall at ALERT+: 1.000" in res.output
    assert "lone whales reaching ALERT: 0 of 0" in res.output


def test_scenario_cli_writes_the_files(tmp_path):
    res = CliRunner().invoke(main, ["scenario", "--out", str(tmp_path), "--kind", "whales", "--count", "4",
                                    "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "whales.jsonl").exists()
    assert len(orjson.loads((tmp_path / "whales.labels.json").read_bytes())) == 4


def test_recorded_raw_lines_go_through_the_ingest_normalizer():
    from tests.unit.ingest.test_commands import BYBIT_LIQ

    line = orjson.dumps({"ts_recv": 1_700_000_000 * 10**9, "exchange": "bybit", "raw": BYBIT_LIQ})
    msgs = list(parse([line, orjson.dumps({"ts_recv": 5, "exchange": "bybit", "raw": "garbage"})]))
    assert len(msgs) == 1 and msgs[0].symbol == "ROSEUSDT" and msgs[0].side == "short"


def test_recorded_evaluations_are_the_published_probabilities(scenario):
    cfg = load_config(env={})
    seen = []
    rep = Replay(cfg, record=True, observer=lambda sym, ts, snap, p, ctx: seen.append((sym, ts, p, snap.symbol, ctx)))
    rep.run(parse(read_lines(scenario[0])))
    assert len(rep.evaluations) == len(seen) > 1000
    assert all(sym == snap_sym and "components" in ctx for sym, _, _, snap_sym, ctx in seen)
    assert [(s, t, p) for s, t, p, _, _ in seen] == rep.evaluations
    p_at = {(sym, ts): p for sym, ts, p in rep.evaluations}
    changes = [s for s in rep.signals if not s.heartbeat and (s.symbol, s.ts) in p_at]
    assert len(changes) >= 4  # escalations happen on snapshots; their published p is the recorded one
    assert all(abs(s.probability - p_at[(s.symbol, s.ts)]) < 0.01 for s in changes)
