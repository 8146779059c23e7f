"""Velocity, acceleration and jerk are exact on hand-computed polynomial rates and sharp at window edges."""
from __future__ import annotations

import numpy as np
import pytest
from analytics_helpers import NS, T0, at, engine, liq

from analytics.windows import BucketRing, level_for, parse_window

WINDOWS = {"100ms": 0.1, "500ms": 0.5, "2s": 2.0, "10s": 10.0, "30s": 30.0, "60s": 60.0, "300s": 300.0}
B = 0.1  # finest bucket, s


def feed_rate(eng, integral, seconds: float, venue: str = "bybit") -> None:
    """One event per 100 ms bucket ((k-1)·B, k·B], at the bucket's end, carrying ∫ rate over it."""
    for k in range(1, round(seconds / B) + 1):
        usd = integral((k - 1) * B, k * B)
        if usd > 0:
            eng.update(liq(at(k * B), usd, venue))


def test_parse_window_units():
    assert parse_window("100ms") == 100_000_000
    assert parse_window("2s") == 2 * NS
    assert parse_window("5m") == 300 * NS
    assert parse_window("1h") == 3600 * NS
    with pytest.raises(ValueError):
        parse_window("10x")


def test_each_window_reads_a_level_at_least_ten_buckets_fine():
    assert [level_for(parse_window(w)) for w in WINDOWS] == [0, 0, 0, 1, 1, 1, 2]


def test_constant_rate_has_exact_velocity_and_zero_acceleration_and_jerk():
    eng = engine()
    feed_rate(eng, lambda a, b: 5000.0 * (b - a), 920)
    snap = eng.snapshot("BTCUSDT", at(920))
    for name in WINDOWS:
        assert snap.velocity_usd_per_s[name] == pytest.approx(5000.0, rel=1e-9)
        assert snap.count_per_s[name] == pytest.approx(10.0, rel=1e-9)
        assert snap.acceleration_usd_per_s2[name] == pytest.approx(0.0, abs=1e-6)
        assert snap.jerk_usd_per_s3[name] == pytest.approx(0.0, abs=1e-4)


def test_linear_ramp_gives_acceleration_equal_to_its_slope():
    c0, c1 = 1000.0, 20.0  # r(t) = c0 + c1·t USD/s
    eng = engine()
    feed_rate(eng, lambda a, b: c0 * (b - a) + c1 * (b * b - a * a) / 2, 920)
    t = 920.0
    snap = eng.snapshot("BTCUSDT", at(t))
    for name, w in WINDOWS.items():
        assert snap.velocity_usd_per_s[name] == pytest.approx(c0 + c1 * (t - w / 2), rel=1e-9)
        assert snap.acceleration_usd_per_s2[name] == pytest.approx(c1, rel=1e-6)
        assert snap.jerk_usd_per_s3[name] == pytest.approx(0.0, abs=1e-3 / w)


def test_quadratic_ramp_gives_constant_jerk():
    c2 = 3.0  # r(t) = c2·t² USD/s, so r'' = 2·c2 USD/s³
    eng = engine()
    feed_rate(eng, lambda a, b: c2 * (b**3 - a**3) / 3, 910)
    t = 910.0
    snap = eng.snapshot("BTCUSDT", at(t))
    for name, w in WINDOWS.items():
        assert snap.jerk_usd_per_s3[name] == pytest.approx(2 * c2, rel=1e-4)
        # v_W(t) = c2·(t² - t·W + W²/3), so (v(t) - v(t-W))/W = 2·c2·(t - W)
        assert snap.acceleration_usd_per_s2[name] == pytest.approx(2 * c2 * (t - w), rel=1e-6)


def test_burst_at_one_instant_counts_fully_in_every_window():
    eng = engine()
    for usd in (10_000.0, 20_000.0, 30_000.0, 40_000.0):  # four liquidations (identical ones are one, re-delivered)
        eng.update(liq(at(10), usd))
    snap = eng.snapshot("BTCUSDT", at(10))
    for name, w in WINDOWS.items():
        assert snap.velocity_usd_per_s[name] == pytest.approx(100_000.0 / w)
        assert snap.count_per_s[name] == pytest.approx(4 / w)
        # nothing in the previous windows: a = v/W, jerk = v/W²
        assert snap.acceleration_usd_per_s2[name] == pytest.approx(100_000.0 / w / w)
        assert snap.jerk_usd_per_s3[name] == pytest.approx(100_000.0 / w / w / w)


