"""Properties over arbitrary event streams: non-negative, nested windows consistent, finite, deterministic."""
from __future__ import annotations

import math

import msgpack
from analytics_helpers import NS, at, engine, liq
from hypothesis import given, settings
from hypothesis import strategies as st

from common.schema import as_dict

events = st.lists(
    st.tuples(
        st.floats(0.0, 1000.0, allow_nan=False),  # seconds after T0
        st.one_of(st.floats(1e-3, 1e9, allow_nan=False), st.sampled_from([0.0, -5.0, math.inf, math.nan])),
        st.sampled_from(["binance", "bybit", "okx", "hyperliquid"]),
        st.sampled_from(["long", "short"]),
    ),
    max_size=60,
)
NESTED = ["100ms", "500ms", "2s", "10s", "30s", "60s", "300s"]


def run(evs, now_s):
    eng = engine()
    for t, usd, venue, side in evs:
        eng.update(liq(at(t), usd, venue, side))
    return eng, eng.snapshot("BTCUSDT", at(now_s))


def finite_everywhere(x) -> bool:
    if isinstance(x, dict):
        return all(finite_everywhere(v) for v in x.values())
    if isinstance(x, float):
        return math.isfinite(x)
    return True


@settings(max_examples=150, deadline=None)
@given(events, st.floats(0.0, 1200.0, allow_nan=False))
def test_snapshot_is_sane_for_any_input(evs, now_s):
    eng, snap = run(evs, now_s)
    assert all(v >= 0.0 for v in snap.velocity_usd_per_s.values())
    assert all(v >= 0.0 for v in snap.count_per_s.values())
    assert all(v >= 0.0 for v in snap.by_venue.values())
    assert finite_everywhere(as_dict(snap))
    assert 0.0 <= snap.risk <= 1.0 and 0.0 <= snap.confidence <= 1.0
    assert -1.0 <= snap.correlation <= 1.0
    assert -1.0 <= snap.extra["imbalance"] <= 1.0
    msgpack.packb(as_dict(snap))  # plain types only
    # USD in a longer window covers USD in a shorter one (velocity x seconds)
    secs = [0.1, 0.5, 2, 10, 30, 60, 300]
    usd = [snap.velocity_usd_per_s[n] * s for n, s in zip(NESTED, secs, strict=True)]
    for short, long in zip(usd, usd[1:], strict=False):
        assert long >= short * (1 - 1e-9) - 1e-6


@settings(max_examples=60, deadline=None)
@given(events, st.floats(0.0, 1200.0, allow_nan=False))
def test_same_input_same_output(evs, now_s):
    _, a = run(evs, now_s)
    _, b = run(evs, now_s)
    assert as_dict(a) == as_dict(b)


@settings(max_examples=60, deadline=None)
@given(events)
def test_asking_does_not_change_the_answer(evs):
    """snapshot is a pure read: asking at other times first (even far ahead) changes nothing."""
    eng, first = run(evs, 500.0)
    for t in (0.0, 5000.0, 499.9):
        eng.snapshot("BTCUSDT", at(t))
    assert as_dict(eng.snapshot("BTCUSDT", at(500.0))) == as_dict(first)


def test_active_symbols_and_expiry_follow_event_time():
    eng = engine()
    eng.update(liq(at(0), 1000.0, symbol="AUSDT"))
    eng.update(liq(at(100), 1000.0, symbol="BUSDT"))
    assert eng.active_symbols(at(299)) == ["AUSDT", "BUSDT"]
    assert eng.active_symbols(at(300)) == ["BUSDT"]  # (now - 300 s, now] no longer holds t = 0
    assert eng.expire(at(950)) == ["AUSDT"]
    assert eng.expire(at(950)) == []
    assert list(eng.symbols) == ["BUSDT"]
    snap = eng.snapshot("AUSDT", at(950))  # unknown now: an empty, valid snapshot
    assert snap.risk == 0.0 and snap.velocity_usd_per_s["10s"] == 0.0
    assert eng.snapshot("BUSDT", at(100)).ts_trigger_event == at(100)
    assert eng.snapshot("BUSDT", at(100)).ts_trigger_recv == at(100) + 1_000_000
    assert NS  # helpers import used


def test_direction_imbalance_and_per_side_velocity():
    eng = engine()
    eng.update(liq(at(1), 30_000.0, side="short"))
    eng.update(liq(at(2), 10_000.0, side="long"))
    snap = eng.snapshot("BTCUSDT", at(5))
    assert snap.direction == "short"
    assert snap.extra["imbalance"] == -0.5
    assert snap.extra["long_usd_per_s"]["10s"] == 1000.0
    assert snap.extra["short_usd_per_s"]["10s"] == 3000.0
