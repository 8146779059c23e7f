"""Aster: Binance's protocol on its own base, attributed to aster, throttled, on Aster's documented frames."""
from __future__ import annotations

import pytest

from common.schema import LONG, SHORT, Liquidation, PriceTick
from ingest.exchanges import aster, binance
from ingest.exchanges.base import BadFrame
from tests.conftest import fixture_text

RECV = 1_000


def test_doc_frame_sell_is_a_long_in_coins_at_the_average_price_attributed_to_aster():
    (ev,) = aster.parse(fixture_text("aster/force_order_doc_combined.json"), RECV)
    assert isinstance(ev, Liquidation)
    assert (ev.exchange, ev.symbol, ev.native_symbol, ev.side) == ("aster", "BTCUSDT", "BTCUSDT", LONG)
    assert (ev.price, ev.qty) == (9910.0, 0.014) and ev.notional_usd == pytest.approx(138.74)
    assert (ev.ts_event, ev.ts_recv) == (1568014460893 * 1_000_000, RECV)
    assert (ev.completeness, ev.throttled) == ("throttled", True)


def test_buy_is_a_short():
    frame = fixture_text("aster/force_order_doc_combined.json").replace('"S":"SELL"', '"S":"BUY"')
    assert aster.parse(frame, RECV)[0].side == SHORT


def test_agg_trade_is_an_aster_price_tick_and_the_ack_is_quiet():
    (tick,) = aster.parse(fixture_text("aster/agg_trade_doc.json"), RECV)
    assert isinstance(tick, PriceTick) and (tick.exchange, tick.symbol, tick.price) == ("aster", "BTCUSDT", 0.001)
    assert aster.parse(fixture_text("aster/subscribe_ack.json"), RECV) == []


def test_url_is_the_combined_stream_under_asters_own_base_and_nothing_is_sent():
    assert aster.url(aster.URL, (), "BTCUSDT") == (
        "wss://fstream.asterdex.com/stream?streams=!forceOrder@arr/btcusdt@aggTrade/!markPrice@arr@1s")
    assert aster.subscribe_messages((), "BTCUSDT") == []
    assert aster.COMPLETENESS == "throttled" and aster.MAX_CONNECTION_S < 24 * 3600


def test_errors_are_bad_frames_as_on_binance():
    with pytest.raises(BadFrame):
        aster.parse('{"code": 2, "msg": "Invalid request"}', RECV)
    assert binance.parse(fixture_text("aster/force_order_doc_combined.json"), RECV)[0].exchange == "binance"


def test_mark_prices_are_asters_market_context():
    (ctx,) = aster.parse(fixture_text("aster/mark_price_arr_doc_combined.json"), RECV)
    assert (ctx.exchange, ctx.symbol) == ("aster", "BTCUSDT")
    assert (ctx.mark_price, ctx.index_price, ctx.funding_rate) == (11794.15, 11784.62659091, 0.00038167)
