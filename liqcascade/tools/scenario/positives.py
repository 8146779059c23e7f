"""Positive scenario streams: one labeled class of real cascade per stream, one cascade per slot."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from liqcascade.tools.scenario.flows import (
    LONG,
    SHORT,
    background,
    burst,
    log_uniform,
    move_sign,
    pick_venues,
    silence,
    statuses,
)
from liqcascade.tools.scenario.negatives import CALM_MEDIAN, CALM_RATE
from liqcascade.tools.scenario.stream import ALTS, MAIN_VENUES, MAJORS, Stream


@dataclass
class Plan:
    """One cascade to inject: where, when, how big, and how it behaves."""

    cls: str
    symbol: str
    start: float
    duration: float
    usd: float
    side: str
    venues: tuple[str, ...]
    move: float  # BTC log move over the cascade, signed
    burst: dict[str, Any] = field(default_factory=dict)  # extra arguments of flows.burst
    extra: dict[str, Any] = field(default_factory=dict)  # extra label fields


def price_move(rng: random.Random, usd: float, side: str) -> float:
    """0.5 % for $20M up to 3 % for $200M, in the direction that liquidates `side`."""
    return (0.005 + 0.025 * math.log(max(usd, 20e6) / 20e6) / math.log(10)) * move_sign(side)


def run(st: Stream, plans: list[Plan], flow: tuple[float, float] = (1.0, 1.0)) -> Stream:
    """Price path with every plan's move, background on the symbols used (x flow), then the bursts."""
    for p in plans:
        st.drifts.append((int(p.start), int(p.start + p.duration), p.move))
    st.build_path()
    rate_x, size_x = flow
    for sym in sorted({p.symbol for p in plans} | {"BTCUSDT"}):
        rate, median = st.rng.uniform(*CALM_RATE), st.rng.uniform(*CALM_MEDIAN)
        if sym not in MAJORS[:2]:
            rate, median = rate * 0.5, median * 0.4
        background(st, sym, rate * rate_x, median * size_x)
    for p in plans:
        a, b = burst(st, p.symbol, p.start, p.duration, p.usd, p.side, p.venues, **p.burst)
        st.label(p.cls, True, p.symbol, a, b, p.side, p.usd, p.venues, **p.extra)
    return st


def _slots(count: int, slot_s: int, rng: random.Random) -> list[float]:
    return [k * slot_s + slot_s / 2 + rng.uniform(-30, 30) for k in range(count)]


