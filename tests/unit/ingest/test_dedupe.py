"""The recent-key deduper: repeats dropped, prices untouched, memory bounded."""
from __future__ import annotations

from common.columns import LiquidationBatch
from common.schema import Liquidation, PriceTick
from ingest.dedupe import Deduper


def liq(ts: int, qty: float = 1.0, recv: int = 0) -> Liquidation:
    return Liquidation("okx", "BTCUSDT", "BTC-USDT-SWAP", "long", 100.0, qty, qty * 100, ts, recv, True)


def test_a_repeat_with_another_receive_time_is_dropped_and_counted():
    d = Deduper()
    assert d.filter([liq(1, recv=5)]) == [liq(1, recv=5)]
    assert d.filter([liq(1, recv=9), liq(2)]) == [liq(2)]
    assert d.dropped == 1


def test_price_ticks_pass_even_when_identical():
    tick = PriceTick("okx", "BTCUSDT", 1.0, 1.0, 1, 1)
    assert Deduper().filter([tick, tick]) == [tick, tick]


def test_capacity_bounds_memory_and_forgets_the_oldest_first():
    d = Deduper(capacity=3)
    d.filter([liq(t) for t in range(6)])
    assert len(d) == 6  # up to twice the capacity ...
    d.filter([liq(6)])
    assert len(d) == 3  # ... then the newest `capacity` in one step
    assert d.filter([liq(0), liq(3), liq(6)]) == [liq(0), liq(3)]  # 0..3 were forgotten, 6 is still remembered


def test_a_column_batch_is_filtered_like_its_structs():
    """Repeats of earlier batches and within the batch are dropped, the first report kept, in order; a batch with
    none comes back as it is."""
    d, ref = Deduper(), Deduper()
    first = [liq(t) for t in range(40)]
    assert d.filter(LiquidationBatch.of(first)) is not None and ref.filter(first) == first
    again = [liq(t, recv=9) for t in range(30, 50)] + [liq(45), liq(60), liq(60, recv=3)]
    batch = LiquidationBatch.of(again)
    out = d.filter(batch)
    want = [liq(t, recv=9) for t in range(40, 50)] + [liq(60)]
    assert isinstance(out, LiquidationBatch) and list(out) == ref.filter(again) == want
    assert d.dropped == ref.dropped == 12
    fresh = LiquidationBatch.of([liq(t) for t in range(100, 140)])
    assert d.filter(fresh) is fresh


def test_a_batchs_keys_are_its_structs_keys():
    """The fingerprint of a column batch's events (numpy) equals each struct's (plain Python): a repeat is found
    whichever way either report came."""
    from ingest.dedupe import key_of, keys_of

    venues = (("okx", "BTC-USDT-SWAP"), ("bybit", "BTCUSDT"))
    evs = [Liquidation(v, "BTCUSDT", n, s, p, q, p * q, t, 5) for v, n in venues for s in ("long", "short")
           for p, q, t in ((97_300.5, 0.001, 10**18), (0.0123, 1e6, 1), (3.0, 2.0, 2**62))]
    keys = keys_of(LiquidationBatch.of(evs))
    assert keys == [key_of(e) for e in evs] and len(set(keys)) == len(evs)
