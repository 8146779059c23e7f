"""Velocity, acceleration and jerk of a liquidation rate from three consecutive window sums.

The estimator, for a window of W seconds evaluated at time t (a cumulative USD function C(x) read
from a `BucketRing`):

    S_k  = C(t - k·W) - C(t - (k+1)·W)      USD in the k-th window back, k = 0, 1, 2 (>= 0;
                                            all of them at once in `state.SymbolState.measure`)
    v_k  = S_k / W                          USD/s    (v_0 is the velocity v_W(t))
    a    = (v_0 - v_1) / W                  USD/s²
    jerk = (v_0 - 2·v_1 + v_2) / W²         USD/s³

Why it is exact on polynomial rates r(t): v_W(t) = (1/W)∫_{t-W}^{t} r, a moving average. For
r = c0 + c1·t, v_W(t) = c0 + c1·(t - W/2), so a = c1 exactly (and 0 for a constant rate). For
r = c2·t², v_W(t) = c2·(t² - t·W + W²/3), whose second difference with step W is 2·c2·W², so
jerk = 2·c2 = r'' exactly. Both are centred W (a) and 1.5·W (jerk) in the past: the price paid
for using whole windows. The same linear operator applied to counts gives events/s, /s², /s³.

Why it is sane on sparse, bursty events: nothing divides by an inter-arrival time or by the age of
the first event. One event of X USD moves each v_k by at most X/W, so |a| <= X/W² and
|jerk| <= 2·X/W³ wherever the event falls, window edges included; and because the windows are
read from a piecewise-linear C, an event crossing a window edge slides out gradually (over one
bucket) instead of producing a step. Risk scoring additionally gates a and jerk by the effective
number of liquidations, so a single event carries no acceleration evidence (see `risk.py`).
"""
from __future__ import annotations

from collections.abc import Sequence


def lag_offsets(window_ns: int) -> tuple[int, int, int, int]:
    """How far before t (ns) C is read for one window: t, t-W, t-2W, t-3W."""
    return (0, window_ns, 2 * window_ns, 3 * window_ns)


def kinematics(sums: Sequence[float], window_s: float) -> tuple[float, float, float]:
    """(S_0, S_1, S_2) in USD (or events) -> (velocity /s, acceleration /s², jerk /s³)."""
    v0, v1, v2 = sums[0] / window_s, sums[1] / window_s, sums[2] / window_s
    return v0, (v0 - v1) / window_s, (v0 - 2.0 * v1 + v2) / (window_s * window_s)
