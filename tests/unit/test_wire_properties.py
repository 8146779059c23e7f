"""Property: whatever rows a sender puts in a well-framed message, what `decode` lets through cannot crash
the code that consumes it (analytics engine, signal generator, publisher contract)."""
from __future__ import annotations

import math

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.engine import Engine
from common.config import load_config
from common.schema import FIELD_NAMES, FeedStatus, Liquidation, MetricsSnapshot, PriceTick, Regime, Signal
from common.wire import WireError, decode
from publisher.redis_sink import contract as c
from signals.generator import SignalGenerator
from signals.trust import inconsistency

T = 1_700_000_000_000_000_000
CFG = load_config(None, env={})

GOOD = {
    "liquidation": Liquidation("bybit", "BTCUSDT", "BTCUSDT", "long", 60_000.0, 0.5, 30_000.0, T, T, False),
    "price": PriceTick("binance", "BTCUSDT", 60_000.0, 0.1, T, T),
    "status": FeedStatus("okx", True, True, 0, 10, 0, 5, T, T),
    "metrics": MetricsSnapshot("ETHUSDT", T, {"10s": 5e4}, {"10s": 1.0}, {"10s": 0.0}, {"10s": 2.0},
                               {"bybit": 5e4}, 0.5, 2, 0.4, 0.8, "short",
                               {"velocity": {"raw": 5e4, "score": 0.8, "weight": 0.5, "contribution": 0.4}},
                               "why", T, T, {"n_effective": 3.0, "venues": {"bybit": {"events": 3}}}),
    "regime": Regime("HIGH", 1.9, T, {"1m": 0.5}),
    "signal": Signal("BTCUSDT", "ALERT", 0.6, 0.7, "long", "NORMAL", "why", T, components={"risk": 0.5},
                     data_quality={"venues": ["bybit"]}, stages={"event": T}),
}

leaf = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 63), (1 << 64) - 1),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=50), st.binary(max_size=20),
                 st.sampled_from(["long", "short", "ALERT", "NONE", "10s", "", "x" * 5000]))
int64 = st.integers(-(1 << 63), (1 << 63) - 1)
garbage = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=8), int64), inner, max_size=4)),
    max_leaves=12)


@st.composite
def rows(draw, kind: str) -> list:
    """The good row of `kind` with some fields replaced by garbage, sometimes cut short or extended."""
    good = GOOD[kind]
    row = [getattr(good, n) for n in FIELD_NAMES[type(good)]]
    for i in range(len(row)):
        if draw(st.integers(0, 3)) == 0:
            row[i] = draw(garbage)
    cut = draw(st.integers(-2, 2))
    return row[:cut] if cut < 0 else row + [draw(garbage) for _ in range(cut - 1)] if cut > 1 else row


def consume(msgs: list) -> None:
    eng = Engine(CFG.analytics)
    gen = SignalGenerator(CFG)
    for m in msgs:
        if isinstance(m, Liquidation):
            eng.update(m)
            eng.snapshot(m.symbol, max(m.ts_recv, m.ts_event) + 1_000_000_000)
            eng.expire(T)
        elif isinstance(m, PriceTick):
            gen.on_price(m)
        elif isinstance(m, FeedStatus):
            gen.on_status(m)
            eng.update_status(m)
        elif isinstance(m, MetricsSnapshot):
            c.velocity_json(m)
            if inconsistency(m) is None:
                for sig in gen.on_metrics(m, m.ts) + gen.on_tick(m.ts + 60 * 1_000_000_000):
                    c.signal_json(sig)
        elif isinstance(m, Regime):
            c.regime_json(m)
        elif isinstance(m, Signal):
            c.signal_json(m)
            c.probability_json(m)
            c.signal_channels(m)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(GOOD)).flatmap(lambda k: st.tuples(st.just(k), st.lists(rows(k), max_size=4))))
def test_what_decode_accepts_every_consumer_can_handle(kind_rows):
    kind, batch = kind_rows
    body = msgpack.packb([1, kind, batch], use_bin_type=True)
    try:
        _, _, _, msgs = decode([b"t", msgpack.packb(["s", 1]), body], rejected := [])
    except WireError:
        return
    assert len(msgs) + len(rejected) == len(batch)
    for m in msgs:
        for name in FIELD_NAMES[type(m)]:
            v = getattr(m, name)
            assert not (isinstance(v, float) and not math.isfinite(v)), (name, v)
    consume(msgs)


@st.composite
def column_bodies(draw) -> dict:
    """A good column map of a few liquidations with some tables, codes or number columns replaced."""
    from common.columns import LiquidationBatch

    n = draw(st.integers(1, 5))
    cols = LiquidationBatch.of([GOOD["liquidation"]._replace(price=60_000.0 + i) for i in range(n)]).to_wire()
    for f in list(cols):
        if draw(st.integers(0, 4)) == 0:
            cols[f] = draw(st.one_of(garbage, st.binary(max_size=8 * n),
                                     st.tuples(st.lists(garbage, max_size=3), st.binary(max_size=n)).map(list)))
    return cols


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(column_bodies())
def test_what_decode_accepts_of_a_column_body_every_consumer_can_handle(cols):
    body = msgpack.packb([1, "liquidation", cols], use_bin_type=True)
    try:
        _, _, _, msgs = decode([b"t", msgpack.packb(["s", 1]), body], rejected := [])
    except WireError:
        return
    assert len(msgs) + len(rejected) == cols["n"]
    for m in msgs:
        assert isinstance(m, Liquidation)
        assert all(math.isfinite(v) for v in (m.price, m.qty, m.notional_usd))
    consume(list(msgs))
