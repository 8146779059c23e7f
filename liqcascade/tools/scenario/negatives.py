"""Negative scenario streams: flow a trader would not act on, which must stay below ALERT."""
from __future__ import annotations

import math
import random

from liqcascade.tools.scenario.flows import (
    LONG,
    SHORT,
    background,
    burst,
    log_uniform,
    pick_venues,
    ramped_background,
    whale,
)
from liqcascade.tools.scenario.stream import MAIN_VENUES, Stream

CALM_RATE = (0.03, 0.07)  # BTC liquidations/s on all venues in a calm market
CALM_MEDIAN = (3_000.0, 6_000.0)  # USD


def calm(rng: random.Random, hours: float = 24.0, name: str = "calm",
         vol: tuple[float, float] = (0.25, 0.45)) -> Stream:
    """One symbol (BTCUSDT), ordinary price vol and ordinary liquidations, no label."""
    st = Stream(name, rng, int(hours * 3600), vol=rng.uniform(*vol))
    st.build_path()
    background(st, "BTCUSDT", rng.uniform(*CALM_RATE), rng.uniform(*CALM_MEDIAN))
    return st


def volatile(rng: random.Random, hours: float = 24.0) -> Stream:
    """High price vol (120-180 %/yr: regime HIGH) with calm liquidations: must not look like a cascade."""
    return calm(rng, hours, name="volatile", vol=(1.2, 1.8))


def chop(rng: random.Random, hours: float = 24.0, cluster_s: tuple[float, float] | None = None,
         name: str = "chop") -> Stream:
    """Volatile chop: 100 %+ vol, both-sided flow 3-6x calm (sizes 1-1.5x), and every 2-6 min a 0.3-0.6 % swing
    carrying a one-sided $0.5-2M cluster across venues. Each swing is labeled `chop_swing` (negative).

    The cluster spans the swing (10-60 s); `cluster_s` = (lo, hi) packs it into lo-hi seconds at the swing's
    start instead, its events bunched tighter (`dense_chop`)."""
    st = Stream(name, rng, int(hours * 3600), vol=rng.uniform(1.0, 1.6))
    swings, t = [], rng.uniform(60, 240)
    while t < st.seconds - 120:
        dur, move = rng.uniform(10, 60), rng.uniform(0.003, 0.006) * rng.choice((-1.0, 1.0))
        swings.append((t, dur, move))
        st.drifts.append((int(t), int(t + dur), move))
        t += dur + rng.uniform(120, 360)
    st.build_path()
    rate, median = rng.uniform(*CALM_RATE) * rng.uniform(3, 6), rng.uniform(*CALM_MEDIAN) * rng.uniform(1.0, 1.5)
    background(st, "BTCUSDT", rate, median)
    for t0, dur, move in swings:
        side = LONG if move < 0 else SHORT
        usd, venues = log_uniform(rng, 0.5e6, 2e6), pick_venues(rng, (2, 3), hl=0.5)
        span, kernel = (dur, 1.0) if cluster_s is None else (rng.uniform(*cluster_s), 0.3)
        a, b = burst(st, "BTCUSDT", t0, span, usd, side, venues, branching=0.6, kernel_s=kernel, min_events=6)
        st.label("chop_swing", False, "BTCUSDT", a, b, side, usd, venues, move_pct=round(move * 100, 3))
    return st


def dense_chop(rng: random.Random, hours: float = 24.0, cluster_s: tuple[float, float] = (2.0, 5.0)) -> Stream:
    """`chop` whose one-sided cluster comes in `cluster_s` (2-5 s): a stress stream outside the suite. The issue
    describes chop's cluster by its dollars only; packed this tight, the 2 s gate and the throttle timing read it
    as a cascade's onset (README, Detection quality: "How dense a chop cluster may be")."""
    return chop(rng, hours, cluster_s=cluster_s, name="dense_chop")


