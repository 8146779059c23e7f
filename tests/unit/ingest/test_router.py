"""The ingest router's batches: one per shard, also bound for the signal generator with the liquidation tape."""
from __future__ import annotations

from common.schema import Liquidation, PriceTick
from common.sharding import shard_of
from ingest.router import Router


def liq(symbol: str, exchange: str = "bybit", usd: float = 10.0) -> Liquidation:
    return Liquidation(exchange, symbol, symbol, "long", 10.0, usd / 10.0, usd, 1, 2)


def test_with_the_tape_a_flush_is_one_batch_per_shard_also_bound_for_the_signal_generator():
    router = Router(2, (), "BTCUSDT", tape=True)
    events = [liq("BTCUSDT"), liq("ETHUSDT"), liq("BTCUSDT"), liq("SOLUSDT"), PriceTick("bybit", "BTCUSDT", 1, 1, 1, 2)]
    assert router.add(events) == 5
    batches = router.take()
    by_topic = {b.topic: b for b in batches}
    shards = {shard_of(s, 2) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}
    assert set(by_topic) == {b"liq.shard%d" % k for k in shards} | {b"price.BTCUSDT"}
    btc = by_topic[b"liq.shard%d" % shard_of("BTCUSDT", 2)]
    assert btc.shard == shard_of("BTCUSDT", 2) and btc.tape
    assert [e.symbol for e in btc.events].count("BTCUSDT") == 2  # arrival order kept within the batch
    assert sum(len(b.events) for b in batches if b.topic.startswith(b"liq.")) == 4
    assert by_topic[b"price.BTCUSDT"].shard is None and not by_topic[b"price.BTCUSDT"].tape
    assert router.take() == [] and router.pending == 0


def test_untracked_symbols_are_filtered_and_counted():
    router = Router(2, ("BTCUSDT",), "BTCUSDT")
    assert router.add([liq("BTCUSDT"), liq("DOGEUSDT")]) == 1
    assert router.filtered == 1
    assert [b.topic for b in router.take()] == [b"liq.shard%d" % shard_of("BTCUSDT", 2)]


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


def test_column_batches_are_routed_whole_split_by_symbol_and_joined_in_order_with_structs():
    from common.columns import LiquidationBatch

    router = Router(2, ("BTCUSDT", "ETHUSDT"), "BTCUSDT")
    btc = [liq("BTCUSDT", usd=float(i)) for i in range(1, 41)]
    mixed = [liq(s, usd=100.0 + i) for i, s in enumerate(["BTCUSDT", "ETHUSDT", "DOGEUSDT"] * 12)]
    assert router.add(LiquidationBatch.of(btc)) == 40  # one symbol: queued as it is
    assert router.add([liq("BTCUSDT", usd=0.5)]) == 1
    assert router.add(LiquidationBatch.of(mixed)) == 24 and router.filtered == 12 and router.pending == 65
    by_topic = {b.topic: b.events for b in router.take()}
    want: dict[bytes, list[Liquidation]] = {}
    for ev in [*btc, liq("BTCUSDT", usd=0.5), *mixed]:
        if ev.symbol != "DOGEUSDT":
            want.setdefault(b"liq.shard%d" % shard_of(ev.symbol, 2), []).append(ev)
    assert {t: list(evs) for t, evs in by_topic.items()} == want
    assert all(isinstance(evs, LiquidationBatch) for evs in by_topic.values())
