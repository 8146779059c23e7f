"""A batch update leaves exactly the state and snapshots of the same events updated one by one."""
from __future__ import annotations

import dataclasses
import json
import math
import random

import numpy as np
import pytest
from analytics_helpers import NS, T0, engine

from analytics.intake import SMALL_BATCH
from analytics.shown import ShownBook
from analytics.throttle import ShownTimes
from common.columns import LiquidationBatch
from common.schema import Liquidation
from common.wire import decode, encode

VENUES = ("binance", "bybit", "okx", "hyperliquid", "venue5")


def stream(seed: int, n: int = 3000) -> list[Liquidation]:
    """Several symbols and venues (one appearing late), fills (repeated prices within a second),
    exact re-deliveries, events out of order and far too old, missing ts_event, and invalid rows."""
    rng = random.Random(seed)
    out: list[Liquidation] = []
    t = T0
    for i in range(n):
        t += int(rng.expovariate(1 / 0.02) * NS)
        if out and rng.random() < 0.05:  # a re-delivery of a recent event
            out.append(out[-rng.randrange(1, min(len(out), 20) + 1)])
            continue
        venue = VENUES[rng.randrange(4 if i < n // 2 else 5)]
        sym = f"S{rng.randrange(6)}USDT"
        ts = t
        r = rng.random()
        if r < 0.05:
            ts = t - int(rng.uniform(1, 2000) * NS)  # late, sometimes older than any ring keeps
        elif r < 0.07:
            ts = 0  # the venue gave no time: ts_recv is used
        price = rng.choice((100.0, 100.01, 250.0)) if rng.random() < 0.5 else rng.uniform(50, 150)
        usd = rng.expovariate(1 / 50_000.0) if rng.random() < 0.95 else rng.choice((-1.0, math.nan, 3e6))
        side = rng.choice(("long", "short")) if rng.random() < 0.99 else "sideways"
        out.append(Liquidation(venue, sym, sym, side, price, abs(usd) / price, usd, ts, t + 1_000_000,
                               venue in ("binance", "okx")))
    return out


def plain(snaps) -> list:
    return json.loads(json.dumps([dataclasses.asdict(s) for s in snaps]))


def snapshots(eng, now: int) -> list:
    return plain(eng.snapshot(s, now) for s in sorted(eng.symbols))


def close(a, b, path: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-6), path
    else:
        assert a == b, path


def one_by_one(events: list[Liquidation]):
    eng = engine()
    for liq in events:
        eng.update(liq)
    return eng


def assert_same_rings(one, many) -> None:
    """The same counts and ring contents (dead buckets, which the rings no longer keep, may differ until
    read: both are cleaned first)."""
    assert (many.duplicates, many.rejected) == (one.duplicates, one.rejected)
    for eng in (one, many):
        for st in eng.symbols.values():
            eng.intake.book.clean(st.slot)
    for a, b in zip(one.intake.book.data, many.intake.book.data, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_batches_of_any_size_match_event_by_event(seed: int) -> None:
    events = stream(seed)
    one = one_by_one(events)
    rng = random.Random(seed)
    many = engine()
    i = 0
    while i < len(events):
        k = rng.choice((1, 5, SMALL_BATCH, 100, 700))
        many.update_batch(events[i:i + k])
        i += k
    assert one.duplicates > 50 and one.rejected > 10  # the stream exercises both
    assert sorted(many.symbols) == sorted(one.symbols)
    assert_same_rings(one, many)
    now = max(e.ts_event for e in events)
    for at_ns in (now, now + 3 * NS, now + 400 * NS):
        close(snapshots(one, at_ns), snapshots(many, at_ns))


def test_fill_chains_inside_one_batch_count_as_one_position() -> None:
    """Three fills of one position in the same batch (the chain goes event by event) and the same
    fills spread over batches give the same n_eff: one liquidation."""
    fills = [Liquidation("bybit", "BTCUSDT", "BTCUSDT", "long", 60_000.0, 10.0, 600_000.0, T0 + k * 300_000_000,
                         T0 + k * 300_000_000, False) for k in range(3)]
    other = [Liquidation("okx", f"X{k}USDT", f"X{k}USDT", "short", 10.0 + k, 1.0, 10.0 + k, T0 + k, T0 + k, True)
             for k in range(SMALL_BATCH)]
    eng = engine()
    eng.update_batch(other + fills)
    snap = eng.snapshot("BTCUSDT", T0 + NS)
    assert snap.extra["n_effective"] == pytest.approx(1.0)
    assert snap.velocity_usd_per_s["10s"] == pytest.approx(180_000.0)


def test_fill_decisions_across_batches_match_event_by_event() -> None:
    """A position's fills split over batches, each alone in its batch (decided on whole columns):
    the 4th same-price fill within a second starts a new position (FILL_MAX), as event by event."""
    def filler(k: int) -> list[Liquidation]:
        return [Liquidation("okx", f"X{j}USDT", f"X{j}USDT", "short", 10.0 + j, 1.0, 10.0 + j + k, T0 + k, T0 + k, True)
                for j in range(SMALL_BATCH)]

    fills = [Liquidation("bybit", "BTCUSDT", "BTCUSDT", "long", 60_000.0, 10.0, 600_000.0, T0 + k * 200_000_000,
                         T0 + k * 200_000_000, False) for k in range(5)]
    one, many = engine(), engine()
    for k, f in enumerate(fills):
        for liq in [*filler(k), f]:
            one.update(liq)
        many.update_batch([*filler(k), f])
    for eng in (one, many):
        assert eng.snapshot("BTCUSDT", T0 + NS).extra["n_effective"] == pytest.approx(
            (3_000_000.0 ** 2) / (1_800_000.0 ** 2 + 1_200_000.0 ** 2))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("windows", [None, ("250ms", "2s", "10s", "45s")])
def test_snapshots_of_many_symbols_at_once_equal_one_at_a_time(seed: int, windows) -> None:
    """Engine.snapshots reads every symbol's windows in one gather: the same snapshots as one by one,
    at a `now` after the events, long after (rings moved on), and before the newest events."""
    events = stream(seed)
    eng = engine() if windows is None else engine(windows=windows)
    eng.update_batch(events)
    symbols = sorted(eng.symbols) + ["NOSUCHUSDT"]
    newest = max(e.ts_event for e in events)
    for now in (newest, newest + 7 * NS, newest + 400 * NS, newest - 3 * NS):
        many = plain(eng.snapshots(symbols, now))
        one = plain(eng.snapshot(s, now) for s in symbols)
        close(one, many)


@pytest.mark.parametrize("seed", range(3))
def test_column_batches_match_event_by_event(seed: int) -> None:
    """Columns straight in (LiquidationBatch: as the wire decodes them, rejects included), joined the
    way a shard joins a poll round's frames: the same state and snapshots as one event at a time."""
    events = stream(seed)
    one = one_by_one(events)
    rng = random.Random(seed)
    many = engine()
    i = 0
    while i < len(events):
        parts = []
        for _ in range(rng.randrange(1, 4)):
            k = rng.choice((1, 40, 300))
            parts.append(LiquidationBatch.of(events[i:i + k]))
            i += k
        many.update_batch(LiquidationBatch.concat(parts))
    assert_same_rings(one, many)
    for sym in one.symbols:  # the throttled feeds' shown times, which the censored estimate reads
        assert {v: list(s.times) for v, s in one.shown.get(sym).items()} == \
            {v: list(s.times) for v, s in many.shown.get(sym).items()}
    now = max(e.ts_event for e in events)
    for at_ns in (now, now + 3 * NS):
        close(snapshots(one, at_ns), snapshots(many, at_ns))


def test_wire_decoded_batches_match_event_by_event() -> None:
    """Through common.wire: what the wire lets pass (invalid rows dropped there) lands as one by one."""
    events = stream(7)
    passed = [e for e in events if e.side in ("long", "short") and math.isfinite(e.notional_usd)
              and e.notional_usd > 0]
    one = one_by_one(passed)
    many = engine()
    for i in range(0, len(events), 256):
        batch = decode(encode(b"liq", "test", 1, events[i:i + 256]), [])[3]
        assert isinstance(batch, LiquidationBatch)
        many.update_batch(batch)
    assert (many.duplicates, many.rejected) == (one.duplicates, 0)
    now = max(e.ts_event for e in events)
    close(snapshots(one, now), snapshots(many, now))


@pytest.mark.parametrize("seed", range(4))
def test_shown_times_of_a_batch_match_shown_times_added_one_by_one(seed: int) -> None:
    """ShownBook.batch against throttle.ShownTimes.add: repeats, late times, more than HISTORY per feed."""
    rng = random.Random(seed)
    book = ShownBook()
    book.fit(4, 3)
    ref = {g: ShownTimes() for g in range(12)}
    for _ in range(30):
        m = rng.choice((1, 5, 40, 200))
        g = np.array([rng.randrange(12) for _ in range(m)], dtype=np.intp)
        r = rng.random()  # mostly near T0; some late; rarely near 0 (a span too wide for offsets: ranks)
        ts = np.array([T0 + rng.randrange(0, 50) * NS // 10 if rng.random() < 0.9 else T0 - rng.randrange(10**12)
                       for _ in range(m)], dtype=np.int64) + (rng.randrange(0, 10**12) if r < 0.9 else -T0)
        if rng.random() < 0.3:
            for gi, t in zip(g.tolist(), ts.tolist(), strict=True):
                book.one(gi, t)
        else:
            book.batch(g, ts)
        for gi, t in zip(g.tolist(), ts.tolist(), strict=True):
            ref[gi].add(t)
    for gi, shown in ref.items():
        assert list(book.of(gi).times) == list(shown.times)


def test_a_batch_of_nothing_but_duplicates_changes_nothing_but_the_count() -> None:
    events = [Liquidation("bybit", f"S{k % 3}USDT", f"S{k % 3}USDT", "long", 100.0 + k, 1.0, 100.0 + k, T0 + k, T0 + k,
                          True) for k in range(40)]
    eng = engine()
    eng.update_batch(LiquidationBatch.of(events))
    before = eng.intake.book.buf.copy()
    eng.update_batch(LiquidationBatch.of(events))
    assert eng.duplicates == 40
    np.testing.assert_array_equal(eng.intake.book.buf, before)
