"""The OI factor in labeled scenarios (a cascade with OI falling, the same without), and the context book."""
from __future__ import annotations

import math
import random

import pytest
from analytics_helpers import NS, at, engine, liq

from analytics.market_context import ContextBook, confirm, oi_score
from common.config import load_config
from common.schema import LEVELS, MarketContext
from signals.generator import SignalGenerator

NAN = math.nan
OI_COINS = {"bybit": 40_000.0, "binance": 60_000.0}  # BTC on each venue


def ctx(venue: str, t: int, oi: float = NAN, mark: float = 60_000.0, index: float = 60_000.0,
        funding: float = 0.0001, symbol: str = "BTCUSDT") -> MarketContext:
    return MarketContext(venue, symbol, symbol, oi, NAN, funding, mark, index, t, t)


def cascade(seed: int, oi_drop: float, seconds: int = 120, usd_per_s: float = 400_000.0):
    """Calm OI for 5 min, then a long cascade of `seconds` on two venues with each venue's OI falling by
    `oi_drop` (a fraction) over the cascade and the price by 2 %; returns the engine at the end and now."""
    rng = random.Random(seed)
    e = engine()
    start = 300
    for s in range(start):  # 5 min of context before the cascade: the 5 min window has a baseline
        for v, coins in OI_COINS.items():
            e.update_context(ctx(v, at(s), oi=coins * (1 + rng.gauss(0, 1e-4))))
    for s in range(seconds):
        t = start + s
        ramp = math.sin(math.pi * min(s / seconds, 1.0) / 2)  # rises to the end: the cascade is on
        price = 60_000.0 * (1 - 0.02 * s / seconds)
        for v, coins in OI_COINS.items():
            e.update_context(ctx(v, at(t), oi=coins * (1 - oi_drop * s / seconds), mark=price, index=price * 1.0005,
                                 funding=0.0001 - 0.0003 * ramp))
        for _ in range(rng.randint(2, 6)):
            v = rng.choice(("bybit", "binance"))
            e.update(liq(at(t + rng.random()), usd_per_s * ramp * rng.uniform(0.1, 0.5), venue=v))
    return e, at(start + seconds)


@pytest.mark.parametrize("seed", range(5))
def test_oi_falling_with_the_cascade_raises_risk_and_confidence_over_the_same_flow_with_flat_oi(seed):
    falling, now = cascade(seed, oi_drop=0.04)
    flat, _ = cascade(seed, oi_drop=0.0)
    a, b = falling.snapshot("BTCUSDT", now), flat.snapshot("BTCUSDT", now)
    assert a.velocity_usd_per_s == b.velocity_usd_per_s  # the same liquidations
    assert a.extra["gate"] == b.extra["gate"]  # evidence in dollars is the flow's alone
    assert a.risk > b.risk and a.confidence > b.confidence
    assert a.extra["market_context"]["oi_confirmation"] > 0.3 > 0.02 > b.extra["market_context"]["oi_confirmation"]
    # the 5 min window reaches back before the cascade: ~ -4 % of positions closed, valued at today's mark
    assert a.oi_change_5m_frac == pytest.approx(-0.04, rel=0.05)
    assert a.oi_change_5m_usd == pytest.approx(-0.04 * 100_000 * 60_000 * 0.98, rel=0.06)
    assert a.oi_usd == pytest.approx(100_000 * 0.96 * 60_000 * 0.98, rel=0.01)
    assert b.oi_change_5m_frac == pytest.approx(0.0, abs=1e-3)
    assert "OI −4.0% in 5 min" in a.explanation and "OI flat in 5 min" in b.explanation
    assert a.funding == pytest.approx(-0.0002, rel=0.05) and a.basis == pytest.approx(-0.0005, rel=0.05)


