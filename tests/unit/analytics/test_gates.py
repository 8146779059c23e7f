"""Dollar gates, duplicate deliveries, fills of one position, and the censored flow of saturated feeds."""
from __future__ import annotations

import random

import pytest
from analytics_helpers import at, engine, liq

from analytics.gates import (
    censored_usd,
    censoring_ratio,
    full_feed_reading,
    gate_level,
    gate_margin,
    gates_for,
    tier,
)
from common.config import load_config
from signals.generator import SignalGenerator
from signals.levels import LevelState
from signals.trust import inconsistency


def test_size_tiers_round_the_reference_flow_down_to_1_2_5_steps():
    assert [tier(x) for x in (50_000.0, 49_999.0, 30_000.0, 12_000.0, 9_000.0, 0.5)] == [
        50_000.0, 25_000.0, 25_000.0, 10_000.0, 5_000.0, 1.0]
    assert gates_for(None, 50_000.0, (50.0, 120.0, 200.0)) == (2.5e6, 6e6, 10e6)
    assert gates_for((1e6, 2e6, 3e6), 50_000.0, (50.0, 120.0, 250.0)) == (1e6, 2e6, 3e6)  # per symbol


def test_a_gate_is_met_in_any_scoring_window_scaled_to_it():
    gates = (2.5e6, 6e6, 12.5e6)
    assert gate_level({"2s": 0.85e6, "10s": 2.4e6, "60s": 2.9e6}, gates) == 0
    assert gate_level({"2s": 0.9e6, "10s": 0.9e6, "60s": 0.9e6}, gates) == 1  # a dense 2 s burst (0.35 x 10 s)
    assert gate_level({"2s": 0.0, "10s": 0.0, "60s": 7.3e6}, gates) == 2  # a wave over 60 s
    assert gate_level({"2s": 7e6, "10s": 13e6, "60s": 13e6}, gates) == 3


def test_the_margin_is_how_far_the_best_window_is_above_the_alert_gate():
    assert gate_margin({"2s": 0.0, "10s": 2.5e6, "60s": 0.0}, 2.5e6) == pytest.approx(1.0)
    assert gate_margin({"2s": 1.75e6, "10s": 2.5e6, "60s": 3e6}, 2.5e6) == pytest.approx(2.0)  # the dense 2 s
    assert gate_margin({"2s": 0.0, "10s": 0.0, "60s": 1.5e6}, 2.5e6) == pytest.approx(0.5)
    assert gate_margin({}, 2.5e6) == 0.0


def test_small_flow_never_reaches_alert_whatever_the_regime_and_price_do():
    """$63k of longs in 2 s: a ratio over the floor, p lifted by the regime, still capped at WATCH."""
    eng = engine()
    for k in range(6):
        eng.update(liq(at(100 + k * 0.3), 10_500.0, ("bybit", "binance", "okx")[k % 3]))
    snap = eng.snapshot("BTCUSDT", at(101.6))
    assert snap.extra["gate"]["met"] == ""
    assert 0.0 < snap.extra["gate"]["margin"] < 1.0  # below the ALERT gate in every window
    gen = SignalGenerator(load_config(env={}))
    cap = gen._cap(snap)  # noqa: SLF001
    assert cap == 1  # WATCH
    st = LevelState()
    for k in range(20):  # p as high as any regime and price move could make it: still WATCH
        gen.machine.apply(st, 0.99, at(101.6 + k), cap)
    assert st.level == 1


def test_a_window_mostly_one_liquidation_opens_no_gate():
    """A $0.8M print (below BTC's $1M whale size) and a few small ones fill BTC's 2 s gate ($0.875M) by their
    dollars; the chop streams' last false ALERTs were that. The same dollars from a crowd open it."""
    def burst(eng, sizes):
        for k, usd in enumerate(sizes):
            eng.update(liq(at(100 + k * 0.2), usd, ("bybit", "binance", "okx")[k % 3]))
        return eng.snapshot("BTCUSDT", at(100 + 0.2 * len(sizes)))

    one = burst(engine(), [800_000.0] + [30_000.0] * 4)  # $0.92M, n_eff 1.3
    assert one.extra["gate"]["met"] == ""
    assert one.extra["gate"]["crowd_usd"]["2s"] == 0.0
    crowd = burst(engine(), [115_000.0] * 8)  # $0.92M, n_eff 8
    assert crowd.extra["gate"]["met"] == "ALERT"
    assert crowd.extra["gate"]["crowd_usd"]["2s"] == pytest.approx(920_000.0)
    off = burst(engine(gate_min_n_eff=1.0), [800_000.0] + [30_000.0] * 4)  # the rule off: the dollars alone
    assert off.extra["gate"]["met"] == "ALERT"


