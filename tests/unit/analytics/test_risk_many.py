"""risk_many.score_many gives, bit for bit, what score_factors then combine_normalized give symbol by symbol."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from analytics.risk import FACTORS, Flow, WindowFlow, combine_normalized, normalized_weights, score_factors
from analytics.risk_many import score_many

WINDOWS = (("2s", 2.0), ("10s", 10.0), ("60s", 60.0))


def _value(rng: random.Random) -> float:
    """Flow values with the edge cases: zeros of both signs, tiny negatives (float cancellation), equal values
    (ties between windows), large and small magnitudes."""
    return rng.choice((0.0, -0.0, -1e-12, 5.0, 1e-300, 1e9 * rng.random(), rng.expovariate(1e-4), rng.random()))


def _flows(seed: int, n: int) -> list[Flow]:
    rng = random.Random(seed)
    flows = []
    for _ in range(n):
        windows = tuple(WindowFlow(name, secs, (_value(rng), _value(rng), _value(rng)),
                                   rng.choice((0.0, 1.0, 1.5, 10 * rng.random())),
                                   rng.choice((0.0, 100 * rng.random()))) for name, secs in WINDOWS)
        flows.append(Flow(windows, rng.choice((0.0, 1e-12, 500.0, 5e4, _value(rng))), _value(rng), _value(rng),
                          _value(rng), rng.choice((0.0, 1.0, 2.5, 10 * rng.random())),
                          rng.choice((0.0, -0.0, -0.3, 0.9, 1.0)), rng.randrange(0, 6)))
    return flows


@pytest.mark.parametrize("seed", range(3))
def test_many_symbols_score_as_one_at_a_time(seed: int) -> None:
    flows = _flows(seed, 3000)
    norm = normalized_weights(dict(zip(FACTORS, (0.35, 0.15, 0.05, 0.15, 0.15, 0.15), strict=True)))

    def col(get) -> np.ndarray:  # noqa: ANN001
        return np.array([get(f) for f in flows])

    got = score_many([tuple(col(lambda f, j=j, k=k: f.windows[j].v[k]) for k in range(3)) for j in range(3)],
                     [col(lambda f, j=j: f.windows[j].n_eff) for j in range(3)],
                     [col(lambda f, j=j: f.windows[j].censored) for j in range(3)],
                     [s for _, s in WINDOWS], [n for n, _ in WINDOWS], col(lambda f: f.ref_usd_per_s),
                     col(lambda f: f.long_usd), col(lambda f: f.short_usd), col(lambda f: f.whale_usd),
                     col(lambda f: f.n_eff), col(lambda f: f.rho), col(lambda f: f.venues_active), norm)
    for flow, (risk, factors, windows, ratio) in zip(flows, got, strict=True):
        raw, want_windows, want_ratio = score_factors(flow)
        want_risk, want_factors = combine_normalized(raw, norm)
        # repr: the same floats to the bit (signed zeros included), the same keys in the same order
        assert repr((risk, factors, windows, ratio)) == repr((want_risk, want_factors, want_windows, want_ratio))
    assert any(r > 0.0 for r, *_ in got) and any(math.isclose(r, 0.0) for r, *_ in got)
