"""Cross-venue correlation tells one market-wide wave (ρ ~ 1) from independent venues (ρ ~ 0)."""
from __future__ import annotations

import numpy as np
import pytest
from analytics_helpers import at, engine, liq

from analytics.correlation import venue_correlation


def test_identical_series_correlate_fully():
    x = np.random.default_rng(1).exponential(1e5, 60)
    rho, k = venue_correlation(np.vstack([x, x, 2 * x]))
    assert rho == pytest.approx(1.0)
    assert k == 3


def test_independent_series_barely_correlate():
    rng = np.random.default_rng(2)
    rho, k = venue_correlation(rng.exponential(1e5, (4, 60)))
    assert abs(rho) < 0.15
    assert k == 4


def test_fewer_than_two_venues_or_flat_series_give_zero():
    assert venue_correlation(np.zeros((0, 60))) == (0.0, 0)
    assert venue_correlation(np.array([[0.0, 5.0, 0.0]])) == (0.0, 1)
    assert venue_correlation(np.array([[1.0, 1.0, 1.0], [0.0, 3.0, 0.0]])) == (0.0, 2)


def test_engine_correlates_venues_on_a_one_second_grid():
    same, apart = engine(), engine()
    for s in range(0, 60, 5):  # the same seconds on every venue vs. each venue in its own seconds
        for i, venue in enumerate(("binance", "bybit", "okx")):
            same.update(liq(at(s + 0.5), 100_000.0 * (1 + s % 3), venue))
            apart.update(liq(at(s + i + 0.5), 100_000.0, venue))
    a, b = same.snapshot("BTCUSDT", at(60)), apart.snapshot("BTCUSDT", at(60))
    assert a.correlation == pytest.approx(1.0)
    assert a.venues_active == 3
    assert b.correlation < 0.0
    assert b.factors["correlation"]["score"] == 0.0