def test_an_exact_duplicate_is_counted_once():
    eng = engine()
    a = liq(at(10), 50_000.0, "bybit")
    eng.update(a)
    eng.update(a)  # re-delivered: identical
    eng.update(a._replace(ts_recv=a.ts_recv + 300_000_000))  # re-received 300 ms later: same event
    snap = eng.snapshot("BTCUSDT", at(10))
    assert snap.velocity_usd_per_s["10s"] == pytest.approx(5_000.0)
    assert eng.duplicates == 2


def test_fills_of_one_position_count_once_for_n_eff():
    eng = engine()
    for k in range(3):  # one $3M position in three fills within a second, at its price (venues round it)
        eng.update(liq(at(10 + k * 0.3), 1_000_000.0, "bybit", price=60_000.0 * (1 + 5e-5 * (k - 1))))
    snap = eng.snapshot("BTCUSDT", at(11))
    assert snap.extra["n_effective"] == pytest.approx(1.0)
    assert snap.velocity_usd_per_s["10s"] == pytest.approx(300_000.0)  # the dollars all count
    assert snap.factors["concentration"]["raw"] == pytest.approx(1.0)  # and it is one whale
    other = engine()
    for k in range(3):  # three liquidations of the same size at different prices: a crowd of three
        other.update(liq(at(10 + k * 0.3), 1_000_000.0, "bybit", price=60_000.0 + 60.0 * k))
    assert other.snapshot("BTCUSDT", at(11)).extra["n_effective"] == pytest.approx(3.0)


def test_a_saturated_throttled_feed_stands_for_more_than_it_shows():
    assert censoring_ratio(2, 4.0) == 1.0  # sparse: nothing hidden
    assert 1.2 < censoring_ratio(5, 4.0) < 1.5
    assert censoring_ratio(10, 4.0) == 4.0  # every second full: the hand-set reading
    assert censored_usd(10, 10, 400_000.0, 4.0) == pytest.approx(1_200_000.0)
    assert censored_usd(10, 80, 400_000.0, 4.0) == 0.0  # 8 per second shown: not censoring at this rate
    eng = engine()
    rng = random.Random(1)  # one event anywhere in each second: full, not ticking like a clock (test_throttle_timing)
    for s in range(10):
        for venue in ("binance", "okx"):
            eng.update(liq(at(100 + s + rng.uniform(0.05, 0.95)), 40_000.0, venue, throttled=True))
    snap = eng.snapshot("BTCUSDT", at(109.9))
    full = full_feed_reading(load_config(env={}).analytics.saturated_ratio)  # both full, timing sparse: 2.6x each
    assert snap.extra["censored_usd_10s"] == pytest.approx(2 * (full - 1) * 400_000.0, rel=0.01)
    assert "held back by saturated throttled feeds" in snap.explanation
    assert inconsistency(snap) is None  # the signals trust boundary accepts it: raw velocity is what it carries


def test_a_full_feeds_occupancy_reads_no_more_than_its_poisson_estimate_alone_or_beside_another():
    """Occupancy cannot tell 3/s from 30/s: a full feed is read as 2.6x, whether or not another throttled feed
    is full too (two full feeds whose timing reads a sparse flow were read as 8x until 2026-12-01)."""
    assert 2.5 < full_feed_reading(8.0) < 2.7
    assert full_feed_reading(2.0) == 2.0  # never above the configured reading
    full = full_feed_reading(8.0)
    lone, both = engine(), engine()
    rng = random.Random(2)  # events anywhere in their second: the timing reads a sparse flow (test_throttle_timing)
    for s in range(10):
        t_b, t_o = 100 + s + rng.uniform(0.05, 0.95), 100 + s + rng.uniform(0.05, 0.95)
        for eng in (lone, both):
            eng.update(liq(at(t_b), 40_000.0, "binance", throttled=True))  # full every second
        if s % 5 < 3:  # okx shows 6 of 10 seconds: censoring a little, not full
            lone.update(liq(at(t_o), 1_000.0, "okx", throttled=True))
        both.update(liq(at(t_o), 1_000.0, "okx", throttled=True))  # okx full too
    okx = (censoring_ratio(6, 8.0) - 1) * 6_000.0
    assert lone.snapshot("BTCUSDT", at(109.9)).extra["censored_usd_10s"] == pytest.approx(
        (full - 1) * 400_000.0 + okx, rel=0.01)
    assert both.snapshot("BTCUSDT", at(109.9)).extra["censored_usd_10s"] == pytest.approx(
        (full - 1) * 410_000.0, rel=0.01)