def test_oi_factor_without_liquidation_flow_contributes_nothing():
    e = engine()
    for s in range(400):
        e.update_context(ctx("bybit", at(s), oi=40_000.0 * (1 - 0.1 * s / 400)))  # OI -10 %, no liquidation
    snap = e.snapshot("BTCUSDT", at(400))
    assert snap.risk == 0.0 and snap.confidence == 0.0 and snap.oi_usd is None  # no flow: the empty snapshot
    reading = e.context.read("BTCUSDT", at(400))
    then, now = 40_000.0 * (1 - 0.1 * 100 / 400), 40_000.0 * (1 - 0.1 * 399 / 400)  # samples at 100 s and 399 s
    assert reading is not None and reading.frac_5m == pytest.approx(now / then - 1) and oi_score(reading) > 0.9
    assert confirm(0.2, 0.5, reading, activity=0.0, weight=0.3) == (0.2, 0.5, 0.0)
    assert confirm(0.2, 0.5, None, activity=1.0, weight=0.3) == (0.2, 0.5, 0.0)
    risk, conf, s = confirm(0.2, 0.5, reading, activity=1.0, weight=0.3)
    assert 0.2 < risk < 0.2 + 0.3 and 0.5 < conf < 0.5 + 0.15 and s > 0.9


@pytest.mark.parametrize("seed", range(3))
def test_oi_crash_cannot_lift_flow_below_the_dollar_gate_to_alert(seed):
    e, now = cascade(seed, oi_drop=0.15, usd_per_s=30_000.0)  # BTC's ALERT gate: $2.5M per 10 s, $3M per 60 s
    gen = SignalGenerator(load_config(env={}))
    levels = []
    for k in range(30):  # the same picture for 30 s: dwell and confirmation are not what stops it
        snap = e.snapshot("BTCUSDT", now + k * NS // 10)
        assert snap.extra["gate"]["met"] == "" and snap.oi_change_5m_frac < -0.1
        gen.on_metrics(snap, now + k * NS)
        levels.append(gen.states["BTCUSDT"].level if "BTCUSDT" in gen.states else 0)
    assert max(levels) < LEVELS.index("ALERT")


def test_oi_change_is_in_coins_so_a_price_fall_alone_is_no_drop():
    book = ContextBook()
    for s in range(301):
        price = 60_000.0 * (1 - 0.05 * s / 300)  # -5 % price, positions unchanged
        book.update(ctx("bybit", at(s), oi=40_000.0, mark=price))
    r = book.read("BTCUSDT", at(300))
    assert r.frac_5m == 0.0 and r.change_5m_usd == 0.0 and oi_score(r) == 0.0
    assert r.oi_usd == pytest.approx(40_000.0 * 57_000.0)


def test_venues_aggregate_a_stale_one_drops_out_and_funding_is_oi_weighted():
    book = ContextBook()
    for s in range(301):
        book.update(ctx("bybit", at(s), oi=40_000.0 - 4 * s, funding=0.0001))  # -1200 coins
        book.update(ctx("binance", at(s), oi=120_000.0, funding=0.0005))
        if s < 200:
            book.update(ctx("okx", at(s), oi=10_000.0 - 40 * s))  # goes quiet at 200 s
    r = book.read("BTCUSDT", at(300))
    assert r.venues == 2 and set(r.oi_by_venue) == {"bybit", "binance"}
    assert r.change_5m_usd == pytest.approx(-1200 * 60_000.0)
    assert r.frac_5m == pytest.approx(-1200 / 160_000.0)
    assert r.change_1m_usd == pytest.approx(-240 * 60_000.0)
    w_bybit, w_binance = 38_800.0, 120_000.0
    assert r.funding == pytest.approx((0.0001 * w_bybit + 0.0005 * w_binance) / (w_bybit + w_binance))
    assert book.read("BTCUSDT", at(400)) is None  # everything stale
    book.update(ctx("bybit", at(10)))  # an older context never replaces a newer one
    assert book.symbols["BTCUSDT"]["bybit"].last.ts_recv == at(300)


def test_a_venue_with_under_half_the_window_of_history_sits_it_out_with_more_reads_the_change_so_far():
    book = ContextBook()
    for s in range(100):
        book.update(ctx("bybit", at(s), oi=40_000.0 - s))
    r = book.read("BTCUSDT", at(99))
    assert r.change_5m_usd is None and r.frac_5m is None  # 99 s of a 300 s window
    assert r.change_1m_usd == pytest.approx(-60 * 60_000.0)
    for s in range(100, 160):
        book.update(ctx("bybit", at(s), oi=40_000.0 - s))
    r = book.read("BTCUSDT", at(159))
    assert r.frac_5m == pytest.approx(-159 / 40_000.0)  # 159 s of 300: the change since the first sample
