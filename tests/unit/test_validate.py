"""Row validation at decode: the bad rows the chaos run found are dropped and named, good rows pass."""
from __future__ import annotations

import math

import msgpack
import pytest

from common.schema import FIELD_NAMES, Liquidation, MetricsSnapshot, PriceTick, Regime, Signal
from common.validate import bad_rows
from common.wire import decode, encode

T = 1_700_000_000_000_000_000
LIQ = Liquidation("binance", "BTCUSDT", "BTCUSDT", "long", 60000.0, 0.5, 30000.0, T, T + 1, True, "throttled")
SNAP = MetricsSnapshot("BTCUSDT", T, {"10s": 1.5}, {"10s": -0.1}, {"10s": 0.0}, {"10s": 2.0}, {"binance": 1.5},
                       0.8, 2, 0.6, 0.7, "long", {"velocity": {"raw": 1.0, "score": 0.5, "weight": 0.35,
                                                               "contribution": 0.175}},
                       "why", 1, 2, {"n_effective": 3.0, "venues": {"binance": {"throttled": True}}})
SIG = Signal("BTCUSDT", "ALERT", 0.6, 0.7, "long", "NORMAL", "why", T, components={"factors": {}},
             stages={"event": 1})
REG = Regime("HIGH", 1.9, T, {"1m": 0.5})


def row(msg, **change) -> list:
    d = {n: getattr(msg, n) for n in FIELD_NAMES[type(msg)]} | change
    return list(d.values())


def body(kind: str, rows: list) -> list[bytes]:
    return [b"t", msgpack.packb(["s", 1]), msgpack.packb([1, kind, rows], use_bin_type=True)]


@pytest.mark.parametrize(("msg", "change", "field"), [
    (LIQ, {"notional_usd": "abc"}, "notional_usd"),
    (LIQ, {"ts_event": math.nan}, "ts_event"),
    (LIQ, {"ts_event": "1700000000"}, "ts_event"),
    (LIQ, {"ts_event": (1 << 64) - 1}, "ts_event"),
    (LIQ, {"symbol": 42}, "symbol"),
    (LIQ, {"exchange": ["binance"]}, "exchange"),
    (LIQ, {"notional_usd": 1e300}, "notional_usd"),
    (LIQ, {"qty": math.inf}, "qty"),
    (LIQ, {"price": -1.0}, "price"),
    (LIQ, {"side": "sideways"}, "side"),
    (LIQ, {"symbol": "X" * 5_000_000}, "symbol"),
    (LIQ, {"throttled": 1}, "throttled"),
    (LIQ, {"completeness": "mostly"}, "completeness"),
    (LIQ, {"completeness": ["complete"]}, "completeness"),
    (SNAP, {"risk": "0.9"}, "risk"),
    (SNAP, {"risk": 1.5}, "risk"),
    (SNAP, {"ts": math.nan}, "ts"),
    (SNAP, {"velocity_usd_per_s": {"10s": "fast"}}, "velocity_usd_per_s"),
    (SNAP, {"velocity_usd_per_s": [1.0]}, "velocity_usd_per_s"),
    (SNAP, {"factors": {"velocity": 0.9}}, "factors"),
    (SNAP, {"extra": {"n_effective": "many"}}, "extra"),
    (SNAP, {"extra": {"venues": ["binance"]}}, "extra"),
    (SNAP, {"explanation": "x" * 100_000}, "explanation"),
    (SIG, {"ts": "1700000000000"}, "ts"),
    (SIG, {"level": "MEGA"}, "level"),
    (SIG, {"probability": math.nan}, "probability"),
    (SIG, {"stages": {"event": "now"}}, "stages"),
    (SIG, {"components": {"deep": [[[[[[1]]]]]]}}, "components"),
    (REG, {"multiplier": math.inf}, "multiplier"),
])
def test_a_bad_field_drops_its_row_and_names_the_field(msg, change, field):
    good = row(msg)
    rejected: list[str] = []
    _, _, _, msgs = decode(body(msg.KIND, [good, row(msg, **change), good]), rejected)
    assert msgs == [msg, msg]  # the batch's good rows pass
    assert len(rejected) == 1 and rejected[0].startswith(f"{msg.KIND}.{field}:")
    assert len(rejected[0]) < 200  # the value is clipped, never logged in full


def test_a_row_from_an_older_sender_without_completeness_still_decodes():
    _, _, _, msgs = decode(body("liquidation", [row(LIQ)[:10]]))
    assert msgs == [LIQ._replace(completeness="complete")]


def test_rows_of_the_wrong_shape_are_dropped_not_fatal():
    rejected: list[str] = []
    _, _, _, msgs = decode(body("liquidation", [[1, 2], "row", None, row(LIQ)]), rejected)
    assert msgs == [LIQ] and len(rejected) == 3


def test_every_message_the_pipeline_sends_passes():
    tick = PriceTick("binance", "BTCUSDT", 60000.0, 0.0, T, T)
    for msg in (LIQ, SNAP, SIG, REG, tick, Liquidation("okx", "PEPEUSDT", "PEPE-USDT-SWAP", "short", 1e-5, 1e9,
                                                      1e4, 0, T)):
        assert decode(encode(b"t", "s", 1, [msg]))[3] == [msg]
        assert bad_rows(msg.KIND, [row(msg)]) == []


def test_without_a_rejected_list_decode_still_drops_the_bad_rows():
    _, _, _, msgs = decode(body("liquidation", [row(LIQ, price="x"), row(LIQ)]))
    assert msgs == [LIQ]
