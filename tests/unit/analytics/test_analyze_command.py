"""`liqcascade analyze` replays JSON lines in event time and prints snapshot lines with the right values."""
from __future__ import annotations

import orjson
import pytest
from analytics_helpers import NS, T0
from click.testing import CliRunner

from analytics.commands import analyze_command
from analytics.replay import read_events
from common.schema import Liquidation


def line(venue: str, ts: int, usd: float, side: str = "long", symbol: str = "BTCUSDT") -> str:
    return orjson.dumps({"type": "liquidation", "exchange": venue, "symbol": symbol, "native_symbol": symbol,
                         "side": side, "price": 100.0, "qty": usd / 100, "notional_usd": usd,
                         "ts_event": ts}).decode()


def test_read_events_yields_liquidations_other_types_as_dicts_and_skips_garbage():
    out = list(read_events([line("okx", T0, 500.0), '{"type":"price","symbol":"BTCUSDT","price":1}',
                            "not json", "", '{"type":"liquidation","symbol":"X"}']))
    assert isinstance(out[0], Liquidation) and out[0].ts_recv == T0 and out[0].notional_usd == 500.0
    assert out[1] == {"type": "price", "symbol": "BTCUSDT", "price": 1}
    assert len(out) == 2


def test_analyze_prints_one_line_per_active_symbol_per_tick(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        line("binance", T0 + NS // 2, 10_000.0),
        '{"type":"price","exchange":"binance","symbol":"BTCUSDT","price":1.0,"ts_event":1}',
        line("bybit", T0 + NS // 2, 30_000.0, "short"),
        line("bybit", T0 + 2 * NS + NS // 2, 20_000.0, symbol="ETHUSDT"),
    ]) + "\n")
    result = CliRunner().invoke(analyze_command, [str(path), "--every", "1"])
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert [(r["symbol"], r["ts"]) for r in rows] == [
        ("BTCUSDT", T0 + NS), ("BTCUSDT", T0 + 2 * NS), ("BTCUSDT", T0 + 3 * NS), ("ETHUSDT", T0 + 3 * NS)]
    first = rows[0]
    assert first["velocity_usd_per_s"]["2s"] == pytest.approx(20_000.0)
    assert first["velocity_usd_per_s"]["10s"] == pytest.approx(4_000.0)
    assert first["count_per_s"]["10s"] == pytest.approx(0.2)
    assert first["by_venue"] == {"binance": pytest.approx(1000.0), "bybit": pytest.approx(3000.0)}
    assert first["direction"] == "short"
    assert set(first) >= {"acceleration_usd_per_s2", "jerk_usd_per_s3", "correlation", "venues_active",
                          "risk", "confidence", "factors", "explanation"}
    assert set(first["factors"]) == {"velocity", "acceleration", "jerk", "concentration", "correlation",
                                     "one_sided"}
    assert rows[3]["velocity_usd_per_s"]["2s"] == pytest.approx(10_000.0)


def test_analyze_reads_stdin():
    result = CliRunner().invoke(analyze_command, ["-"], input=line("okx", T0 + 1, 5000.0) + "\n")
    assert result.exit_code == 0, result.output
    (row,) = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert row["ts"] == T0 + NS and row["velocity_usd_per_s"]["10s"] == pytest.approx(500.0)
