"""`risk.score_factors` then `risk.combine_normalized` of many symbols at once, bit for bit the same floats.

A second's snapshots score every symbol: as arrays, the factor arithmetic is a few dozen numpy operations for
all of them instead of ~200 Python operations per symbol. Every step is the scalar code's IEEE operation in
the same order (elementwise, so the same floats); Python's max/min/ifs become `np.where` with the same
comparison (ties and signed zeros resolve as in the scalar code), and exp is `math.exp` on the arguments that
need it (numpy's exp may round differently from the C library's).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# risk, factors ({name: {"raw", "score", "weight", "contribution"}}), factor windows, velocity ratio
Scores = tuple[float, dict[str, dict[str, float]], dict[str, str], float]


def saturate_many(x: np.ndarray, scale: float) -> np.ndarray:
    """`risk.saturate` elementwise: 1 - exp(-x/scale) where x > 0, else 0."""
    out = np.zeros(x.shape)
    pos = x > 0.0
    if pos.any():
        exp = math.exp
        out[pos] = 1.0 - np.array([exp(a) for a in (-x[pos] / scale).tolist()])
    return out


def score_many(v: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], n_eff_w: Sequence[np.ndarray],
               censored: Sequence[np.ndarray], seconds: Sequence[float], names: Sequence[str],
               ref_usd_per_s: np.ndarray, long_usd: np.ndarray, short_usd: np.ndarray, whale_usd: np.ndarray,
               n_eff: np.ndarray, rho: np.ndarray, venues_active: np.ndarray,
               norm: tuple[tuple[str, float], ...]) -> list[Scores]:
    """Per symbol, `combine_normalized(score_factors(flow), norm)` and score_factors' windows and ratio, of the
    flows given column-wise: for scoring window j (short to long) v[j] = (v_0, v_1, v_2), n_eff_w[j],
    censored[j] (each (symbols,)), seconds[j], names[j]; the other arguments are the Flow fields (symbols,)."""
    with np.errstate(all="ignore"):  # an overflow gives inf, as in Python floats; no warning there either
        return _score_many(v, n_eff_w, censored, seconds, names, ref_usd_per_s, long_usd, short_usd, whale_usd,
                           n_eff, rho, venues_active, norm)


def _score_many(v: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], n_eff_w: Sequence[np.ndarray],
                censored: Sequence[np.ndarray], seconds: Sequence[float], names: Sequence[str],
                ref_usd_per_s: np.ndarray, long_usd: np.ndarray, short_usd: np.ndarray, whale_usd: np.ndarray,
                n_eff: np.ndarray, rho: np.ndarray, venues_active: np.ndarray,
                norm: tuple[tuple[str, float], ...]) -> list[Scores]:
    ref = np.where(1e-9 > ref_usd_per_s, 1e-9, ref_usd_per_s)  # max(ref, 1e-9)
    n = len(ref)
    best = [np.full(n, -math.inf) for _ in range(3)]  # velocity ratio, acceleration and jerk scores
    raw = [np.zeros(n) for _ in range(3)]
    win = [np.full(n, -1) for _ in range(3)]  # -1: no window ("")
    for j, ((v0, v1, v2), ne, cens, w) in enumerate(zip(v, n_eff_w, censored, seconds, strict=True)):
        ev = saturate_many(ne - 1.0, 2.0)
        d1, d2 = v0 - v1, v0 - 2.0 * v1 + v2
        for k, (score, value) in enumerate(((v0 / ref, v0 - cens), (saturate_many(d1 / ref, 2.0) * ev, d1 / w),
                                            (saturate_many(d2 / ref, 2.0) * ev, d2 / (w * w)))):
            take = score > best[k]  # ties -> the first (shortest) window
            best[k] = np.where(take, score, best[k])
            raw[k] = np.where(take, value, raw[k])
            win[k] = np.where(take, j, win[k])
    ratio = best[0]
    activity = np.where(ratio < 1.0, ratio, 1.0)  # min(1.0, ratio)
    total = long_usd + short_usd
    some = total > 0.0
    safe = np.where(some, total, 1.0)
    share = np.where(some, whale_usd / safe, 0.0)
    imbalance = np.where(some, (long_usd - short_usd) / safe, 0.0)
    breadth = saturate_many(n_eff - 1.0, 3.0)
    many = (venues_active - 1) / 2.0
    part = 0.5 + 0.5 * np.where(many < 1.0, many, 1.0)
    corr = np.where(venues_active >= 2, np.where(0.0 > rho, 0.0, rho) * part, 0.0)
    factors = {
        "velocity": (raw[0], saturate_many(ratio - 1.0, 2.0)),
        "acceleration": (raw[1], best[1]),
        "jerk": (raw[2], best[2]),
        "concentration": (share, (1.0 - share) * breadth * activity),
        "correlation": (rho, corr * activity),
        "one_sided": (imbalance, np.abs(imbalance) * saturate_many(n_eff - 1.0, 2.0) * activity),
    }
    # combine_normalized
    risk = np.zeros(n)
    columns = []
    for name, w in norm:
        r, s = factors[name]
        s = np.where(np.isfinite(s), np.where(s < 0.0, 0.0, np.where(s > 1.0, 1.0, s)), 0.0)
        c = w * s
        risk = risk + c
        columns.append((name, np.where(np.isfinite(r), r, 0.0).tolist(), s.tolist(), w, c.tolist()))
    risk = np.where(0.0 > risk, 0.0, risk)
    risk = np.where(1.0 < risk, 1.0, risk)  # min(max(risk, 0.0), 1.0)
    labels = [*names, ""]  # window -1 -> ""
    wins = [[labels[j] for j in x.tolist()] for x in win]
    # each factor's {"raw", "score", "weight", "contribution"} of every symbol, then one row of them per symbol
    # (zips, not an index per value: the same dicts, a third of the Python operations)
    per_factor = [[{"raw": a, "score": b, "weight": w, "contribution": d} for a, b, d in zip(r, s, c, strict=True)]
                  for _, r, s, w, c in columns]
    keys = [name for name, *_ in columns]
    # dict(zip(keys, row)) without strict= (rows are zips of the columns above, one per key): ~0.7 µs a symbol
    return [(rk, dict(zip(keys, row)), {"velocity": wv, "acceleration": wa, "jerk": wj}, q)  # noqa: B905
            for rk, row, wv, wa, wj, q in zip(risk.tolist(), zip(*per_factor, strict=True), *wins, ratio.tolist(),
                                              strict=True)]

