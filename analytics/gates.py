"""Dollar gates and censored flow: ALERT and above need evidence in dollars, not only in ratios.

A ratio against a small reference can be large for a flow no trader would act on ($63k in 2 s is
1.3x BTC's floor); a gate is an absolute USD amount of the named side over a scoring window below
which a level cannot be reached, whatever the regime or the price move do to the probability.

Gates are per symbol (`analytics.usd_gates`: ALERT, CRITICAL, EXTREME in USD over 10 s) or, by
default, by size tier: the symbol's reference flow max(1 h baseline, floor), rounded down to a
1-2.5-5 series so a gate does not wobble with the baseline, times `analytics.usd_gate_seconds`.
The other scoring windows scale the 10 s gate (`WINDOW_SCALE`): a 2 s burst must be denser (0.35 of
the 10 s gate in 2 s: 1.75x its rate, so a cascade ramping at onset opens it before it has filled 10 s; chop's
sustained clusters fill the 10 s window, not a dense 2 s one), a 60 s wave larger in total but thinner.
`gate_margin` tells how far past the ALERT gate the flow is; the signals pay their confirmation wait in it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

GATE_LEVELS = ("ALERT", "CRITICAL", "EXTREME")
WINDOW_SCALE = {"2s": 0.35, "10s": 1.0, "60s": 1.2}
SATURATION_SECONDS = 10  # 1 s buckets a throttled venue's occupancy is read over
SATURATION_MIN = 0.5  # occupied share below which a throttled feed is read as uncensored
THROTTLE_SHOWN_MAX = 1.5  # events per occupied second above which a feed is not censoring (jitter allowed)


def tier(ref_usd_per_s: float) -> float:
    """The reference flow rounded down to 1, 2.5 or 5 x 10^k USD/s (at least 1)."""
    if ref_usd_per_s <= 1.0:
        return 1.0
    decade = 10.0 ** math.floor(math.log10(ref_usd_per_s))
    return decade * max(m for m in (1.0, 2.5, 5.0) if m * decade <= ref_usd_per_s * (1 + 1e-12))


def gates_for(explicit: Sequence[float] | None, ref_usd_per_s: float,
              seconds: Sequence[float]) -> tuple[float, ...]:
    """(ALERT, CRITICAL, EXTREME) USD over 10 s: the configured ones, else tier x seconds."""
    if explicit:
        return tuple(float(g) for g in explicit)
    t = tier(ref_usd_per_s)
    return tuple(t * s for s in seconds)


def gate_level(side_usd: dict[str, float], gates: Sequence[float]) -> int:
    """How many gates (0..3) the named side's USD meets in at least one scoring window."""
    met = 0
    scale = WINDOW_SCALE
    for i, gate in enumerate(gates, 1):
        for w, usd in side_usd.items():  # any window (a loop, not any(): this runs per snapshot)
            if usd >= gate * scale[w]:
                met = i
                break
    return met


def gate_margin(side_usd: dict[str, float], gate: float) -> float:
    """How far the named side's USD is above (>1) or below (<1) one gate, in its best scoring window."""
    if gate <= 0.0:
        return 0.0
    best = None  # max(..., default=0.0) as a loop (this runs per snapshot): the first of equal ratios stays
    for w, usd in side_usd.items():
        ratio = usd / (gate * WINDOW_SCALE[w])
        if best is None or ratio > best:
            best = ratio
    return 0.0 if best is None else best


def censoring_ratio(occupied: int, cap: float) -> float:
    """How many liquidations a throttled feed (at most one per symbol per second) stands for, per one shown.

    With k of the last n one-second buckets holding an event and a Poisson rate λ, P(bucket occupied)
    = 1 - e^-λ, so λ ≈ -ln(1 - k/(n+1)) (shrunk so it stays finite), and each occupied second stands
    for λ / (1 - e^-λ) events: 1 for sparse flow, 1.3 at half occupancy, 2.6 when every second holds
    one. A feed with an event in every second cannot tell 3/s from 30/s; `cap` (hand-set: the data
    cannot decide) is what a fully saturated feed is read as, and bounds the estimate everywhere.
    """
    n = SATURATION_SECONDS
    if occupied < SATURATION_MIN * n:
        return 1.0
    if occupied >= n:
        return max(cap, 1.0)
    lam = -math.log(1.0 - occupied / (n + 1.0))
    return min(max(lam / -math.expm1(-lam), 1.0), max(cap, 1.0))


def full_feed_reading(cap: float) -> float:
    """What a feed full in every second is read as by its occupancy: the Poisson estimate of a full window
    (2.6), never above `cap`. Occupancy cannot tell 3/s from 30/s, so it claims no more than that; how much
    more a full feed hides is read from the timing of what it shows (`throttle.py`), and only while a second
    throttled feed of the symbol agrees.

    Until 2026-12-01 two feeds full at once were read as `cap` (8x) whatever their timing said. Over chop
    streams of four seeds, one of the false ALERT+ came from exactly that: two feeds full for 10 s, their
    timing reading ~4.6/s (a cluster), read as 8x anyway; without the 8x, no positive class of train or
    held-out changed (the timing already reads every cascade that reading caught).
    """
    n = SATURATION_SECONDS
    lam = -math.log(1.0 - n / (n + 1.0))
    return min(lam / -math.expm1(-lam), max(cap, 1.0))


def censored_usd(occupied: int, events: float, usd: float, cap: float) -> float:
    """USD a throttled feed probably held back over the last 10 s: the events its occupied seconds stand
    for beyond those it showed, at the USD per event it showed (none when it shows more than one per
    second: then it is not censoring at this rate)."""
    if events <= 0.0 or events > THROTTLE_SHOWN_MAX * occupied:
        return 0.0  # several per second shown: this feed is not at a one-per-second ceiling
    hidden_events = censoring_ratio(occupied, cap) * occupied - events
    return hidden_events * usd / events if hidden_events > 0.0 else 0.0