def test_window_is_open_on_the_left_and_closed_on_the_right():
    eng = engine()
    now = at(100)
    eng.update(liq(now - 2 * NS, 1000.0))  # exactly at t - 2 s: outside (t-2s, t]
    eng.update(liq(now - 2 * NS + 100_000_000, 2000.0))  # one bucket later: inside
    eng.update(liq(now, 4000.0))  # exactly at t: inside
    snap = eng.snapshot("BTCUSDT", now)
    assert snap.velocity_usd_per_s["2s"] == pytest.approx(6000.0 / 2)
    assert snap.velocity_usd_per_s["100ms"] == pytest.approx(4000.0 / 0.1)
    assert snap.velocity_usd_per_s["10s"] == pytest.approx(7000.0 / 10)


def test_event_after_now_is_not_counted_before_its_bucket():
    eng = engine()
    eng.update(liq(at(5.0), 1000.0))
    eng.update(liq(at(5.3), 9000.0))
    assert eng.snapshot("BTCUSDT", at(5.0)).velocity_usd_per_s["2s"] == pytest.approx(500.0)


def test_single_event_slides_out_of_a_window_gradually_not_in_a_step():
    eng = engine()
    eng.update(liq(at(0.05), 10_000.0))  # in the 1 s bucket (0 s, 1 s]
    # the 10 s window reads 1 s buckets; as its left edge crosses the event's bucket the USD
    # falls linearly instead of dropping at once, so acceleration stays bounded by X/W².
    values = [eng.snapshot("BTCUSDT", at(10 + f)).velocity_usd_per_s["10s"] for f in (0.0, 0.25, 0.5, 1.0)]
    assert values == pytest.approx([1000.0, 750.0, 500.0, 0.0])
    for f in np.linspace(0, 30, 301):
        a = eng.snapshot("BTCUSDT", at(f)).acceleration_usd_per_s2["10s"]
        assert abs(a) <= 10_000.0 / 100 + 1e-9


def test_slightly_out_of_order_events_give_the_same_snapshot():
    rng = np.random.default_rng(7)
    times = np.sort(rng.uniform(0, 30, 200))
    sizes = rng.uniform(1e3, 1e5, 200)
    ordered, shuffled = engine(), engine()
    for t, s in zip(times, sizes, strict=True):
        ordered.update(liq(at(t), float(s)))
    order = np.argsort(times + rng.uniform(0, 0.5, 200))  # up to 500 ms late
    for i in order:
        shuffled.update(liq(at(times[i]), float(sizes[i])))
    a, b = ordered.snapshot("BTCUSDT", at(30)), shuffled.snapshot("BTCUSDT", at(30))
    assert a.velocity_usd_per_s == pytest.approx(b.velocity_usd_per_s)
    assert a.acceleration_usd_per_s2 == pytest.approx(b.acceleration_usd_per_s2)
    assert a.risk == pytest.approx(b.risk)


def test_event_older_than_the_largest_window_feeds_only_the_baseline():
    eng = engine()
    eng.update(liq(at(2000), 10_000.0))
    before = eng.snapshot("BTCUSDT", at(2000))
    eng.update(liq(at(2000 - 1000), 9_000_000.0))  # 1000 s late: beyond 3 × 300 s of kinematics
    after = eng.snapshot("BTCUSDT", at(2000))
    assert after.velocity_usd_per_s == before.velocity_usd_per_s
    assert after.acceleration_usd_per_s2 == before.acceleration_usd_per_s2
    # 9M over the observed 940 s of the lookback (1000 s back to now - 60 s)
    assert after.extra["baseline_usd_per_s"] == pytest.approx(9_000_000.0 / 940, rel=1e-6)
    eng.update(liq(at(2000 - 100_000), 1.0))  # older than everything: dropped, no crash
    assert eng.snapshot("BTCUSDT", at(2000)).velocity_usd_per_s == before.velocity_usd_per_s


def test_ring_reads_zero_for_buckets_it_no_longer_holds():
    ring = BucketRing(NS, 5, 1)
    ring.flat[ring.slot(T0 + NS)] += 1.0
    ring.flat[ring.slot(T0 + 7 * NS)] += 2.0  # advances by 6 buckets: the first one is gone
    view, _ = ring.view(T0 + 7 * NS)
    assert view.tolist() == [[0.0, 0.0, 0.0, 0.0, 2.0]]
    assert ring.slot(T0 + 2 * NS) == -1
