from __future__ import annotations

import msgpack
import pytest

from common.schema import FeedStatus, Liquidation, MetricsSnapshot, Signal
from common.wire import GapCounter, SeqStamper, WireError, decode, encode, packed_row, rows_body
from tests.unit.signals.helpers import snap

LIQ = Liquidation("binance", "BTCUSDT", "BTCUSDT", "long", 60000.0, 0.5, 30000.0, 1_700_000_000_000_000_000,
                  1_700_000_000_001_000_000, True)


def test_round_trip_preserves_every_field_and_type():
    frames = encode(b"liq.shard0", "ingest.binance", 7, [LIQ, LIQ])
    topic, sender, seq, msgs = decode(frames)
    assert (topic, sender, seq) == (b"liq.shard0", "ingest.binance", 7)
    assert msgs == [LIQ, LIQ]
    assert isinstance(msgs[0], Liquidation) and msgs[0].throttled is True


def test_nested_dicts_round_trip():
    snap = MetricsSnapshot("BTCUSDT", 5, {"10s": 1.5}, {"10s": 0.1}, {"10s": 0.0}, {"10s": 2.0}, {"binance": 1.5},
                           0.8, 2, 0.6, 0.7, "long", {"velocity": {"raw": 1.0, "score": 0.5}}, "why", 1, 2,
                           {"venues": {"binance": {"throttled": True}}})
    sig = Signal("BTCUSDT", "ALERT", 0.6, 0.7, "long", "NORMAL", "why", 10, stages={"event": 1})
    assert decode(encode(b"metrics.BTCUSDT", "a", 1, [snap]))[3] == [snap]
    assert decode(encode(b"signal.ALERT.BTCUSDT", "a", 1, [sig]))[3] == [sig]


def test_frames_are_topic_seq_body_with_schema_version():
    topic, head, body = encode(b"status.binance", "x", 3, [FeedStatus("binance", True, True, 0, 1, 0, 1, 2, 3)])
    assert topic == b"status.binance"
    assert msgpack.unpackb(head) == ["x", 3]
    version, kind, rows = msgpack.unpackb(body)
    assert (version, kind, len(rows)) == (1, "status", 1)


@pytest.mark.parametrize("frames", [
    [b"t", b"garbage"],
    [b"t", msgpack.packb(["s", 1]), b"\xc1\xc1"],
    [b"t", msgpack.packb(["s", 1]), msgpack.packb([99, "liquidation", []])],
    [b"t", msgpack.packb(["s", 1]), msgpack.packb([1, "nope", []])],
    [b"t", msgpack.packb(["s", 1]), msgpack.packb([1, "liquidation", {"a": 1}])],
    [b"t", msgpack.packb([["s"], 1]), msgpack.packb([1, "liquidation", []])],
    [b"t", msgpack.packb(["s", "1"]), msgpack.packb([1, "liquidation", []])],
    [b"t", msgpack.packb(["s", 1]), msgpack.packb([1, "liquidation"])],
])
def test_malformed_frames_raise_wire_error(frames):
    with pytest.raises(WireError):
        decode(frames)


def test_stamper_counts_per_topic_and_gap_counter_detects_drops():
    st = SeqStamper("s")
    seqs = [decode(st.stamp(t, [LIQ]))[2] for t in (b"a", b"a", b"b", b"a")]
    assert seqs == [1, 2, 1, 3]
    gc = GapCounter("test")
    assert [gc.check("s", b"a", n) for n in (1, 2, 5, 6)] == [0, 0, 2, 0]
    assert gc.gaps == 2
    assert gc.check("s", b"a", 1) == 0  # sender restarted: not a gap
    assert gc.check("other", b"a", 1) == 0  # senders are tracked separately


def test_packed_rows_of_one_row_bodies_join_into_the_body_encode_packs_for_them():
    a, b = snap(0.2, 1.0, symbol="BTCUSDT"), snap(0.3, 1.0, symbol="ETHUSDT")
    rows = [packed_row(encode(b"metrics.x", "s", 1, [m])[2], "metrics") for m in (a, b)]
    assert rows_body("metrics", rows) == encode(b"metrics.x", "s", 1, [a, b])[2]
    assert packed_row(encode(b"metrics.x", "s", 1, [a, b])[2], "metrics") is None  # two rows: not one
    assert packed_row(encode(b"metrics.x", "s", 1, [a])[2], "signal") is None  # another kind
