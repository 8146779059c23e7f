"""The shard's receive path for column batches (AnalyticsShard._take) decides like its row path: the
same events kept, misrouted and refused (symbol cap), the same symbols touched."""
from __future__ import annotations

from analytics.process import AnalyticsShard
from common.columns import LiquidationBatch
from common.config import load_config
from common.schema import Liquidation
from common.sharding import shard_of

T = 1_700_000_000_000_000_000


def shard() -> AnalyticsShard:
    cfg = load_config(overrides={"pipeline": {"shards": 2}, "analytics": {"max_symbols": 1}}, env={})
    return AnalyticsShard(cfg, 0)


def test_a_column_batch_is_taken_like_the_same_rows():
    syms = [f"S{i}USDT" for i in range(12)]
    assert {shard_of(s, 2) for s in syms} == {0, 1}  # both shards' symbols are in the batch
    liqs = [Liquidation("bybit", syms[i * 7 % 12], syms[i * 7 % 12], "long", 10.0 + i, 1.0, 10.0 + i, T + i, T + i)
            for i in range(60)]
    rows, cols = shard(), shard()
    rows.on_batch(b"liq.shard0", liqs[:30], T)
    rows.on_batch(b"liq.shard0", liqs[30:], T)
    cols.on_batch(b"liq.shard0", liqs[:30], T)  # rows of an older sender, then a column batch
    cols.on_batch(b"liq.shard0", LiquidationBatch.of(liqs[30:]), T)
    assert cols.counters == rows.counters
    assert rows.counters["misrouted"] > 0 and rows.counters["refused_symbols"] > 0
    assert cols.touched == rows.touched and cols.new_symbols == rows.new_symbols
    assert LiquidationBatch.concat(cols.columns) == rows.pending
