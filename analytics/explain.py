"""The human sentence of a snapshot: what happened, how unusual it is, and on how many venues."""
from __future__ import annotations


def money(usd: float) -> str:
    """$12.4M, $850k, $1.2B, $420."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if usd >= div:
            text = f"{usd / div:.1f}" if usd / div < 100 else f"{usd / div:.0f}"
            return f"${text.removesuffix('.0')}{suffix}"
    return f"${usd:.0f}"


def window_label(name: str) -> str:
    """'10s' -> '10 s', '500ms' -> '500 ms'."""
    label = _LABELS.get(name)
    if label is None:
        unit = next((u for u in ("ms", "s", "m", "h") if name.endswith(u)), "")
        label = _LABELS[name] = f"{name[: -len(unit)]} {unit}" if unit else name
    return label


_LABELS: dict[str, str] = {}  # window name -> label: a handful of names, each labelled once


def sentence(symbol: str, side_usd: float, direction: str, window: str, ratio: float,
             baseline: float, floor: float, accel_score: float, accel: float, n_eff: float,
             venues_active: int, venues_known: int, rho: float, usd_60s: float, censored: float = 0.0,
             notes: tuple[str, ...] = ()) -> str:
    """E.g. "BTCUSDT: $12.4M of longs liquidated in 10 s, 8.2× its 1 h baseline, accelerating,
    on 3 of 4 venues (ρ 0.84)". `ratio` is against max(baseline, floor), named after the larger.
    `notes` (market context, the true-USD estimate) follow after semicolons. Positional arguments allowed: the
    snapshot passes them so (a keyword costs a lookup per call)."""
    if usd_60s <= 0.0:
        return f"{symbol}: quiet, no liquidations in the last 60 s"
    ref = "its 1 h baseline" if baseline >= floor else _floor_phrase(floor)
    if accel_score >= 0.3:
        trend = "accelerating"
    elif accel < 0.0:
        trend = "easing"
    else:
        trend = "steady"
    text = (f"{symbol}: {money(side_usd)} of {direction}s liquidated in {window_label(window)}, "
            f"{ratio:.1f}× {ref}, {trend}")
    if censored > 0.0:
        text += f" (incl. ~{money(censored)} held back by saturated throttled feeds)"
    if 0.0 < n_eff < 1.5:
        text += ", mostly one large liquidation"
    known = max(venues_known, venues_active)
    text += f", on {venues_active} of {known} venues" if known != 1 else f", on {venues_active} of 1 venue"
    if venues_active >= 2:
        text += f" (ρ {rho:.2f})"
    return "; ".join((text, *(n for n in notes if n))) if any(notes) else text


def _floor_phrase(floor: float) -> str:
    """'the $50k/s floor': one per configured floor, kept."""
    phrase = _FLOORS.get(floor)
    if phrase is None:
        phrase = _FLOORS[floor] = f"the {money(floor)}/s floor"
    return phrase


_FLOORS: dict[float, str] = {}
