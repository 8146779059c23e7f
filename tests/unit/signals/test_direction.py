"""Issue 9's wrong-direction defect: after a long cascade, a few small short liquidations while the level
decays must not produce a level named `short` whose velocity and one-sidedness are the long flow."""
from __future__ import annotations

import math
import random

from analytics.engine import Engine
from common.schema import LEVEL_RANK, Liquidation
from signals.generator import SignalGenerator
from tests.unit.signals.helpers import NS, config, tick

T0 = 1_700_000_000
VENUES = ("binance", "bybit", "okx")


def liq(t: float, side: str, usd: float, venue: str, price: float) -> Liquidation:
    ts = int((T0 + t) * NS)
    return Liquidation(venue, "BTCUSDT", "BTCUSDT", side, price, usd / price, usd, ts, ts, venue != "bybit")


def replay(events: list[tuple[float, object]], until: float) -> tuple[Engine, list]:
    """Events in time order through one Engine and one SignalGenerator, a snapshot after each liquidation
    and every second, like the shard and the backtest."""
    cfg = config()
    eng, gen = Engine(cfg.analytics), SignalGenerator(cfg)
    out, snaps = [], []
    events = sorted(events, key=lambda e: e[0])
    i, t = 0, 0.0
    while t <= until:
        while i < len(events) and events[i][0] <= t:
            at, ev = events[i]
            now = int((T0 + at) * NS)
            if isinstance(ev, Liquidation):
                eng.update(ev)
                snap = eng.snapshot("BTCUSDT", now)
                snaps.append(snap)
                out += gen.on_metrics(snap, now)
            else:
                gen.on_price(ev)
            i += 1
        now = int((T0 + t) * NS)
        if eng.active_symbols(now):
            snap = eng.snapshot("BTCUSDT", now)
            snaps.append(snap)
            out += gen.on_metrics(snap, now)
        out += gen.on_tick(now)
        t += 1.0
    return snaps, out


def scenario() -> list[tuple[float, object]]:
    rng = random.Random(9)
    price, events = 60_000.0, []
    for s in range(400):  # BTC: calm, then -2 % during the cascade (60..90 s), then flat
        price *= math.exp((-0.02 / 30 if 60 <= s < 90 else 0.0) + rng.gauss(0, 2e-5))
        events.append((float(s), tick(price, T0 + s)))
    t = 60.0
    while t < 90.0:  # a long cascade: ~$25M over 30 s on three venues
        t += rng.expovariate(12.0)
        events.append((t, liq(t, "long", rng.lognormvariate(math.log(60_000), 0.8), rng.choice(VENUES),
                              59_000 + rng.random() * 500)))
    for k in range(8):  # then, while the level decays, $17.8k of small shorts
        t = 96.0 + 2.0 * k
        events.append((t, liq(t, "short", 17_800 / 8, "bybit", 58_800 + k)))
    return events


def test_a_level_never_names_the_other_side_within_an_episode():
    snaps, signals = replay(scenario(), until=200.0)
    changes = [s for s in signals if s.symbol == "BTCUSDT" and not s.heartbeat]
    assert max(LEVEL_RANK[s.level] for s in changes) >= LEVEL_RANK["CRITICAL"]  # the cascade was seen
    episode_side = None
    for s in signals:
        if s.symbol != "BTCUSDT":
            continue
        if s.previous_level == "NONE":
            episode_side = s.direction
        assert s.direction == episode_side, (s.level, s.direction, s.explanation)
        if s.level != "NONE":
            assert f"{episode_side} side liquidated" in s.explanation
            assert f"of {episode_side}s liquidated" in s.explanation  # the sentence names the same flow
        if s.level == "NONE":
            episode_side = None
    assert changes[-1].level == "NONE"


def test_direction_velocity_ratio_and_sentence_read_the_same_window():
    snaps, _ = replay(scenario(), until=120.0)
    for snap in snaps:
        window = snap.extra["factor_windows"].get("velocity")
        if not window:
            continue
        long_usd = snap.extra["long_usd_per_s"].get(window)
        short_usd = snap.extra["short_usd_per_s"].get(window)
        if long_usd is None or long_usd == short_usd:
            continue
        assert snap.direction == ("long" if long_usd > short_usd else "short"), snap.explanation
        assert f"of {snap.direction}s liquidated in {window[:-1]} s" in snap.explanation
    late = [s for s in snaps if s.ts >= (T0 + 100) * NS and s.ts <= (T0 + 110) * NS]
    assert late and all(s.direction == "long" for s in late)  # the 60 s flow is still the long cascade


def test_a_watch_episode_that_turns_side_ends_and_the_new_side_starts_from_none():
    from tests.unit.signals.helpers import snap
    gen = SignalGenerator(config(alert_confirm_s=0.0))
    first = gen.on_metrics(snap(0.4, 10, direction="long"), 10 * NS)
    assert [(s.level, s.direction) for s in first] == [("WATCH", "long")]
    turned = gen.on_metrics(snap(0.4, 11, direction="short"), 11 * NS)
    assert [(s.previous_level, s.level, s.direction) for s in turned] == [
        ("WATCH", "NONE", "long"), ("NONE", "WATCH", "short")]
    assert "turned to shorts" in turned[0].explanation


def test_an_alert_episode_that_turns_side_decays_through_none_before_naming_the_other_side():
    from tests.unit.signals.helpers import snap
    gen = SignalGenerator(config(alert_confirm_s=0.0))
    assert gen.on_metrics(snap(0.9, 10, direction="long"), 10 * NS)[0].level == "EXTREME"
    seen = []
    for k in range(1, 40):
        seen += gen.on_metrics(snap(0.9, 10 + k, direction="short"), (10 + k) * NS)
    sides = [(s.level, s.direction) for s in seen if not s.heartbeat]
    assert ("NONE", "long") in sides
    back = sides.index(("NONE", "long"))
    assert all(d == "long" for _, d in sides[:back]) and all(d == "short" for _, d in sides[back + 1:])
