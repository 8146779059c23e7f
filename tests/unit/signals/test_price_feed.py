from __future__ import annotations

from common.schema import PriceTick
from signals.price_feed import PriceFeed

S = 1_000_000_000


def tick(venue: str) -> PriceTick:
    return PriceTick(venue, "BTCUSDT", 60000.0, 0.1, 0, 0)


def test_binance_is_preferred_while_fresh_then_falls_back_and_returns():
    feed = PriceFeed(stale_s=5.0)
    assert feed.accept(tick("bybit"), 0 * S) is True  # the only source so far
    assert feed.accept(tick("binance"), 1 * S) is True
    assert feed.accept(tick("bybit"), 2 * S) is False  # binance fresh: bybit ignored
    assert feed.accept(tick("okx"), 3 * S) is False
    # binance silent for more than 5 s: bybit takes over (okx ranks below it)
    assert feed.accept(tick("okx"), 7 * S) is False
    assert feed.accept(tick("bybit"), 7 * S) is True
    assert feed.source == "bybit"
    assert feed.accept(tick("binance"), 8 * S) is True  # back
    assert feed.accept(tick("bybit"), 8 * S) is False
    assert feed.source == "binance"
