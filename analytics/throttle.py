"""How fast a throttled feed's hidden flow runs, read from the timing of the events it lets through.

A throttled venue (Binance, OKX) pushes at most the latest liquidation of a symbol per 1000 ms window.
The event shown for a window is the last of that window's events, so its distance g to the window's
end is the wait back to the previous event of a Poisson flow of rate λ: exponential, truncated to the
window (density λe^{-λg} / (1 - e^{-λ}) on [0, 1)). At a few events per second g is spread over the
second; at fifty, every shown event sits within ~20 ms of its window's end, and the shown events tick
like a clock. The window boundaries are the venue's, unknown here, so the spacing is what is read:
two shown events of adjacent windows lie 1 s + g_i - g_j apart, and E|g_i - g_j| falls from 1/3 (a
sparse flow) to 1/λ (a dense one). Inverting that mean gives λ, and λ / (1 - e^{-λ}) events stand
behind each shown one: the occupancy of the last seconds alone cannot tell 3/s from 30/s, the timing can.

The estimate is read per feed, only where the feed is saturated (an event in nearly every second); it
counts only while two throttled feeds of the symbol both read a dense flow (`Engine._censored`), so a few
lucky spacings, or a short cluster's bunched events, on one feed do not read as a cascade.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

NS = 1_000_000_000
HISTORY = 12  # shown events kept per (symbol, venue): the last ~10 s of a saturated feed
ADJACENT = (0.5, 1.5)  # seconds between two shown events of adjacent windows (1 s ± one window)
MIN_SPACINGS = 3  # adjacent spacings per feed (4 saturated seconds) before its timing says anything
LAMBDA_MAX = 200.0  # events/s: beyond this the millisecond timestamps and the venue's jitter cannot tell

_LAMBDAS = np.geomspace(1e-3, LAMBDA_MAX, 400)


def _spread(lam: float) -> float:
    """E|g_i - g_j| for two independent truncated exponentials of rate `lam` on [0, 1): 2∫F(1-F)."""
    x = np.linspace(0.0, 1.0, 2001)
    f = -np.expm1(-lam * x) / -math.expm1(-lam)
    y = f * (1.0 - f)
    return float(2.0 * np.sum((y[1:] + y[:-1]) * 0.5 * np.diff(x)))


_SPREADS = np.array([_spread(float(lam)) for lam in _LAMBDAS])  # decreasing in λ: 1/3 .. ~1/λ


def rate_from_spread(spread: float) -> float:
    """λ (events/s) whose expected spacing spread is `spread` (s); LAMBDA_MAX for a perfect clock."""
    if spread >= _SPREADS[0]:
        return float(_LAMBDAS[0])
    if spread <= _SPREADS[-1]:
        return LAMBDA_MAX
    # np.interp needs increasing x: the table runs backwards
    return float(np.interp(spread, _SPREADS[::-1], _LAMBDAS[::-1]))


def events_per_shown(lam: float) -> float:
    """Events one shown event of an occupied window stands for at rate λ: λ / (1 - e^{-λ}) (>= 1)."""
    if lam <= 1e-9:
        return 1.0
    return lam / -math.expm1(-lam)


class ShownTimes:
    """The event times a throttled feed showed for one symbol, newest last (a few per feed)."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: deque[int] = deque(maxlen=HISTORY)

    def add(self, ts_ns: int) -> None:
        """A newer shown event; the same time again is a duplicate delivery (a throttled feed shows one
        event per window), an older one a late delivery of a window already read."""
        if not self.times or ts_ns > self.times[-1]:
            self.times.append(ts_ns)

    def deviations(self, now_ns: int, span_s: float) -> list[float]:
        """|spacing - 1 s| of the feed's current saturated run: the newest shown events, each in the
        window after the one before, back from one shown within the last ADJACENT[1] s (none when the
        feed is not saturated now), at most `span_s` seconds back."""
        ts = self.times
        if not ts or now_ns - ts[-1] > ADJACENT[1] * NS:
            return []
        lo = now_ns - int(span_s * NS)
        out = []
        for k in range(len(ts) - 1, 0, -1):
            a, b = ts[k - 1], ts[k]
            d = (b - a) / NS
            if a <= lo or not ADJACENT[0] <= d <= ADJACENT[1]:
                break
            out.append(abs(d - 1.0))
        return out


def pooled_rate(deviations: list[float], z: float) -> float:
    """λ from the pooled |spacing - 1 s| of saturated feeds, `z` standard errors low (0: the point estimate).

    The mean of n deviations has a relative standard error of about 1/√n (the deviation of two
    exponentials is itself exponential); reading the mean `z` errors high gives a λ the data
    supports at least, 0 while fewer than MIN_SPACINGS spacings exist.
    """
    n = len(deviations)
    if n < MIN_SPACINGS:
        return 0.0
    mean = sum(deviations) / n
    return rate_from_spread(mean * (1.0 + z / math.sqrt(n)))
