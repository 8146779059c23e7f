"""dYdX v4 indexer trades: LIQUIDATED trades become liquidations of the taker's position, others prices."""
from __future__ import annotations

import orjson
import pytest

from common.schema import LONG, SHORT, Liquidation, PriceTick
from ingest.exchanges import dydx
from ingest.exchanges.base import BadFrame
from tests.conftest import fixture_text

T1 = 1704067201000 * 1_000_000  # 2024-01-01T00:00:01.000Z
RECV = T1 + 5 * 10**9


def test_liquidated_sell_is_a_long_in_base_units_with_btc_usd_as_btcusdt():
    liq, tick = dydx.parse(fixture_text("dydx/trades_update_liquidated.json"), RECV)
    assert isinstance(liq, Liquidation) and isinstance(tick, PriceTick)
    assert (liq.exchange, liq.symbol, liq.native_symbol, liq.side) == ("dydx", "BTCUSDT", "BTC-USD", LONG)
    assert (liq.price, liq.qty) == (43248.0, 1.2) and liq.notional_usd == pytest.approx(1.2 * 43248.0)
    assert (liq.ts_event, liq.ts_recv, liq.completeness, liq.throttled) == (T1, RECV, "complete", False)
    assert (tick.symbol, tick.price, tick.ts_event) == ("BTCUSDT", 43252.0, T1 + 10**9)


def test_limit_and_market_trades_are_only_prices():
    events = dydx.parse(fixture_text("dydx/trades_update.json"), RECV)
    assert [type(e) for e in events] == [PriceTick, PriceTick]


def test_batched_contents_are_read_and_deleveraging_is_neither_liquidation_nor_price():
    (liq,) = dydx.parse(fixture_text("dydx/trades_batch_deleveraged.json"), RECV)
    assert (liq.symbol, liq.side, liq.qty, liq.price) == ("ETHUSDT", SHORT, 2.5, 2250.5)


def test_subscribe_reply_keeps_recent_liquidations_and_skips_history():
    doc = orjson.loads(fixture_text("dydx/trades_update_liquidated.json"))
    doc["type"] = "subscribed"
    frame = orjson.dumps(doc)
    fresh = dydx.parse(frame, T1 + int(dydx.REPLAY_MAX_AGE_S * 1e9) - 1)
    assert [e.side for e in fresh if isinstance(e, Liquidation)] == [LONG]
    stale = dydx.parse(frame, T1 + int(dydx.REPLAY_MAX_AGE_S * 1e9) + 10**9)
    assert not [e for e in stale if isinstance(e, Liquidation)]
    assert dydx.parse(fixture_text("dydx/trades_subscribed.json"), RECV)[0].price == 43250.0


def test_connected_is_quiet_and_errors_are_bad_frames():
    assert dydx.parse(fixture_text("dydx/connected.json"), RECV) == []
    with pytest.raises(BadFrame, match="invalid_channel"):
        dydx.parse(fixture_text("dydx/error.json"), RECV)


@pytest.mark.parametrize(("field", "value"), [("createdAt", "2024-01-01 00:00:01"), ("createdAt", 1704067201000),
                                              ("side", "LONG"), ("size", "-1"), ("price", True)])
def test_bad_values_are_bad_frames(field, value):
    doc = orjson.loads(fixture_text("dydx/trades_update_liquidated.json"))
    doc["contents"]["trades"] = doc["contents"]["trades"][:1]
    doc["contents"]["trades"][0][field] = value
    with pytest.raises(BadFrame):
        dydx.parse(orjson.dumps(doc), RECV)


def test_one_subscription_per_market_price_market_first():
    msgs = [orjson.loads(m) for m in dydx.subscribe_messages(("ETHUSDT", "BTCUSDT"), "BTCUSDT")]
    assert msgs == [{"type": "subscribe", "channel": "v4_trades", "id": "BTC-USD"},
                    {"type": "subscribe", "channel": "v4_markets"},  # market context: every market, one message
                    {"type": "subscribe", "channel": "v4_trades", "id": "ETH-USD"}]
    assert len(dydx.subscribe_messages((), "BTCUSDT")) == len(dydx.DEFAULT_SYMBOLS) + 1
