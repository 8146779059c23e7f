"""The ingest router's batches: per (exchange, symbol) with the liquidation tape, per shard without."""
from __future__ import annotations

from common.schema import Liquidation, PriceTick
from common.sharding import shard_of
from ingest.router import Router


def liq(symbol: str, exchange: str = "bybit", usd: float = 10.0) -> Liquidation:
    return Liquidation(exchange, symbol, symbol, "long", 10.0, usd / 10.0, usd, 1, 2)


def test_tape_groups_a_flush_per_exchange_and_symbol_under_its_tape_topic():
    router = Router(2, (), "BTCUSDT", tape=True)
    events = [liq("BTCUSDT"), liq("ETHUSDT"), liq("BTCUSDT"), liq("SOLUSDT"), PriceTick("bybit", "BTCUSDT", 1, 1, 1, 2)]
    assert router.add(events) == 5
    batches = router.take()
    by_topic = {b.topic: b for b in batches}
    assert set(by_topic) == {b"liq.bybit.BTCUSDT", b"liq.bybit.ETHUSDT", b"liq.bybit.SOLUSDT", b"price.BTCUSDT"}
    btc = by_topic[b"liq.bybit.BTCUSDT"]
    assert (btc.shard, len(btc.events), btc.tape) == (shard_of("BTCUSDT", 2), 2, True)
    assert by_topic[b"price.BTCUSDT"].shard is None and not by_topic[b"price.BTCUSDT"].tape
    assert router.take() == [] and router.pending == 0


def test_without_the_tape_a_flush_is_one_batch_per_shard():
    router = Router(2, (), "BTCUSDT", tape=False)
    symbols = [f"S{i}USDT" for i in range(10)]
    router.add([liq(s) for s in symbols])
    batches = router.take()
    assert sorted(b.topic for b in batches) == [b"liq.shard0", b"liq.shard1"]
    assert not any(b.tape for b in batches)
    assert sum(len(b.events) for b in batches) == 10
    for b in batches:
        assert {shard_of(e.symbol, 2) for e in b.events} == {b.shard}


def test_untracked_symbols_are_filtered_and_counted():
    router = Router(2, ("BTCUSDT",), "BTCUSDT")
    assert router.add([liq("BTCUSDT"), liq("DOGEUSDT")]) == 1
    assert router.filtered == 1
    assert [b.topic for b in router.take()] == [b"liq.bybit.BTCUSDT"]


def test_market_context_goes_to_its_symbols_shard_merged_and_at_most_once_a_second():
    import math

    from common.schema import MarketContext

    nan = math.nan
    router = Router(3, ("BTCUSDT",), "BTCUSDT", context_every_s=1.0)
    mark = MarketContext("okx", "BTCUSDT", "BTC-USDT-SWAP", nan, nan, nan, 60_000.0, nan, 1, 1_000)
    oi = MarketContext("okx", "BTCUSDT", "BTC-USDT-SWAP", 500.0, nan, nan, nan, nan, 2, 2_000)
    other = MarketContext("okx", "DOGEUSDT", "DOGE-USDT-SWAP", 1.0, nan, nan, 0.1, nan, 2, 2_000)
    assert router.add([mark, other]) == 1  # untracked symbols are dropped before the merge
    [batch] = router.take()
    assert (batch.shard, batch.topic, batch.tape) == (shard_of("BTCUSDT", 3), b"ctx.okx.BTCUSDT", False)
    router.add([oi])
    assert router.take() == []  # 1 us after the last one: held by the coalescer
    [batch] = router.take(now_ns=1_000 + 1_000_000_000)
    [ctx] = batch.events
    assert ctx.open_interest == 500.0 and ctx.mark_price == 60_000.0 and ctx.open_interest_usd == 500.0 * 60_000.0
