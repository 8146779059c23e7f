"""The ingester's tape message per shard topic (the batches held since the last one, as they went to the shard), and
its router's batch per shard: parts joined by `common.columns.joined`."""
from __future__ import annotations

from common.columns import LiquidationBatch, joined
from common.schema import Liquidation
from common.wire import COLUMNS_MIN, decode, encode


def liqs(n: int, start: int = 0) -> list[Liquidation]:
    return [Liquidation("bybit", f"S{i % 7}USDT", f"S{i % 7}USDT", "long" if i % 2 else "short", 100.0 + i, 1.0 + i,
                        (100.0 + i) * (1.0 + i), 10**18 + i, 10**18 + i + 5) for i in range(start, start + n)]


def test_one_batch_is_sent_as_it_went_to_the_shard_not_encoded_again():
    cols = LiquidationBatch.of(liqs(COLUMNS_MIN * 2))
    assert joined([cols]) is cols


def test_small_batches_stay_rows_and_columns_join_as_columns():
    small = [liqs(5), liqs(3, 5)]
    assert joined(small) == liqs(8) and type(joined(small)) is list
    mixed = [LiquidationBatch.of(liqs(COLUMNS_MIN)), liqs(3, COLUMNS_MIN),
             LiquidationBatch.of(liqs(40, COLUMNS_MIN + 3))]
    one = joined(mixed)
    assert isinstance(one, LiquidationBatch) and one == liqs(COLUMNS_MIN + 43)
    assert decode(encode(b"liq.shard0", "ingest.bybit", 1, one))[3] == liqs(COLUMNS_MIN + 43)
