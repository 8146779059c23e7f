"""Real-data converters keep units, sides and times exact, proxies keep the real totals, and the command runs."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from liqcascade.tools.real_data import (
    FILES,
    PriceAt,
    binance_kline_ticks,
    build,
    by_hour,
    coinglass_hourly_proxy,
    hyperliquid_adl_proxy,
    okx_liquidations,
    utc_ns,
)
from liqcascade.tools.real_data_cli import real_data_command

NS = 1_000_000_000
REAL = Path(__file__).resolve().parents[2] / "data" / "real"


def ns(*args: int, ms: int = 0) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * NS + ms * 1_000_000


def test_utc_ns_is_exact_to_the_millisecond():
    assert utc_ns("2026-09-06 05:34:08.824") == ns(2026, 9, 6, 5, 34, 8, ms=824)
    assert utc_ns("2025-10-10T21:16:04Z") == ns(2025, 10, 10, 21, 16, 4)


def test_okx_rows_become_btc_liquidations_with_position_side_and_btc_qty():
    ev = okx_liquidations(REAL / FILES["okx"])
    assert len(ev) == 40
    first = ev[0]  # 2026-09-06 05:34:08.824,buy,short,79887.3,0.01
    assert first == {"type": "liquidation", "exchange": "okx", "symbol": "BTCUSDT", "native_symbol": "BTC-USDT-SWAP",
                     "side": "short", "price": 79887.3, "qty": 0.0001, "notional_usd": pytest.approx(7.98873),
                     "ts_event": ns(2026, 9, 6, 5, 34, 8, ms=824), "throttled": True}
    whale = next(d for d in ev if d["ts_event"] == ns(2026, 9, 6, 7, 13, 19, ms=890))  # sell, 900 contracts
    assert (whale["side"], whale["qty"]) == ("long", 9.0)
    assert whale["notional_usd"] == pytest.approx(9.0 * 79592.8)
    burst = [d for d in ev if ns(2026, 9, 6, 7, 13) <= d["ts_event"] < ns(2026, 9, 6, 7, 14)]
    assert len(burst) == 29 and {d["side"] for d in burst} == {"long"}
    assert [d["ts_event"] for d in ev] == sorted(d["ts_event"] for d in ev)


def test_klines_become_four_ticks_per_minute_high_first_on_a_down_minute():
    ticks = binance_kline_ticks(REAL / FILES["klines"])
    assert len(ticks) == 20
    t0 = ns(2025, 10, 10, 21, 15)
    down = ticks[:4]  # 21:15 o 112137.6 h 112539.5 l 110979.1 c 110997.8
    assert [d["price"] for d in down] == [112137.6, 112539.5, 110979.1, 110997.8]
    assert [d["ts_event"] for d in down] == [t0, t0 + 15 * NS, t0 + 30 * NS, t0 + 45 * NS]
    up = ticks[12:16]  # 21:18 o 107666.1 h 110851.9 l 106761.1 c 108889.6: low first
    assert [d["price"] for d in up] == [107666.1, 106761.1, 110851.9, 108889.6]
    assert all(d["type"] == "price" and d["symbol"] == "BTCUSDT" and d["exchange"] == "binance" for d in ticks)
    assert up[0]["qty"] == pytest.approx(8379.007 / 4)


def test_adl_proxy_keeps_bucket_totals_inside_bucket_intervals():
    ticks = binance_kline_ticks(REAL / FILES["klines"])
    ev = hyperliquid_adl_proxy(REAL / FILES["adl"], PriceAt(ticks), seed=3)
    assert {d["side"] for d in ev} == {"long"} and {d["exchange"] for d in ev} == {"hyperliquid"}
    assert not any(d["throttled"] for d in ev)
    start, end = ns(2025, 10, 10, 21, 17, 6), ns(2025, 10, 10, 21, 17, 14)
    btc = [d for d in ev if d["symbol"] == "BTCUSDT" and start <= d["ts_event"] < end]
    assert len(btc) == round(2468 * 53329111.60 / 386611700.06)  # event count x BTC share of the bucket
    assert sum(d["notional_usd"] for d in btc) == pytest.approx(53329111.60, rel=1e-6)
    assert {d["price"] for d in btc} == {108905.3}  # Binance 21:17 open: the last tick before 21:17:15
    sol = [d for d in ev if d["symbol"] == "SOLUSDT" and d["ts_event"] < start]
    assert len(sol) == 1 and sol[0]["notional_usd"] == pytest.approx(1.74)  # 21:16:56 bucket, 1 event
    assert sum(d["notional_usd"] for d in ev if d["symbol"] == "ETHUSDT") == pytest.approx(
        204671086.94 + 57579083.60, rel=1e-6)
    assert ev == hyperliquid_adl_proxy(REAL / FILES["adl"], PriceAt(ticks), seed=3)  # seeded: deterministic


def test_hourly_proxy_keeps_each_hours_side_totals_and_is_seeded_per_hour():
    ev = coinglass_hourly_proxy(REAL / FILES["hourly"], seed=1)
    hours = by_hour(ev)
    peak = hours[ns(2026, 2, 5, 20)]
    longs = [d for d in peak if d["side"] == "long"]
    assert len(longs) == 6723  # ceil($134,454,356 / $20k)
    assert sum(d["notional_usd"] for d in longs) == pytest.approx(134454356.1747, rel=1e-6)
    assert sum(d["notional_usd"] for d in peak if d["side"] == "short") == pytest.approx(7923895.19104, rel=1e-6)
    only_big = coinglass_hourly_proxy(REAL / FILES["hourly"], seed=1, min_hour_usd=100e6)
    assert sorted(by_hour(only_big)) == [ns(2026, 2, 5, 20), ns(2026, 2, 6, 0)]
    assert by_hour(only_big)[ns(2026, 2, 5, 20)] == peak  # an hour's proxy does not depend on the selection


def test_build_rejects_an_unknown_dataset():
    with pytest.raises(ValueError):
        build("nope", REAL)


def test_command_on_the_excerpts_reports_levels_and_why(tmp_path):
    res = CliRunner().invoke(real_data_command, ["--data-dir", str(REAL), "--out", str(tmp_path), "--json",
                                                 "--min-hour-usd", "0"],
                             env={"LIQCASCADE_CONFIG": None, "LOG_LEVEL": "WARNING"})
    assert res.exit_code == 0, res.output
    reports = {r["dataset"]: r for r in orjson.loads(res.output)["datasets"]}
    assert set(reports) == {"okx", "crash_2025_10_10", "hourly"}
    okx = reports["okx"]
    # Crumbs and one whale on one throttled venue: with the calibrated probability (issue 9) not even WATCH.
    assert okx["summary"]["events"] == 40 and okx["max_level"] == {} and okx["top"] is None
    crash = reports["crash_2025_10_10"]
    assert crash["max_level"]["BTCUSDT"] == "EXTREME"
    first_alert = crash["first_entries"]["BTCUSDT"]["ALERT"]
    assert ns(2025, 10, 10, 21, 17, 6) <= first_alert <= ns(2025, 10, 10, 21, 17, 10)  # 2 s confirmation
    assert crash["top"]["factors"]["one_sided"]["score"] > 0.9
    hourly = reports["hourly"]["hourly"]
    assert hourly["top_hours"][0]["utc"] == "2026-02-05T20:00:00.000Z"
    assert hourly["replayed"] == 8
    assert (tmp_path / "okx.jsonl").exists() and (tmp_path / "hourly" / "2026-02-05T20.jsonl").exists()
    first = orjson.loads((tmp_path / "okx.jsonl").read_bytes().splitlines()[0])
    assert first["type"] == "liquidation" and first["qty"] == 0.0001


def test_command_text_report_names_each_dataset(tmp_path):
    res = CliRunner().invoke(real_data_command, ["--data-dir", str(REAL), "--dataset", "okx"],
                             env={"LIQCASCADE_CONFIG": None, "LOG_LEVEL": "WARNING"})
    assert res.exit_code == 0, res.output
    assert "== okx: 40 liquidation events" in res.output
    assert "max level: NONE" in res.output