def cascades(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """$20M-$200M in 20-60 s on 2-3 main venues (sometimes Hyperliquid too): class `cascade`."""
    plans = []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        usd, side = log_uniform(rng, 20e6, 200e6), rng.choice((LONG, SHORT))
        plans.append(Plan("cascade", MAJORS[k % len(MAJORS)], t, rng.uniform(20, 60), usd, side,
                          pick_venues(rng), price_move(rng, usd, side)))
    return run(Stream("cascades", rng, count * slot_s), plans)


def flash(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """$10-60M in 3-10 s with a 1-3 % move: class `flash`."""
    plans = []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        side = rng.choice((LONG, SHORT))
        plans.append(Plan("flash", MAJORS[k % 2], t, rng.uniform(3, 10), log_uniform(rng, 10e6, 60e6), side,
                          pick_venues(rng), rng.uniform(0.01, 0.03) * move_sign(side),
                          burst={"kernel_s": 0.2}))
    return run(Stream("flash", rng, count * slot_s), plans)


def squeeze(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """Shorts liquidated into a price rising 1-3 %: $8-40M over 20-90 s, class `squeeze`."""
    plans = [Plan("squeeze", MAJORS[k % len(MAJORS)], t, rng.uniform(20, 90), log_uniform(rng, 8e6, 40e6), SHORT,
                  pick_venues(rng), rng.uniform(0.01, 0.03)) for k, t in enumerate(_slots(count, slot_s, rng))]
    return run(Stream("squeeze", rng, count * slot_s), plans)


def throttled_only(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """Only Binance and OKX carry a $15-80M cascade (20-60 s); Bybit and Hyperliquid are quiet, or
    disconnected (`mode` absent). Sizes grow 4-7x over the burst, so the saturated feeds (an event
    nearly every second) show a rising USD per event. Class `throttled_only`."""
    st = Stream("throttled_only", rng, count * slot_s)
    plans, downs = [], []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        usd, side, dur = log_uniform(rng, 15e6, 80e6), rng.choice((LONG, SHORT)), rng.uniform(20, 60)
        mode = rng.choice(("quiet", "absent"))
        if mode == "absent":
            downs += [(t - 120, t + dur + 120, v) for v in ("bybit", "hyperliquid")]
        shape = {"ramp": rng.uniform(3, 6), "branching": 0.5, "usd_per_event": 10_000.0}
        plans.append(Plan("throttled_only", MAJORS[k % 2], t, dur, usd, side, ("binance", "okx"),
                          price_move(rng, usd, side), burst=shape, extra={"mode": mode}))
    run(st, plans)
    silence(st, downs)
    statuses(st, downs)
    return st


def single_venue(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """A $10-50M cascade (20-60 s) on Bybit alone, the one complete feed: class `single_venue`."""
    plans = []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        usd, side = log_uniform(rng, 10e6, 50e6), rng.choice((LONG, SHORT))
        plans.append(Plan("single_venue", MAJORS[k % 2], t, rng.uniform(20, 60), usd, side, ("bybit",),
                          price_move(rng, usd, side)))
    return run(Stream("single_venue", rng, count * slot_s), plans)


def alt(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """An alt-sized cascade: $3-15M in 20-60 s on 2-3 venues of an alt symbol: class `alt`."""
    plans = []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        side = rng.choice((LONG, SHORT))
        plans.append(Plan("alt", ALTS[k % len(ALTS)], t, rng.uniform(20, 60), log_uniform(rng, 3e6, 15e6), side,
                          pick_venues(rng), rng.uniform(0.001, 0.004) * move_sign(side)))
    return run(Stream("alt", rng, count * slot_s), plans)


def second_wave(rng: random.Random, count: int = 20, slot_s: int = 900) -> Stream:
    """A $20-80M cascade (class `cascade`), then 60-240 s after its end a second one of $10-60M
    (same side 70 %), class `second_wave`."""
    plans = []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        sym, side, d1 = MAJORS[k % 2], rng.choice((LONG, SHORT)), rng.uniform(20, 50)
        u1, u2 = log_uniform(rng, 20e6, 80e6), log_uniform(rng, 10e6, 60e6)
        side2 = side if rng.random() < 0.7 else (SHORT if side == LONG else LONG)
        t2 = t - 150 + d1 + rng.uniform(60, 240)
        plans.append(Plan("cascade", sym, t - 150, d1, u1, side, pick_venues(rng), price_move(rng, u1, side)))
        plans.append(Plan("second_wave", sym, t2, rng.uniform(20, 60), u2, side2, pick_venues(rng),
                          price_move(rng, u2, side2)))
    return run(Stream("second_wave", rng, count * slot_s), plans)


def grind(rng: random.Random, count: int = 20, slot_s: int = 900) -> Stream:
    """A slow grind: $25-40M over 4-6 min on 2-3 venues, little self-excitation: class `grind`."""
    plans = []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        side = rng.choice((LONG, SHORT))
        plans.append(Plan("grind", MAJORS[k % 2], t - 120, rng.uniform(240, 360), rng.uniform(25e6, 40e6), side,
                          pick_venues(rng), rng.uniform(0.01, 0.025) * move_sign(side),
                          burst={"branching": 0.3, "kernel_s": 2.0}))
    return run(Stream("grind", rng, count * slot_s), plans)


def in_volatile(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """A $20-100M cascade (20-60 s, 2-3 venues) inside a volatile regime (120-180 %/yr, flow 3-6x
    calm on both sides): class `in_volatile`."""
    plans = []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        usd, side = log_uniform(rng, 20e6, 100e6), rng.choice((LONG, SHORT))
        plans.append(Plan("in_volatile", MAJORS[k % 2], t, rng.uniform(20, 60), usd, side, pick_venues(rng),
                          price_move(rng, usd, side)))
    st = Stream("in_volatile", rng, count * slot_s, vol=rng.uniform(1.2, 1.8))
    return run(st, plans, flow=(rng.uniform(3, 6), rng.uniform(1.0, 1.5)))


def dropout(rng: random.Random, count: int = 10, slot_s: int = 600) -> Stream:
    """A $20-200M cascade on the three main venues, one of which disconnects halfway (down 60 s):
    class `dropout`."""
    st = Stream("dropout", rng, count * slot_s)
    plans = []
    for k, t in enumerate(_slots(count, slot_s, rng)):
        usd, side, dur = log_uniform(rng, 20e6, 200e6), rng.choice((LONG, SHORT)), rng.uniform(20, 60)
        drop = rng.choice(MAIN_VENUES)
        plans.append(Plan("dropout", MAJORS[k % len(MAJORS)], t, dur, usd, side, MAIN_VENUES,
                          price_move(rng, usd, side), burst={"drop": drop}, extra={"dropped": drop}))
    run(st, plans)
    downs = [(p.start + p.duration / 2, p.start + p.duration / 2 + 60, p.burst["drop"]) for p in plans]
    silence(st, downs)
    statuses(st, downs)
    return st
