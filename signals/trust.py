"""The signals trust boundary: a snapshot's self-reported evidence must agree with itself.

Anyone who can write to the signals socket can send a well-typed MetricsSnapshot (the wire already
checked the types and ranges). What signals can still check is internal consistency: the risk
cannot exceed what its factors contribute, a contribution cannot exceed weight × score, the weights
are a partition of one, the effective count cannot exceed the count, the velocity factor reads a
velocity the snapshot carries, and there is no risk without flow. A forged "risk 0.995, no flow"
is refused here, before it can move a level.
"""
from __future__ import annotations

from typing import Any

from common.schema import MetricsSnapshot

TOL = 1e-6


def _num(d: Any, key: str, default: float = 0.0) -> float:
    v = d.get(key, default) if isinstance(d, dict) else default
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else default


def inconsistency(snap: MetricsSnapshot) -> str | None:
    """Why the snapshot contradicts itself, or None when it is consistent."""
    weights = contributions = 0.0
    for name, f in snap.factors.items():
        w, score, contrib = _num(f, "weight"), _num(f, "score"), _num(f, "contribution")
        if not (0.0 <= score <= 1.0 and 0.0 <= w <= 1.0 + TOL):
            return f"factor {name}: score {score:g} or weight {w:g} outside 0..1"
        if contrib > w * score + TOL:
            return f"factor {name}: contribution {contrib:g} above weight x score {w * score:g}"
        weights += w
        contributions += contrib
    if weights > 1.0 + TOL:
        return f"factor weights sum to {weights:g} > 1"
    if snap.risk > contributions + TOL:
        return f"risk {snap.risk:g} above the {contributions:g} its factors contribute"
    velocities = snap.velocity_usd_per_s.values()
    if snap.risk > TOL and velocities and max(velocities) <= 0.0:
        return f"risk {snap.risk:g} without any liquidation flow"
    events_10s = snap.count_per_s.get("10s")
    n_eff = _num(snap.extra, "n_effective")
    if events_10s is not None and n_eff > events_10s * 10.0 + TOL * max(1.0, n_eff):
        return f"n_eff {n_eff:g} above the {events_10s * 10.0:g} liquidations of the last 10 s"
    window = (snap.extra.get("factor_windows") or {}).get("velocity")
    vel = snap.factors.get("velocity")
    if isinstance(window, str) and window in snap.velocity_usd_per_s and isinstance(vel, dict):
        carried, raw = snap.velocity_usd_per_s[window], _num(vel, "raw")
        if abs(raw - carried) > TOL * max(1.0, abs(carried)):
            return f"velocity factor reads {raw:g} USD/s, the snapshot carries {carried:g} on {window}"
    return None
