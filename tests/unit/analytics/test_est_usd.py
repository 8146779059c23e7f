"""est_usd: throttled venues' visible fraction calibrated live against the complete venue, and its range."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
from analytics_helpers import at, engine, liq

from analytics.est_usd import F_MIN, Estimate
from common.schema import MarketContext

NAN = math.nan


def oi(venue: str, t: int, coins: float) -> MarketContext:
    return MarketContext(venue, "BTCUSDT", "BTCUSDT", coins, NAN, 0.0001, 100.0, 100.0, t, t)


def run(seed: int, visible: float, seconds: int = 300, binance_size: float = 1.0, bybit_live: bool = True):
    """Each second Bybit (complete) shows its flow U; Binance (throttled) liquidates U x binance_size
    (its size relative to Bybit) and shows `visible` of it as one event. Snapshots every second."""
    rng = random.Random(seed)
    e = engine()
    snap = None
    truth = 0.0
    for s in range(seconds):
        e.update_context(oi("bybit", at(s), 10_000.0))
        e.update_context(oi("binance", at(s), 10_000.0 * binance_size))
        u = 0.0
        for _ in range(rng.randint(1, 5)):
            usd = rng.uniform(5_000, 50_000)
            u += usd
            if bybit_live:
                e.update(liq(at(s + rng.random() * 0.9), usd, venue="bybit"))
        e.update(liq(at(s + 0.5), u * binance_size * visible, venue="binance", throttled=True))
        if s >= seconds - 10:
            truth += u * (bybit_live + binance_size)
        snap = e.snapshot("BTCUSDT", at(s + 1))
    return snap, truth


@pytest.mark.parametrize("seed", range(4))
def test_a_throttled_venue_showing_40pc_is_calibrated_to_about_04_and_the_estimate_brackets_the_truth(seed):
    snap, truth = run(seed, visible=0.4)
    f = snap.extra["market_context"]["visible_fraction"]["binance"]
    assert f == pytest.approx(0.4, abs=0.03)
    observed = sum(snap.by_venue.values()) * 10.0  # USD/s over 10 s -> USD
    assert observed < snap.est_usd_low <= snap.est_usd <= snap.est_usd_high
    assert snap.est_usd == pytest.approx(truth, rel=0.15)  # the last 10 s: bybit + binance / 0.4
    assert snap.est_usd_high / snap.est_usd_low < 1.6  # 5 min of evidence: a narrow range
    assert "est. true" in snap.explanation and "observed" in snap.explanation


@pytest.mark.parametrize("seed", range(3))
def test_a_larger_venue_showing_everything_needs_no_scaling(seed):
    snap, _ = run(seed, visible=1.0, binance_size=2.0)  # twice Bybit's OI, twice its flow, all shown
    assert snap.extra["market_context"]["visible_fraction"]["binance"] == pytest.approx(1.0, abs=0.05)
    observed = sum(snap.by_venue.values()) * 10.0
    assert snap.est_usd == pytest.approx(observed, rel=0.05)
    assert "est. true" not in snap.explanation  # nothing hidden: the sentence names the observed USD only


def test_without_a_complete_venue_the_throttled_feed_is_taken_at_face_value_with_a_wide_range():
    snap, _ = run(1, visible=0.3, bybit_live=False)
    observed = sum(snap.by_venue.values()) * 10.0
    assert snap.est_usd == pytest.approx(observed) == snap.est_usd_low
    assert snap.est_usd_high == pytest.approx(3.0 * observed)  # no evidence: up to 3x, said as a range


def test_estimate_reads_each_completed_second_once_and_late_seconds_only_after_the_lag():
    est = Estimate(half_life_s=1e9)  # no decay: sums are plain sums
    venues = ["bybit", "binance"]
    grid = np.zeros((2, 60))
    grid[0, :] = 1000.0  # bybit $1000 every second
    grid[1, :] = 250.0  # binance shows $250
    flags = {"bybit": "complete", "binance": "throttled"}
    live = {"bybit": True, "binance": True}
    now = at(100)
    est.observe("BTCUSDT", venues, grid, now, flags, live, {})
    c = est.symbols["BTCUSDT"].venues["binance"]
    assert c.seconds == pytest.approx(60 - 3)  # the 3 newest are not read yet
    assert c.shown == pytest.approx(250.0 * 57) and c.expected == pytest.approx(1000.0 * 57 * 0.35 / 0.35)
    est.observe("BTCUSDT", venues, grid, now, flags, live, {})  # the same instant: nothing new
    assert c.seconds == pytest.approx(57)
    est.observe("BTCUSDT", venues, grid, at(102), flags, live, {})  # two more seconds completed
    assert c.seconds == pytest.approx(59)
    e, low, high, fr = est.estimate("BTCUSDT", {"bybit": 1e4, "binance": 2.5e3}, flags)
    f = (250.0 * 59 + 1e5) / (1000.0 * 59 + 1e5)  # the prior pulls toward 1
    assert fr["binance"] == pytest.approx(f) and e == pytest.approx(1e4 + 2.5e3 / f)
    assert 1e4 + 2.5e3 <= low <= e <= high and F_MIN <= f <= 1.0


def test_any_complete_venue_calibrates_and_a_sampled_one_is_never_scaled():
    est = Estimate(half_life_s=1e9)
    venues = ["deribit", "binance", "hyperliquid"]
    grid = np.zeros((3, 60))
    grid[0, :] = 1000.0  # a complete tape other than Bybit
    grid[1, :] = 250.0  # throttled: shows a quarter of its share
    grid[2, :] = 10.0  # watched users' fills: a sample, no stable ratio to the venue
    comp = {"deribit": "complete", "binance": "throttled", "hyperliquid": "sampled"}
    live = dict.fromkeys(venues, True)
    sizes = {"deribit": 1.0, "binance": 1.0, "hyperliquid": 1.0}
    est.observe("BTCUSDT", venues, grid, at(100), comp, live, sizes)
    assert set(est.symbols["BTCUSDT"].venues) == {"binance"}
    e, low, high, fr = est.estimate("BTCUSDT", {"deribit": 1e4, "binance": 2.5e3, "hyperliquid": 100.0}, comp)
    f = fr["binance"]
    assert f == pytest.approx((250.0 * 57 + 1e5) / (1000.0 * 57 + 1e5)) and "hyperliquid" not in fr
    assert e == pytest.approx(1e4 + 2.5e3 / f + 100.0)
