"""Building blocks of scenario streams: background flow, bursts, whales, feed statuses, parameter draws."""
from __future__ import annotations

import math
import random

from liqcascade.tools.scenario.stream import MAIN_VENUES, NS, T0, VENUE_WEIGHT, Stream, hawkes

LONG, SHORT = "long", "short"


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def opposite(side: str) -> str:
    return SHORT if side == LONG else LONG


def move_sign(side: str) -> float:
    """Longs are liquidated into a falling price, shorts into a rising one."""
    return -1.0 if side == LONG else 1.0


def background(st: Stream, symbol: str, rate: float, median_usd: float, t0: float = 0.0,
               t1: float | None = None, sigma: float = 1.4, venues: tuple[str, ...] = tuple(VENUE_WEIGHT)) -> None:
    """Everyday liquidations: a mildly self-exciting flow (branching 0.5) on `venues`, both sides."""
    alpha, beta = 0.5, 1.0
    for t in hawkes(st.rng, rate * (1 - alpha / beta), alpha, beta, t0, st.seconds if t1 is None else t1):
        side = LONG if st.rng.random() < 0.5 else SHORT
        st.liq(t, symbol, st.venue(venues), side, st.rng.lognormvariate(math.log(median_usd), sigma))


def ramped_background(st: Stream, symbol: str, rate: tuple[float, float], median_usd: tuple[float, float],
                      chunk_s: float = 900.0) -> None:
    """Background whose rate and median size climb geometrically from the first to the second value."""
    n = max(1, int(st.seconds // chunk_s))
    for k in range(n):
        f = (k + 0.5) / n
        r = rate[0] * (rate[1] / rate[0]) ** f
        m = median_usd[0] * (median_usd[1] / median_usd[0]) ** f
        background(st, symbol, r, m, k * chunk_s, min(st.seconds, (k + 1) * chunk_s))


def burst(st: Stream, symbol: str, start: float, duration: float, usd: float, side: str,
          venues: tuple[str, ...], *, branching: float = 0.8, kernel_s: float = 0.5, ramp: float = 0.0,
          drop: str | None = None, min_events: int = 20, purity: float = 0.95,
          usd_per_event: float = 40_000.0) -> tuple[float, float]:
    """A self-exciting burst with log-normal sizes rescaled to `usd` in total; returns (first, last) time.

    `ramp` makes sizes grow linearly to (1 + ramp)x by the end (bigger positions go as the price runs).
    With `drop`, that venue disconnects halfway: its later events are lost and statuses say so.
    """
    n_target = min(3000, max(8 * min_events, int(usd / usd_per_event)))
    beta = 1.0 / kernel_s
    alpha = branching * beta
    times: list[float] = []
    while len(times) < min_events:  # a thinning draw that fizzled is not a burst: draw again
        times = hawkes(st.rng, n_target * (1 - branching) / duration, alpha, beta, start, start + duration)
    sizes = [st.rng.lognormvariate(0.0, 1.0) * (1.0 + ramp * (t - start) / duration) for t in times]
    scale = usd / sum(sizes)
    cut = start + duration / 2
    other = opposite(side)
    for t, size in zip(times, sizes, strict=True):
        venue = st.venue(venues)
        if drop == venue and t >= cut:
            continue
        st.liq(t, symbol, venue, side if st.rng.random() < purity else other, size * scale)
    if drop:
        st.status(cut, drop, connected=False)
    return times[0], times[-1]


def whale(st: Stream, t: float, symbol: str, venue: str, side: str, usd: float, pieces: int = 1,
          within_s: float = 1.0) -> float:
    """One position liquidated in `pieces` fills on one venue within `within_s`, price within ±0.01 %.

    Returns the time of the last fill.
    """
    cuts = sorted(st.rng.random() for _ in range(pieces - 1))
    shares = [b - a for a, b in zip([0.0, *cuts], [*cuts, 1.0], strict=True)]
    offsets = sorted([0.0] + [st.rng.uniform(0.05, within_s * 0.95) for _ in range(pieces - 1)])
    price = st.price(symbol, t)
    for off, share in zip(offsets, shares, strict=True):
        st.liq(t + off, symbol, venue, side, usd * share, price=price * (1 + st.rng.uniform(-1e-4, 1e-4)))
    return t + offsets[-1]


def statuses(st: Stream, downs: list[tuple[float, float, str]], every_s: float = 5.0,
             venues: tuple[str, ...] = tuple(VENUE_WEIGHT)) -> None:
    """Regular FeedStatus for every venue; (t0, t1, venue) in `downs` is disconnected in [t0, t1)."""
    for k in range(int(st.seconds / every_s)):
        t = k * every_s
        for v in venues:
            st.status(t, v, connected=not any(v == dv and t0 <= t < t1 for t0, t1, dv in downs))


def silence(st: Stream, downs: list[tuple[float, float, str]]) -> None:
    """Drop the liquidations of a venue while it is disconnected: (t0, t1, venue) in seconds."""
    down_ns = [(int((T0 + a) * NS), int((T0 + b) * NS), v) for a, b, v in downs]
    st.liqs = [d for d in st.liqs if not any(v == d["exchange"] and a <= d["ts_event"] < b for a, b, v in down_ns)]


def pick_venues(rng: random.Random, k: tuple[int, ...] = (2, 3), hl: float = 0.3) -> tuple[str, ...]:
    """2-3 of the main venues, plus Hyperliquid with probability `hl`."""
    chosen = rng.sample(list(MAIN_VENUES), rng.choice(k))
    if rng.random() < hl:
        chosen.append("hyperliquid")
    return tuple(sorted(chosen))
