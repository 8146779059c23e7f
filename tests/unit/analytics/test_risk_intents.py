"""Risk meets the scoring intents: cascades alert fast, calm stays calm, a lone whale is not a cascade."""
from __future__ import annotations

import random

import pytest
from analytics_helpers import NS, at, engine, liq

from analytics.risk import FACTORS, combine, confidence, evidence, n_effective
from common.schema import FeedStatus

VENUES = ("binance", "bybit", "okx")


def calm(eng, seconds: int, rng: random.Random, symbol: str = "BTCUSDT") -> None:
    """About five $10k liquidations a minute, random venue and side."""
    for i in range(seconds // 12):
        eng.update(liq(at(i * 12 + rng.uniform(0, 11)), 10_000.0 * rng.uniform(0.5, 1.5),
                       rng.choice(VENUES), rng.choice(("long", "short")), symbol))


def cascade(eng, start: float, total_usd: float, seconds: float, venues=VENUES, rng=None) -> None:
    """total_usd over `seconds`, 10 events/s spread over venues, 90% longs by count."""
    rng = rng or random.Random(3)
    n = int(seconds * 10)
    for i in range(n):
        side = "short" if i % 10 == 0 else "long"
        eng.update(liq(at(start + i / 10), total_usd / n * rng.uniform(0.5, 1.5), venues[i % len(venues)],
                       side, throttled=venues[i % len(venues)] in ("binance", "okx")))


def test_calm_flow_stays_well_under_watch():
    eng = engine()
    rng = random.Random(1)
    calm(eng, 3600, rng)
    risks = [eng.snapshot("BTCUSDT", at(t)).risk for t in range(60, 3600, 7)]
    assert max(risks) < 0.15


def test_calm_flow_on_a_small_symbol_under_its_floor_stays_low():
    eng = engine()
    calm(eng, 1800, random.Random(2), symbol="DOGEUSDT")
    assert max(eng.snapshot("DOGEUSDT", at(t)).risk for t in range(60, 1800, 5)) < 0.25


@pytest.mark.parametrize("venues", [("binance", "bybit"), VENUES])
def test_cascade_of_20m_in_60s_alerts_within_seconds_of_onset(venues):
    eng = engine()
    calm(eng, 1800, random.Random(4))
    cascade(eng, 1800, 20e6, 60, venues)
    onset = [eng.snapshot("BTCUSDT", at(1800 + d)).risk for d in (3, 5)]
    assert min(onset) > 0.55
    during = [eng.snapshot("BTCUSDT", at(1800 + d)).risk for d in range(3, 60, 3)]
    assert min(during) > 0.5
    snap = eng.snapshot("BTCUSDT", at(1810))
    assert snap.direction == "long"
    assert snap.venues_active == len(venues)  # calm fills elsewhere are not part of the wave
    assert snap.correlation > 0.5
    assert "of longs liquidated" in snap.explanation
    assert f"on {len(venues)} of" in snap.explanation


def test_lone_whale_does_not_reach_alert():
    eng = engine()
    calm(eng, 1800, random.Random(5))
    eng.update(liq(at(1800), 5_000_000.0, "bybit", "long"))
    risks = [eng.snapshot("BTCUSDT", at(1800 + d / 10)).risk for d in range(0, 600)]
    assert max(risks) < 0.45
    snap = eng.snapshot("BTCUSDT", at(1800.5))
    assert snap.factors["concentration"]["raw"] > 0.95  # the whale dominates the 10 s USD ...
    assert snap.factors["concentration"]["score"] < 0.05  # ... which lowers, not raises, risk
    assert snap.factors["acceleration"]["score"] < 0.05  # a single event is no acceleration evidence
    assert "one large liquidation" in snap.explanation


def test_whale_alone_with_nothing_else_scores_only_velocity():
    eng = engine()
    eng.update(liq(at(0), 5_000_000.0))
    snap = eng.snapshot("BTCUSDT", at(0.5))
    assert snap.risk == pytest.approx(snap.factors["velocity"]["contribution"])
    assert snap.factors["velocity"]["score"] > 0.9


def test_floor_carries_the_cold_start():
    eng = engine()
    eng.update(liq(at(0), 20_000.0))
    eng.update(liq(at(0.5), 20_000.0, "okx"))
    snap = eng.snapshot("BTCUSDT", at(1))
    assert snap.extra["baseline_usd_per_s"] == 0.0
    assert snap.extra["floor_usd_per_s"] == 50_000.0
    assert snap.factors["velocity"]["score"] == 0.0  # 20k/s in 2 s is under the $50k/s floor
    assert snap.risk < 0.1


def test_baseline_raises_the_bar_for_a_busy_symbol():
    quiet, busy = engine(), engine()
    for t in range(0, 3600, 2):  # a busy hour: $300k every 2 s = 150k/s, 3x the floor
        busy.update(liq(at(t), 300_000.0, "bybit", "long" if t % 4 else "short"))
    for eng in (quiet, busy):
        cascade(eng, 3600, 2e6, 10)
    q, b = quiet.snapshot("BTCUSDT", at(3605)), busy.snapshot("BTCUSDT", at(3605))
    assert b.extra["baseline_usd_per_s"] == pytest.approx(150_000.0, rel=0.02)
    assert b.extra["velocity_ratio"] < q.extra["velocity_ratio"] / 2
    assert b.factors["velocity"]["score"] < q.factors["velocity"]["score"]


def test_weights_are_normalized_and_contributions_add_up_to_risk():
    risk, factors = combine({f: (1.0, 0.5) for f in FACTORS}, {"velocity": 2.0, "jerk": 2.0})
    assert risk == pytest.approx(0.5)
    assert factors["velocity"]["weight"] == pytest.approx(0.5)
    assert factors["acceleration"]["weight"] == 0.0
    assert sum(f["contribution"] for f in factors.values()) == pytest.approx(risk)


def test_evidence_and_effective_count():
    assert evidence(n_effective(5e6, 25e12)) == 0.0  # one event
    assert n_effective(4e4, 4 * 1e8) == pytest.approx(4.0)  # four equal events
    assert evidence(4.0) > 0.7


def test_confidence_falls_with_a_disconnected_venue_and_counts_throttled_less():
    eng = engine()
    for i in range(20):
        eng.update(liq(at(i), 50_000.0, "bybit"))
        eng.update(liq(at(i), 50_000.0, "binance", throttled=True))
    full = eng.snapshot("BTCUSDT", at(20)).confidence
    assert full == pytest.approx(confidence(40, 1.0, (1.0 + 0.6) / 2))
    eng.update_status(FeedStatus("okx", connected=False, throttled=True, reconnects=3, frames=0,
                                 bad_frames=0, events=0, last_frame_ns=0, ts=at(20)))
    snap = eng.snapshot("BTCUSDT", at(20))
    assert snap.confidence == pytest.approx(confidence(40, 1.0, (1.0 + 0.6 + 0.0) / 3))
    assert snap.extra["venues"]["okx"] == {"completeness": "throttled", "throttled": True, "connected": False,
                                           "stale": False,
                                           "usd_per_s": 0.0, "events": 0}
    assert snap.extra["venues"]["binance"]["throttled"] is True
    # statuses stop coming from okx: stale after status_stale_s
    assert eng.snapshot("BTCUSDT", at(20) + 11 * NS).extra["venues"]["okx"]["stale"] is True
