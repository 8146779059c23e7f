"""The tape's text read off columns (`contract.tape_columns`) and its buffer of column batches (`TapeBuffer`)."""
from __future__ import annotations

import random

import numpy as np

from common.columns import LiquidationBatch
from common.schema import Liquidation
from common.wire import decode, encode
from publisher.redis_sink.buffer import TapeBuffer
from publisher.redis_sink.contract import TAPE_FIELDS, liquidation_fields, tape_columns


def varied(n: int, seed: int = 1) -> list[Liquidation]:
    """Liquidations whose numbers span every magnitude the schema admits: tiny prices (PEPE), 17-digit floats,
    round ones, nanosecond timestamps, both throttle states."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        price = 10 ** rng.uniform(-9, 6) if i % 3 else float(rng.randrange(1, 100_000))
        qty = 10 ** rng.uniform(max(-6, -8 - np.log10(price)), 9 - max(0.0, np.log10(price)))  # USD in the schema
        ts = 1_700_000_000_000_000_000 + rng.randrange(10**15)
        out.append(Liquidation(rng.choice(("binance", "okx")), f"S{i % 5}USDT", f"S{i % 5}-USDT-SWAP",
                               rng.choice(("long", "short")), price, qty, price * qty, ts, ts + i, bool(i % 2),
                               "throttled" if i % 2 else "complete"))
    return out


def expected(liqs: list[Liquidation]) -> list[list[str]]:
    """What XADD of each entry's `liquidation_fields` stores (str of each value), a list per field."""
    rows = [[str(v) for v in liquidation_fields(liq).values()] for liq in liqs]
    return [list(col) for col in zip(*rows, strict=True)]


def test_columns_give_the_text_of_each_entrys_fields_at_every_magnitude():
    liqs = varied(3000)
    assert list(liquidation_fields(liqs[0])) == list(TAPE_FIELDS)
    batch = decode(encode(b"liq", "t", 1, liqs), rejected := [])[3]
    assert isinstance(batch, LiquidationBatch) and batch.n == len(liqs) and not rejected
    want = expected(liqs)
    assert tape_columns([batch]) == want  # column batches, as the publisher receives them
    assert tape_columns([liqs]) == want  # struct lists (small frames come as rows)
    mixed = [liqs[:7], liqs[7:9], batch.take(slice(9, 2000)), liqs[2000:2001], batch.take(slice(2001, None))]
    assert tape_columns(mixed) == want  # in order, across kinds


def test_a_column_without_small_floats_takes_the_fast_path_and_matches_str():
    """Above 1e-4 orjson's text is str's: a column of such floats is not re-read (checked here against str)."""
    values = np.concatenate([10 ** np.random.default_rng(2).uniform(-4, 20, 50_000), [1e-4, 1e15, 1e16, 0.1 + 0.2]])
    liqs = [Liquidation("bybit", "X", "X", "long", v, v, v, 1, 2) for v in values.tolist()]
    assert tape_columns([LiquidationBatch.of(liqs)])[4] == [str(v) for v in values.tolist()]


def test_the_buffer_keeps_order_across_parts_and_drops_the_oldest_when_full():
    liqs = varied(40)
    buf = TapeBuffer(25)
    buf.append(liqs[:10])
    buf.append(decode(encode(b"liq", "t", 1, liqs[10:40]))[3])  # 40 > 25: the 15 oldest go
    assert len(buf) == 25 and buf.dropped_by_kind == {"liquidation": 15}
    first = buf.take(12)
    assert tape_columns(first) == expected(liqs[15:27])
    buf.put_back(first)  # a failed write: back in front, same order
    assert len(buf) == 25
    assert tape_columns(buf.take(100)) == expected(liqs[15:40]) and not buf


def test_a_strided_column_is_written_too():
    liqs = varied(64)
    batch = LiquidationBatch.of(liqs)
    strided = LiquidationBatch(32, {f: (t, c[::2]) for f, (t, c) in batch.text.items()},
                               {f: a[::2] for f, a in batch.num.items()})
    assert tape_columns([strided]) == expected(liqs[::2])
