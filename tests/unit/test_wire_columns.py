"""Liquidation batches as columns on the wire (common/columns.py): the same structs out as went in, older
row bodies still decode, a malformed column body is a WireError, invalid events are dropped one by one."""
from __future__ import annotations

import math

import msgpack
import numpy as np
import pytest

from common.columns import LiquidationBatch
from common.schema import Liquidation
from common.wire import COLUMNS_MIN, WireError, decode, encode

T = 1_700_000_000_000_000_000
HEAD = msgpack.packb(["ingest.test", 1])


def events(n: int = 3 * COLUMNS_MIN) -> list[Liquidation]:
    venues = ("binance", "bybit", "okx")
    return [Liquidation(venues[i % 3], f"S{i % 5}USDT", f"S{i % 5}-USDT-SWAP", "long" if i % 4 else "short",
                        100.0 + i / 7, 0.5 + i, (100.0 + i / 7) * (0.5 + i), T + i * 1_000_003, T + i * 1_000_007,
                        i % 3 != 1, ("complete", "throttled", "sampled", "unknown")[i % 4])
            for i in range(n)]


def body(frames: list[bytes]) -> list:
    return msgpack.unpackb(frames[2], raw=False)


def test_a_large_batch_goes_as_columns_and_decodes_to_the_same_structs():
    liqs = events()
    frames = encode(b"liq.shard0", "ingest.test", 3, liqs)
    version, kind, cols = body(frames)
    assert (version, kind, type(cols)) == (1, "liquidation", dict)
    assert cols["n"] == len(liqs) and cols["symbol"][0] == [f"S{k}USDT" for k in range(5)]  # each name once
    topic, sender, seq, got = decode(frames)
    assert (topic, sender, seq) == (b"liq.shard0", "ingest.test", 3)
    assert isinstance(got, LiquidationBatch) and got == liqs and list(got) == liqs and got[5] == liqs[5]
    assert [type(v) for v in got[0]] == [type(v) for v in liqs[0]]  # str, float, int and bool as sent
    np.testing.assert_array_equal(got.num["ts_event"], [x.ts_event for x in liqs])
    assert got.values("completeness") == [x.completeness for x in liqs]


def test_a_small_batch_goes_as_rows_as_before():
    liqs = events(COLUMNS_MIN - 1)
    assert type(body(encode(b"t", "s", 1, liqs))[2]) is list
    assert decode(encode(b"t", "s", 1, liqs))[3] == liqs


@pytest.mark.parametrize("width", [11, 10])
def test_row_bodies_of_an_older_sender_still_decode(width):
    """Row bodies of any size (an older sender packed every batch as rows; older still: 10-field rows)."""
    liqs = [x._replace(completeness="complete") for x in events()]
    rows = [list(x)[:width] for x in liqs]
    _, _, _, got = decode([b"t", HEAD, msgpack.packb([1, "liquidation", rows])])
    assert type(got) is list and got == liqs  # the 10-field rows' completeness: its default, complete


def test_a_batch_re_encoded_by_a_relay_is_the_same_batch():
    got = decode(encode(b"t", "s", 1, events()))[3]
    assert decode(encode(b"t", "s", 2, got))[3] == events()
    assert decode(encode(b"t", "s", 2, got.take(np.arange(3))))[3] == events()[:3]  # small: rows


def good_map() -> dict:
    return body(encode(b"t", "s", 1, events()))[2]


def broken(change) -> list[bytes]:
    cols = good_map()
    change(cols)
    return [b"t", HEAD, msgpack.packb([1, "liquidation", cols], use_bin_type=True)]


@pytest.mark.parametrize("change", [
    lambda c: c.pop("price"),
    lambda c: c.update(extra=1),
    lambda c: c.update(n=c["n"] + 1),
    lambda c: c.update(n=-1),
    lambda c: c.update(n="many"),
    lambda c: c.update(price=c["price"][:-8]),
    lambda c: c.update(ts_event=[1, 2, 3]),
    lambda c: c.update(symbol=[c["symbol"][0], c["symbol"][1][:-1]]),
    lambda c: c.update(symbol=[c["symbol"][0][:2], c["symbol"][1]]),  # codes point past the table
    lambda c: c.update(symbol="BTCUSDT"),
    lambda c: c.update(throttled=bytes([2]) * c["n"]),
], ids=["missing", "unknown", "count", "negative", "text-count", "short", "not-bytes", "codes", "table", "not-pair",
        "throttled"])
def test_a_malformed_column_body_is_a_wire_error_not_a_crash(change):
    with pytest.raises(WireError):
        decode(broken(change))


def test_invalid_events_of_a_column_body_are_dropped_with_their_reason_and_the_rest_pass():
    liqs = events()
    bad = {3: liqs[3]._replace(side="sideways"), 7: liqs[7]._replace(price=math.nan),
           9: liqs[9]._replace(ts_event=-5), 11: liqs[11]._replace(notional_usd=1e300),
           13: liqs[13]._replace(exchange="x" * 500)}
    sent = [bad.get(i, x) for i, x in enumerate(liqs)]
    rejected: list[str] = []
    got = decode(encode(b"t", "s", 1, sent), rejected)[3]
    assert got == [x for i, x in enumerate(liqs) if i not in bad]
    assert len(rejected) == len(bad)
    assert any("side" in r for r in rejected) and any("price" in r for r in rejected)


def test_concat_and_take_keep_the_events_in_order():
    liqs = events()
    a, b = LiquidationBatch.of(liqs[:40]), decode(encode(b"t", "s", 1, liqs[40:]))[3]
    both = LiquidationBatch.concat([a, b])
    assert both == liqs and len(both) == len(liqs)
    mask = np.arange(len(liqs)) % 3 == 0
    assert both.take(mask) == [x for i, x in enumerate(liqs) if i % 3 == 0]


def test_groups_split_by_venue_and_symbol_in_arrival_order_even_across_joined_tables():
    liqs = events()
    # a decoded batch (no structs yet) joined to one built from structs: the joined tables name values twice
    both = LiquidationBatch.concat([decode(encode(b"t", "s", 1, liqs[:40]))[3], LiquidationBatch.of(liqs[40:])])
    want: dict[tuple[str, str], list[Liquidation]] = {}
    for x in liqs:
        want.setdefault((x.exchange, x.symbol), []).append(x)
    got = both.groups("exchange", "symbol")
    assert [key for key, _ in got] == list(want)  # one group per value, in order of first appearance
    assert {key: list(group) for key, group in got} == want
    assert LiquidationBatch.of([]).groups("exchange") == []


def test_concat_names_each_value_once_so_a_joined_batch_does_not_grow_its_tables():
    liqs = events()
    parts = [LiquidationBatch.of(liqs[i:i + 20]) for i in range(0, len(liqs), 20)]
    both = LiquidationBatch.concat(parts)
    assert both == liqs
    for f, (table, _) in both.text.items():
        assert sorted(table, key=str) == sorted({getattr(x, f) for x in liqs}, key=str)
    assert decode(encode(b"t", "s", 1, both))[3] == liqs
