"""The recent-key deduper: repeats dropped, prices untouched, memory bounded."""
from __future__ import annotations

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
    d.filter([liq(t) for t in range(5)])
    assert len(d) == 3
    assert d.filter([liq(0), liq(4)]) == [liq(0)]  # 0 was evicted, 4 is still remembered