def spikes(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """BTC moves ±0.8-1.2 % in 10-40 s with only $1-2M liquidated on BTC and ETH together (`spike`)."""
    st = Stream("spikes", rng, count * slot_s)
    plan = []
    for k in range(count):
        t0, dur = k * slot_s + slot_s / 2 + rng.uniform(-30, 30), rng.uniform(10, 40)
        move = rng.uniform(0.008, 0.012) * rng.choice((-1.0, 1.0))
        st.drifts.append((int(t0), int(t0 + dur), move))
        plan.append((t0, dur, move))
    st.build_path()
    for sym in ("BTCUSDT", "ETHUSDT"):
        background(st, sym, rng.uniform(*CALM_RATE), rng.uniform(*CALM_MEDIAN))
    for t0, dur, move in plan:
        side, usd, share = LONG if move < 0 else SHORT, rng.uniform(1e6, 2e6), rng.uniform(0.5, 0.7)
        for sym, part in (("BTCUSDT", share), ("ETHUSDT", 1 - share)):
            venues = pick_venues(rng)
            a, b = burst(st, sym, t0, dur, usd * part, side, venues, branching=0.5, kernel_s=1.0, min_events=4)
            st.label("spike", False, sym, a, b, side, usd * part, venues, move_pct=round(move * 100, 3))
    return st


def _whale_stream(rng: random.Random, name: str, count: int, slot_s: int) -> Stream:
    st = Stream(name, rng, count * slot_s)
    st.build_path()
    for sym in ("BTCUSDT", "ETHUSDT"):
        background(st, sym, rng.uniform(*CALM_RATE), rng.uniform(*CALM_MEDIAN))
    return st


def whales(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """Single liquidations of $2M-$10M on one venue, one per slot, in calm flow (`whale`): must not ALERT."""
    st = _whale_stream(rng, "whales", count, slot_s)
    for k in range(count):
        sym, venue, side = rng.choice(("BTCUSDT", "ETHUSDT")), rng.choice(MAIN_VENUES), rng.choice((LONG, SHORT))
        t, usd = k * slot_s + slot_s / 2, log_uniform(rng, 2e6, 10e6)
        whale(st, t, sym, venue, side, usd)
        st.label("whale", False, sym, t, t, side, usd, [venue])
    return st


def split_whales(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """One $2-10M position liquidated in 2-3 fills within ~1 s on one venue (`split_whale`)."""
    st = _whale_stream(rng, "split_whales", count, slot_s)
    for k in range(count):
        sym, side = rng.choice(("BTCUSDT", "ETHUSDT")), rng.choice((LONG, SHORT))
        venue = rng.choice(("bybit", "bybit", "binance", "okx"))  # a complete feed shows every piece
        t, usd = k * slot_s + slot_s / 2 + rng.uniform(0, 1), log_uniform(rng, 2e6, 10e6)
        end = whale(st, t, sym, venue, side, usd, pieces=rng.choice((2, 3)), within_s=rng.uniform(0.4, 1.0))
        st.label("split_whale", False, sym, t, end, side, usd, [venue])
    return st


def whale_pairs(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """Two unrelated $2-8M whales on two venues, same symbol, 15-25 s apart (`whale_pair`)."""
    st = _whale_stream(rng, "whale_pairs", count, slot_s)
    for k in range(count):
        sym = rng.choice(("BTCUSDT", "ETHUSDT"))
        v1, v2 = rng.sample(list(MAIN_VENUES), 2)
        t1 = k * slot_s + slot_s / 2
        t2 = t1 + rng.uniform(15, 25)
        s1, s2 = rng.choice((LONG, SHORT)), rng.choice((LONG, SHORT))
        u1, u2 = log_uniform(rng, 2e6, 8e6), log_uniform(rng, 2e6, 8e6)
        whale(st, t1, sym, v1, s1, u1)
        whale(st, t2, sym, v2, s2, u2)
        st.label("whale_pair", False, sym, t1, t2, s1 if u1 >= u2 else s2, u1 + u2, [v1, v2])
    return st


def duplicates(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """Busy-but-harmless flow (2x calm, a $0.3-1M cluster and a $1-3M whale per slot), every event
    delivered twice: identical, or re-received 100-600 ms later. Clusters `dup_cluster`, whales `whale`."""
    st = Stream("duplicates", rng, count * slot_s, duplicate=True)
    st.build_path()
    for sym in ("BTCUSDT", "ETHUSDT"):
        background(st, sym, 2 * rng.uniform(*CALM_RATE), rng.uniform(*CALM_MEDIAN))
    for k in range(count):
        sym, side = rng.choice(("BTCUSDT", "ETHUSDT")), rng.choice((LONG, SHORT))
        t0, usd, venues = k * slot_s + slot_s / 3, log_uniform(rng, 0.3e6, 1e6), pick_venues(rng)
        a, b = burst(st, sym, t0, rng.uniform(20, 60), usd, side, venues, branching=0.5, kernel_s=1.0, min_events=6)
        st.label("dup_cluster", False, sym, a, b, side, usd, venues)
        t, venue, wusd = k * slot_s + 2 * slot_s / 3, rng.choice(MAIN_VENUES), log_uniform(rng, 1e6, 3e6)
        whale(st, t, sym, venue, side, wusd)
        st.label("whale", False, sym, t, t, side, wusd, [venue])
    return st


def baseline(rng: random.Random, hours: float = 12.0) -> Stream:
    """A slowly rising baseline: over `hours` BTC vol climbs 3-4x (from 25-35 %/yr) while the
    liquidation rate climbs 4-8x and the median size 1.5-3x, smoothly. No label."""
    seconds = int(hours * 3600)
    vol_x, rate_x, size_x = rng.uniform(3, 4), rng.uniform(4, 8), rng.uniform(1.5, 3)
    st = Stream("baseline", rng, seconds, vol=rng.uniform(0.25, 0.35),
                vol_at=lambda s: math.exp(math.log(vol_x) * s / seconds))
    st.build_path()
    rate, median = rng.uniform(*CALM_RATE), rng.uniform(*CALM_MEDIAN)
    ramped_background(st, "BTCUSDT", (rate, rate * rate_x), (median, median * size_x))
    return st
