"""A relay reads only the header of what it forwards: topic, sender and seq, never the body."""
from __future__ import annotations

import pytest

from common import topics
from common.schema import Liquidation
from common.wire import WireError, decode, decode_head, encode

LIQ = Liquidation("bybit", "BTCUSDT", "BTCUSDT", "long", 97_300.0, 1.0, 97_300.0, 1, 2)


def test_decode_head_matches_decode_and_ignores_the_body():
    frames = encode(topics.liquidation("bybit", "BTCUSDT"), "ingest.bybit", 42, [LIQ, LIQ])
    assert decode_head(frames) == (b"liq.bybit.BTCUSDT", "ingest.bybit", 42)
    assert decode_head([frames[0], frames[1], b"not msgpack at all"]) == decode_head(frames)
    assert decode(frames)[3] == [LIQ, LIQ]


@pytest.mark.parametrize("frames", [[b"liq.x"], [b"liq.x", b"\xc1", b""], [b"liq.x", b"\x01", b""]])
def test_a_bad_header_is_a_wire_error(frames):
    with pytest.raises(WireError):
        decode_head(frames)
