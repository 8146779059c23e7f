"""SignalGenerator: probability adjustments, levels, MARKET, heartbeats, data quality."""
from __future__ import annotations

import math
import random

from common.schema import FeedStatus
from signals.generator import MARKET, SignalGenerator
from signals.regime import SECONDS_PER_YEAR
from tests.unit.signals.helpers import NS, config, snap, tick


def gconfig(**kw):
    """Without ALERT confirmation, so each snapshot's effect is visible at once (tested in test_levels)."""
    kw.setdefault("alert_confirm_s", 0.0)
    return config(**kw)


def with_prices(gen: SignalGenerator, seconds: int = 300, vol: float = 0.45, drift_bps: float = 0.0,
                price: float = 60_000.0) -> None:
    rng = random.Random(7)
    sd = vol / math.sqrt(SECONDS_PER_YEAR)
    for s in range(seconds):
        price *= math.exp(rng.gauss(drift_bps / 1e4, sd))
        gen.on_price(tick(price, s))


def test_missing_price_gives_unknown_regime_and_lower_confidence():
    cfg = gconfig()
    bare, priced = SignalGenerator(cfg), SignalGenerator(cfg)
    with_prices(priced)
    a = bare.on_metrics(snap(0.6, 300), 300 * NS)[0]
    b = priced.on_metrics(snap(0.6, 300), 300 * NS)[0]
    assert a.regime == "UNKNOWN" and a.components["regime_multiplier"] == 1.0
    assert a.data_quality["price"] == "missing"
    assert b.regime == "NORMAL" and b.data_quality["price"] == "ok"
    assert a.confidence == round(0.9 * cfg.signals.unknown_regime_confidence, 4)
    assert a.confidence < b.confidence
    assert a.probability == 0.6  # UNKNOWN and no price move: risk passes through unchanged


def test_regime_multiplier_scales_the_odds():
    gen = SignalGenerator(gconfig())
    with_prices(gen, vol=3.0)  # EXTREME, x2.5
    regime = gen.regime(299 * NS)
    assert regime.regime == "EXTREME"
    p, comp = gen.probability(snap(0.4, 299, direction="mixed"), regime, 299 * NS)
    odds = 0.4 / 0.6 * 2.5
    assert math.isclose(p, odds / (1 + odds), rel_tol=1e-9)
    assert comp["regime_multiplier"] == 2.5


def test_dormant_market_needs_more_evidence():
    gen = SignalGenerator(gconfig())
    with_prices(gen, vol=0.05)
    assert gen.regime(299 * NS).regime == "DORMANT"
    assert gen.on_metrics(snap(0.55, 299, direction="mixed"), 299 * NS)[0].level == "WATCH"


def test_price_move_reinforces_longs_into_a_fall_and_opposes_shorts():
    gen = SignalGenerator(gconfig())
    with_prices(gen, vol=0.3, drift_bps=-2.0)  # about -120 bps per minute
    regime = gen.regime(299 * NS)
    p_long, c_long = gen.probability(snap(0.5, 299, direction="long"), regime, 299 * NS)
    p_short, c_short = gen.probability(snap(0.5, 299, direction="short"), regime, 299 * NS)
    base = regime.multiplier / (1 + regime.multiplier)
    assert c_long["price_move_bps"] < -50
    assert c_long["price_move_adjustment"] == 1.0 and c_short["price_move_adjustment"] == -1.0
    assert p_long > base > p_short
    assert math.isclose(c_long["price_move_multiplier"], 1.5)


def test_one_cascade_is_one_escalating_sequence():
    gen = SignalGenerator(gconfig(min_dwell_s=5.0))
    risks = [0.1, 0.35, 0.52, 0.49, 0.72, 0.69, 0.88, 0.86, 0.6, 0.3, 0.1, 0.05, 0.0]
    levels = []
    for i, r in enumerate(risks):
        levels += [(s.previous_level, s.level) for s in gen.on_metrics(snap(r, i), i * NS)]
    for t in range(13, 30):
        levels += [(s.previous_level, s.level) for s in gen.on_tick(t * NS) if not s.heartbeat]
    assert levels == [("NONE", "WATCH"), ("WATCH", "ALERT"), ("ALERT", "CRITICAL"),
                      ("CRITICAL", "EXTREME"), ("EXTREME", "NONE")]


def test_signal_carries_stages_components_and_data_quality():
    gen = SignalGenerator(gconfig())
    gen.on_status(FeedStatus(exchange="okx", connected=False, throttled=True, reconnects=3, frames=1,
                             bad_frames=0, events=0, last_frame_ns=0, ts=9 * NS))
    s = gen.on_metrics(snap(0.6, 10), 10 * NS + 7)[0]
    assert s.stages == {"event": 10 * NS - 5_000_000, "recv": 10 * NS - 2_000_000,
                        "analytics": 10 * NS, "signal": 10 * NS + 7}
    assert set(s.components["factors"]) == {"velocity", "acceleration", "jerk", "concentration",
                                            "correlation", "one_sided"}
    assert s.data_quality["venues"] == ["binance", "bybit"]
    assert s.data_quality["throttled"] == ["binance"] and s.data_quality["complete"] == ["bybit"]
    assert s.data_quality["disconnected"] == ["okx"] and s.data_quality["quality"] == "degraded"
    assert s.confidence == round(0.9 * 0.7 * 0.85, 4)
    assert "ETHUSDT ALERT" in s.explanation and s.direction == "long"


