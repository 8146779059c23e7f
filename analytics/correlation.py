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
    usd = series.sum(axis=1)
    total = float(usd.sum())
    if total <= 0.0:
        return 0.0, 0
    part = usd >= min_share * total
    taking_part = int(part.sum())
    if taking_part < 2:
        return 0.0, taking_part
    x = series[part]
    u = usd[part]
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))
    varies = norm > 0.0
    if int(varies.sum()) < 2:
        return 0.0, taking_part
    x = x[varies] / norm[varies, None]
    g = np.sqrt(u[varies])
    w = np.outer(g, g)
    np.fill_diagonal(w, 0.0)
    rho = float((w * (x @ x.T)).sum() / w.sum())
    return (min(max(rho, -1.0), 1.0) if math.isfinite(rho) else 0.0), taking_part
