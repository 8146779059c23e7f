"""The steady scenario the bench drives: a known number of events over N symbols, after a lead."""
from __future__ import annotations

from liqcascade.sim import bybit, timeline


def test_steady_with_a_duration_ends_after_rate_times_seconds_events_over_the_given_symbols():
    events = list(timeline.steady(1000.0, symbols=7, seconds=2.0, lead_s=1.5))
    assert len(events) == 2000
    assert {ev.symbol for _, ev in events} == {f"SYM{i}USDT" for i in range(7)}
    offsets = [t for t, _ in events]
    assert offsets == sorted(offsets)
    assert 1.5 < offsets[0] <= 1.5 + 1 / 1000 and offsets[-1] == 1.5 + 2.0


def test_bybit_topics_are_pushed_every_500_ms_each_at_its_own_phase():
    dues = {key: bybit.batch_due(key, 100.0) for key in (f"allLiquidation.SYM{i}USDT" for i in range(20))}
    assert all(100.0 < due <= 100.0 + bybit.BATCH_S for due in dues.values())
    assert len({round(d, 6) for d in dues.values()}) > 10  # spread out, not one instant
    key = "allLiquidation.SYM3USDT"
    assert bybit.batch_due(key, dues[key]) == dues[key] + bybit.BATCH_S  # a fixed cadence per topic


def test_a_scenario_file_with_feed_statuses_replays_its_liquidations_and_prices_only(tmp_path):
    path = tmp_path / "dropout.jsonl"
    path.write_text(
        '{"type":"status","exchange":"okx","connected":false,"ts":5}\n'
        '{"type":"liquidation","exchange":"bybit","symbol":"BTCUSDT","side":"long","price":100.0,"qty":2.0,'
        '"ts_event":1000000000}\n'
        '{"type":"price","exchange":"binance","symbol":"BTCUSDT","price":101.0,"ts_event":1500000000}\n')
    events = list(timeline.from_jsonl(str(path)))
    assert [(t, type(ev).__name__) for t, ev in events] == [(0.0, "SimLiquidation"), (0.5, "SimTrade")]