def test_data_quality_names_each_venues_completeness_and_a_sampled_one_makes_it_partial():
    gen = SignalGenerator(gconfig())
    gen.on_status(FeedStatus(exchange="bybit", connected=True, throttled=False, reconnects=0, frames=1,
                             bad_frames=0, events=1, last_frame_ns=10 * NS, ts=10 * NS, completeness="sampled"))
    s = gen.on_metrics(snap(0.6, 10), 10 * NS + 7)[0]
    assert s.data_quality["completeness"] == {"binance": "throttled", "bybit": "sampled"}
    assert s.data_quality["partial"] == ["bybit"] and s.data_quality["complete"] == []
    assert s.data_quality["quality"] == "partial"


def test_whale_guard_caps_few_events_at_watch():
    gen = SignalGenerator(gconfig())
    s = gen.on_metrics(snap(0.95, 1, events_10s=1), NS)
    assert [x.level for x in s] == ["WATCH"]
    assert s[0].components["capped"] is True


def test_heartbeats_repeat_the_active_level():
    gen = SignalGenerator(gconfig(heartbeat_s=10.0))
    gen.on_metrics(snap(0.6, 0), 0)
    beats = []
    for t in range(1, 25):
        gen.on_metrics(snap(0.6, t), t * NS)
        beats += [(t, s.level, s.previous_level) for s in gen.on_tick(t * NS) if s.heartbeat]
    assert beats == [(10, "ALERT", "ALERT"), (20, "ALERT", "ALERT")]
    assert SignalGenerator(gconfig()).on_tick(100 * NS) == []  # nothing active, nothing sent


def test_stale_symbol_decays_to_none():
    gen = SignalGenerator(gconfig(stale_after_s=10.0, min_dwell_s=5.0))
    gen.on_metrics(snap(0.75, 0), 0)
    out = [s for t in range(1, 12) for s in gen.on_tick(t * NS) if not s.heartbeat]
    assert [(s.previous_level, s.level) for s in out] == [("CRITICAL", "NONE")]
    assert out[0].ts == 11 * NS and "no liquidation flow" in out[0].explanation


def test_market_signal_when_enough_symbols_alert_together():
    gen = SignalGenerator(gconfig(market_min_symbols=3, min_dwell_s=5.0))
    out = gen.on_metrics(snap(0.6, 0, symbol="BTCUSDT"), 0)
    out += gen.on_metrics(snap(0.6, 0, symbol="ETHUSDT", direction="short"), 0)
    assert all(s.symbol != MARKET for s in out)
    out = gen.on_metrics(snap(0.75, 1, symbol="SOLUSDT"), NS)
    market = [s for s in out if s.symbol == MARKET]
    assert len(market) == 1
    m = market[0]
    assert (m.previous_level, m.level, m.direction) == ("NONE", "ALERT", "long")
    assert set(m.components["symbols"]) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert math.isclose(m.probability, round((0.6 + 0.6 + 0.75) / 3, 4), abs_tol=1e-4)
    # one symbol drops out (after its own dwell): MARKET waits for its dwell, then returns to NONE
    early = gen.on_metrics(snap(0.0, 5.5, symbol="ETHUSDT"), int(5.5 * NS))
    assert [s.level for s in early] == ["NONE"]  # ETHUSDT only: MARKET entered at 1 s, dwell to 6 s
    later = [s for s in gen.on_tick(6 * NS) if s.symbol == MARKET and not s.heartbeat]
    assert [(s.previous_level, s.level) for s in later] == [("ALERT", "NONE")]


def test_whale_guard_caps_one_dominant_liquidation_at_watch():
    gen = SignalGenerator(gconfig())
    s = snap(0.95, 1)
    s.extra["n_effective"] = 1.2  # many crumbs around one huge liquidation
    assert [x.level for x in gen.on_metrics(s, NS)] == ["WATCH"]
    s2 = snap(0.95, 2)
    s2.extra["n_effective"] = 6.0
    assert [x.level for x in gen.on_metrics(s2, 2 * NS)] == ["EXTREME"]


def test_ticks_keep_the_whale_cap_while_confirming():
    gen = SignalGenerator(config(alert_confirm_s=2.0))
    assert [s.level for s in gen.on_metrics(snap(0.95, 0, events_10s=1), 0)] == ["WATCH"]
    assert [s for t in range(1, 5) for s in gen.on_tick(t * NS) if not s.heartbeat] == []
    # a broad flow with the same probability is confirmed by the tick after 2 s
    gen.on_metrics(snap(0.95, 5, symbol="SOLUSDT"), 5 * NS)
    assert [(s.symbol, s.level) for s in gen.on_tick(7 * NS)] == [("SOLUSDT", "EXTREME")]


def test_the_gate_margin_counts_only_while_the_whale_guard_passes():
    """A whale far past the dollar gate is still one liquidation: its margin must not keep the gate
    clock running for the crowd that may follow (levels.py: the gate clock's hysteresis reads the margin)."""
    g = SignalGenerator(config(alert_confirm_s=2.0))
    gate = {"met": "ALERT", "margin": 3.0}
    crowd = snap(0.6, 1.0, events_10s=50)
    crowd.extra["gate"], crowd.extra["n_effective"] = gate, 8.0
    g.on_metrics(crowd, crowd.ts)
    assert g.states["ETHUSDT"].margin == 3.0
    whale = snap(0.6, 2.0, events_10s=50)
    whale.extra["gate"], whale.extra["n_effective"] = gate, 1.1
    g.on_metrics(whale, whale.ts)
    assert g.states["ETHUSDT"].margin == 0.0 and g.states["ETHUSDT"].gate_ns is None
