"""Regime detector: vol bands, hysteresis, UNKNOWN without prices, trend and liquidity."""
from __future__ import annotations

import bisect
import math
import random

from signals.regime import REGIMES, SECONDS_PER_YEAR, RegimeDetector, _first_after
from tests.unit.signals.helpers import NS, config, tick


def feed(det, vol: float, seconds: int, start_s: int = 0, price: float = 60_000.0, seed: int = 1,
         drift_bps: float = 0.0) -> float:
    """Feed a 1 s random walk of annualized vol `vol`; return the last price."""
    rng = random.Random(seed)
    sd = vol / math.sqrt(SECONDS_PER_YEAR)
    for s in range(start_s, start_s + seconds):
        price *= math.exp(rng.gauss(drift_bps / 1e4, sd))
        det.update(tick(price, s))
    return price


def test_unknown_without_ticks_with_multiplier_one():
    r = RegimeDetector(config().signals).current(10 * NS)
    assert r.regime == "UNKNOWN" and r.multiplier == 1.0


def test_unknown_when_price_is_stale():
    det = RegimeDetector(config(price_stale_s=60.0).signals)
    feed(det, 0.5, 120)
    assert det.current(119 * NS).regime != "UNKNOWN"
    assert det.current(200 * NS).regime == "UNKNOWN"
    assert det.price_move(200 * NS, 60) is None


def test_other_symbols_are_ignored():
    det = RegimeDetector(config().signals)
    for s in range(100):
        det.update(tick(100.0 + s, s, symbol="ETHUSDT"))
    assert det.current(100 * NS).regime == "UNKNOWN"


def test_vol_bands_map_to_regimes_and_multipliers():
    cfg = config().signals
    for vol, name in [(0.05, "DORMANT"), (0.45, "NORMAL"), (3.0, "EXTREME")]:
        det = RegimeDetector(cfg)
        feed(det, vol, 1000)
        r = det.current(999 * NS)
        assert r.regime == name, (vol, r.vol)
        assert r.multiplier == cfg.regime_multipliers[name]
        assert abs(r.vol["composite"] - vol) / vol < 0.25


def test_hysteresis_holds_the_regime_near_a_boundary():
    cfg = config(regime_hysteresis=0.10).signals
    det = RegimeDetector(cfg)
    det._index = REGIMES.index("ELEVATED")  # noqa: SLF001 - set a known starting band
    assert det._band(0.97) == REGIMES.index("ELEVATED")  # within 10 % of the 1.00 bound: stays
    det._index = REGIMES.index("HIGH")
    assert det._band(0.97) == REGIMES.index("HIGH")  # from above, 0.97 > 0.90 stays HIGH
    assert det._band(0.89) == REGIMES.index("ELEVATED")
    det._index = REGIMES.index("ELEVATED")
    assert det._band(1.11) == REGIMES.index("HIGH")


def test_no_flapping_when_vol_hovers_on_a_bound():
    cfg = config().signals
    det = RegimeDetector(cfg)
    seen = []
    det._index = REGIMES.index("NORMAL")
    for v in [0.58, 0.62, 0.59, 0.64, 0.57, 0.61]:  # around the 0.60 bound
        det._index = det._band(v)
        seen.append(REGIMES[det._index])
    assert set(seen) == {"NORMAL"}


def test_trend_direction_and_liquidity():
    det = RegimeDetector(config().signals)
    feed(det, 0.3, 600, drift_bps=-2.0)  # -2 bps/s: a steady fall
    r = det.current(599 * NS)
    assert r.trend == "down" and r.trend_strength > 1.0
    assert r.liquidity == "NORMAL"
    assert det.price_move(599 * NS, 60) < 0


def test_mark_prices_without_size_leave_liquidity_unknown():
    det = RegimeDetector(config().signals)
    for s in range(100):
        det.update(tick(60_000.0 + s, s, qty=0.0))
    assert det.current(99 * NS).liquidity == "UNKNOWN"


def test_a_window_with_too_little_history_is_warming_up_and_moves_nothing():
    from signals.regime import WARMING_UP
    det = RegimeDetector(config().signals)
    price = 60_000.0
    for s in range(40):  # 40 s of a wild price: would read HIGH or EXTREME from a 1 min window
        price *= 1.004 if s % 2 else 0.996
        det.update(tick(price, s))
    r = det.current(39 * NS)
    assert r.regime == WARMING_UP and r.multiplier == 1.0 and "composite" not in r.vol
    for s in range(40, 60):
        price *= 1.004 if s % 2 else 0.996
        det.update(tick(price, s))
    r = det.current(59 * NS)
    assert r.regime == "EXTREME" and set(r.vol) == {"1m", "composite"}  # 5 and 15 min still warming


def test_window_start_is_bisect_right_with_or_without_gaps_in_the_bars():
    """The consecutive-seconds guess of `_first_after` must give bisect's answer whatever the bars are."""
    rng = random.Random(3)
    for _ in range(3000):
        n = rng.randint(1, 40)
        secs = list(range(10, 10 + n)) if rng.random() < 0.5 else sorted(rng.sample(range(80), n))
        for w in (0, 1, 5, 7.5, 30, 60, 60.0, 100):
            target = secs[-1] - w
            assert _first_after(secs, target, w) == bisect.bisect_right(secs, target), (secs, w)


def test_the_fast_regime_builder_sets_every_field_as_the_constructor_does():
    """`current` builds its Regime through the slots (`_regime`): a field added to Regime and not passed there
    would be left unset; reading every field and comparing with the constructor's object catches it."""
    from dataclasses import fields

    from common.schema import Regime

    det = RegimeDetector(config().signals)
    feed(det, 0.45, 1000)
    r = det.current(999 * NS)
    values = [getattr(r, f.name) for f in fields(Regime)]  # AttributeError on an unset slot
    assert r == Regime(*values) and r.regime == "NORMAL" and r.trend_strength == values[-1]
