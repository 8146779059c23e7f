"""Cascade risk: six factors scored 0..1, combined with configured weights, plus confidence.

Scoring intent (signals maps risk to NONE<0.30<=WATCH<0.50<=ALERT<0.70<=CRITICAL<0.85<=EXTREME):
a $20M+/60 s cascade over 2+ venues scores well above 0.5 within seconds of onset; calm flow stays
near 0; one lone whale scores about the velocity weight alone (0.35 by default), because every other
factor needs evidence that a single liquidation cannot give.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

FACTORS = ("velocity", "acceleration", "jerk", "concentration", "correlation", "one_sided")


# Not frozen: both are built per snapshot, and a frozen dataclass pays an object.__setattr__ call per field.
@dataclass(slots=True)
class WindowFlow:
    """One scoring window: velocities of the last three windows (USD/s) and the effective count."""

    name: str
    seconds: float
    v: tuple[float, float, float]
    n_eff: float
    censored: float = 0.0  # USD/s of v[0] estimated behind saturated throttled feeds (scored, not reported)


@dataclass(slots=True)
class Flow:
    """What the factors are computed from (all windows both sides, all venues unless said)."""

    windows: tuple[WindowFlow, ...]  # the scoring windows, short to long
    ref_usd_per_s: float  # max(baseline, floor)
    long_usd: float  # 10 s
    short_usd: float  # 10 s
    whale_usd: float  # 10 s, USD from liquidations >= the symbol's whale threshold
    n_eff: float  # 10 s
    rho: float
    venues_active: int


def saturate(x: float, scale: float) -> float:
    """0 for x <= 0, rising smoothly to 1: 1 - exp(-x/scale)."""
    return 1.0 - math.exp(-x / scale) if x > 0.0 else 0.0


def evidence(n_eff: float) -> float:
    """How much a shape measured on n_eff effective liquidations can be trusted: 0 for one, ->1 for many.

    n_eff = (Σ usd)² / Σ usd² (inverse Herfindahl): 1 for one whale however large, k for k equal
    liquidations, between for a mix. Weighing USD keeps a crowd of dust from looking like breadth.
    """
    return saturate(n_eff - 1.0, 2.0)


def n_effective(usd: float, usd_sq: float) -> float:
    return usd * usd / usd_sq if usd_sq > 0.0 else 0.0


def score_factors(flow: Flow) -> tuple[dict[str, tuple[float, float]], dict[str, str], float]:
    """Each factor's (raw, score); the window each kinematic factor was read on; the velocity ratio.

    * velocity: ratio = v_W / max(baseline, floor), maximized over the scoring windows;
      score = 1 - exp(-(ratio - 1)/2): 0 at the reference, 0.63 at 3x, 0.95 at 7x. raw = v_W USD/s as carried
      (the ratio includes the censored estimate of saturated throttled feeds, the raw velocity does not).
    * acceleration: x = (v_0 - v_1) / ref (the velocity gained over one window, in reference units),
      score = (1 - exp(-x/2)) · evidence(n_eff of the window), best window; raw = a in USD/s².
    * jerk: x = (v_0 - 2·v_1 + v_2) / ref, scored like acceleration; raw = jerk in USD/s³.
    * concentration: raw = whale share of 10 s USD; score = (1 - share) · breadth, breadth =
      1 - exp(-(n_eff - 1)/3): a crowd scores high, one whale scores 0 (it lowers risk, never raises it).
    * correlation: raw = ρ (USD-weighted, venues with >= 5% of the 60 s USD; see correlation.py);
      score = max(ρ, 0) · (0.5 + 0.5·min(1, (venues - 1)/2)): 0.75·ρ on 2 venues, ρ on 3+, 0 on one.
    * one_sided: raw = imbalance (L - S)/(L + S) over 10 s; score = |imbalance| · evidence(n_eff).
    The last three describe the shape of the flow, which means nothing without flow: they are scaled
    by activity = min(1, velocity ratio), so calm noise cannot add up to a signal.
    """
    return score_flow(tuple((w.name, w.seconds, *w.v, w.n_eff, w.censored) for w in flow.windows),
                      flow.ref_usd_per_s, flow.long_usd, flow.short_usd, flow.whale_usd, flow.n_eff, flow.rho,
                      flow.venues_active)


# (name, seconds, v_0, v_1, v_2, n_eff, censored) of a scoring window: WindowFlow's fields, flat
WindowTuple = tuple[str, float, float, float, float, float, float]


def score_flow(windows: tuple[WindowTuple, ...], ref_usd_per_s: float, long_usd: float, short_usd: float,
               whale_usd: float, n_eff: float, rho: float,
               venues_active: int) -> tuple[dict[str, tuple[float, float]], dict[str, str], float]:
    """`score_factors` of the Flow with these fields (windows as tuples): the snapshot builds no Flow objects."""
    # saturate() and evidence() written out (the same expressions): this runs per snapshot
    exp = math.exp
    ref = max(ref_usd_per_s, 1e-9)
    vel = acc = jerk = (-math.inf, 0.0, "")  # (score, raw, window); ties -> the first (shortest)
    for name, seconds, v0, v1, v2, w_n_eff, censored in windows:
        x = w_n_eff - 1.0
        ev = 1.0 - exp(-x / 2.0) if x > 0.0 else 0.0  # evidence(n_eff)
        if v0 / ref > vel[0]:
            vel = (v0 / ref, v0 - censored, name)  # raw: the velocity the snapshot carries
        x = (v0 - v1) / ref
        a_score = (1.0 - exp(-x / 2.0) if x > 0.0 else 0.0) * ev
        if a_score > acc[0]:
            acc = (a_score, (v0 - v1) / seconds, name)
        x = (v0 - 2.0 * v1 + v2) / ref
        j_score = (1.0 - exp(-x / 2.0) if x > 0.0 else 0.0) * ev
        if j_score > jerk[0]:
            jerk = (j_score, (v0 - 2.0 * v1 + v2) / (seconds * seconds), name)
    ratio = vel[0]
    activity = min(1.0, ratio)
    total = long_usd + short_usd
    share = whale_usd / total if total > 0.0 else 0.0
    imbalance = (long_usd - short_usd) / total if total > 0.0 else 0.0
    x = n_eff - 1.0
    breadth = 1.0 - exp(-x / 3.0) if x > 0.0 else 0.0
    part = 0.5 + 0.5 * min(1.0, (venues_active - 1) / 2.0)
    corr = max(rho, 0.0) * part if venues_active >= 2 else 0.0
    x = ratio - 1.0
    factors = {
        "velocity": (vel[1], 1.0 - exp(-x / 2.0) if x > 0.0 else 0.0),
        "acceleration": (acc[1], acc[0]),
        "jerk": (jerk[1], jerk[0]),
        "concentration": (share, (1.0 - share) * breadth * activity),
        "correlation": (rho, corr * activity),
        "one_sided": (imbalance, abs(imbalance) * evidence(n_eff) * activity),
    }
    return factors, {"velocity": vel[2], "acceleration": acc[2], "jerk": jerk[2]}, ratio


def normalized_weights(weights: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """(factor, w_i / Σ w) in FACTORS order, negative weights clipped to 0: once per config."""
    clipped = [max(weights.get(name, 0.0), 0.0) for name in FACTORS]
    total_w = sum(clipped) or 1.0
    return tuple((name, weight / total_w) for name, weight in zip(FACTORS, clipped, strict=True))


def combine(factors: dict[str, tuple[float, float]],
            weights: dict[str, float]) -> tuple[float, dict[str, dict[str, float]]]:
    """risk = Σ w_i·score_i / Σ w_i (weights normalized, so risk stays in 0..1) and the breakdown."""
    return combine_normalized(factors, normalized_weights(weights))


def combine_normalized(factors: dict[str, tuple[float, float]],
                       norm: tuple[tuple[str, float], ...]) -> tuple[float, dict[str, dict[str, float]]]:
    """`combine` with the weights already normalized (`normalized_weights`)."""
    isfinite = math.isfinite
    out: dict[str, dict[str, float]] = {}
    risk = 0.0
    for name, w in norm:
        raw, score = factors[name]
        score = (0.0 if score < 0.0 else 1.0 if score > 1.0 else float(score)) if isfinite(score) else 0.0
        contribution = w * score
        risk += contribution
        out[name] = {"raw": float(raw) if isfinite(raw) else 0.0, "score": score, "weight": w,
                     "contribution": contribution}
    return min(max(risk, 0.0), 1.0), out


def confidence(events_60s: float, age_s: float, coverage: float) -> float:
    """sample · freshness · coverage, each 0..1.

    sample = 1 - exp(-events/3) (events over 60 s, all venues); freshness = exp(-age/60 s) with age
    the time since the symbol's newest event; coverage from `FeedBook.coverage` (throttled venues
    count less, disconnected or stale ones nothing).
    """
    sample = saturate(events_60s, 3.0)
    fresh = math.exp(-max(age_s, 0.0) / 60.0)
    return min(max(sample * fresh * coverage, 0.0), 1.0)


