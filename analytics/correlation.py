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
    else:  # each row's mean from its sum (the same reduction of the same row), divided as numpy would
        n = series.shape[1]
        x = series[part] - np.array([[usd[i] / n] for i in part])
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


def correlation_many(usd: np.ndarray, c: np.ndarray, own: np.ndarray) -> list[tuple[float, int]]:
    """`correlation_of` of many symbols at once: usd (symbols, venues), c (symbols, venues, venues) the
    centred products, own (symbols, venues) which venues are the symbol's (the others count as absent).

    The same floats as symbol by symbol: the total and each pair's terms are the same operations in the
    same order (venue order), and a pair or venue left out adds an exact 0.0 instead of nothing."""
    n, v = usd.shape
    usd = np.where(own, usd, 0.0)
    total = usd[:, 0].copy()
    for k in range(1, v):
        total += usd[:, k]
    part = own & (usd >= MIN_SHARE * total[:, None]) & (total[:, None] > 0.0)
    diag = np.diagonal(c, axis1=1, axis2=2)
    varies = part & (diag > 0.0)
    g, norm = np.sqrt(usd), np.sqrt(np.where(diag > 0.0, diag, 0.0))
    num, den = np.zeros(n), np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for a in range(v):
            for b in range(a + 1, v):
                take = varies[:, a] & varies[:, b]
                w = g[:, a] * g[:, b]
                num += np.where(take, w * (c[:, a, b] / (norm[:, a] * norm[:, b])), 0.0)
                den += np.where(take, w, 0.0)
        rho = num / den
    n_part = part.sum(axis=1)
    ok = (n_part >= 2) & (varies.sum(axis=1) >= 2) & np.isfinite(rho)
    rho = np.where(ok, np.clip(rho, -1.0, 1.0), 0.0)
    return list(zip(rho.tolist(), n_part.tolist(), strict=True))
