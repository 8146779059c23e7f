"""Cross-venue agreement: Pearson correlation of per-venue USD series on a common 1 s grid."""
from __future__ import annotations

import math

import numpy as np

MIN_SHARE = 0.05  # a venue takes part with at least this share of the grid's USD


def venue_correlation(series: np.ndarray, min_share: float = MIN_SHARE) -> tuple[float, int]:
    """USD-weighted mean pairwise Pearson ρ of per-venue series, and how many venues took part.

    `series` is (venues, buckets) of USD per bucket. A venue takes part if it carries at least
    `min_share` of the grid's USD: a venue with a few calm $10k fills during another venue's $20M
    wave is not part of that wave, and would otherwise drag ρ toward 0. Pairs are weighted by
    sqrt(U_i·U_j) (their USD), so the venues carrying the flow decide; flat series (no defined ρ)
    are left out; ρ is 0.0 with fewer than two usable venues. A market-wide cascade hits every venue
    in the same seconds (ρ near 1); one venue's local event leaves the others out of step (ρ near 0).
    """
    if series.size == 0:
        return 0.0, 0
    sums = series.sum(axis=1)
    usd = sums.tolist()
    total = sum(usd)
    if total <= 0.0:
        return 0.0, 0
    part = [i for i, u in enumerate(usd) if u >= min_share * total]
    if len(part) < 2:
        return 0.0, len(part)
    # Pearson ρ_ij = c_ij / (|x_i|·|x_j|) with x the centred series and c = x·xᵀ: one matmul, then
    # a handful of venues in plain floats. Each pair counted once (the weights' factor 2 cancels).
    if len(part) == len(usd):  # the row sums are `sums` already: the same reduction of the same rows
        x = series - (sums / series.shape[1])[:, None]  # = x - mean, as np.mean computes it
    else:
        x = series[part]
        x = x - x.sum(axis=1, keepdims=True) / x.shape[1]
    c = (x @ x.T).tolist()
    return _weighted(usd, part, c)


def correlation_of(usd: list[float], c: list[list[float]]) -> tuple[float, int]:
    """`venue_correlation` from each venue's USD and the centred products c of all venues' series
    (computed elsewhere for many symbols at once): the same participation, weights and ρ."""
    total = sum(usd)
    if total <= 0.0:
        return 0.0, 0
    part = [i for i, u in enumerate(usd) if u >= MIN_SHARE * total]
    if len(part) < 2:
        return 0.0, len(part)
    return _weighted(usd, part, c if len(part) == len(usd) else [[c[a][b] for b in part] for a in part])


def _weighted(usd: list[float], part: list[int], c: list[list[float]]) -> tuple[float, int]:
    """USD-weighted mean of the pairwise ρ of the venues `part` (c: their centred products)."""
    # (sqrt of USD: the pair weight's factor, |x_i|, row i of c, i) of the venues whose series varies
    varies = [(math.sqrt(usd[p]), math.sqrt(c[i][i]), c[i], i) for i, p in enumerate(part) if c[i][i] > 0.0]
    if len(varies) < 2:
        return 0.0, len(part)
    num = den = 0.0
    for a, (g_a, norm_a, c_a, _) in enumerate(varies):
        for g_b, norm_b, _, j in varies[a + 1:]:
            w = g_a * g_b
            num += w * (c_a[j] / (norm_a * norm_b))
            den += w
    rho = num / den
    return (min(max(rho, -1.0), 1.0) if math.isfinite(rho) else 0.0), len(part)
