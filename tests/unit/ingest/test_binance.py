"""Binance normalization rules, each on a real (or doc-verbatim) frame."""
from __future__ import annotations

import pytest

from common.schema import Liquidation, PriceTick
from ingest.exchanges import binance
from ingest.exchanges.base import BadFrame
from tests.conftest import fixture_text

RECV = 123


def test_sell_is_a_long_liquidated_qty_is_z_price_is_ap_time_is_order_T():
    (ev,) = binance.parse(fixture_text("binance/force_order_combined_iotx.json"), RECV)
    assert ev == Liquidation("binance", "IOTXUSDT", "IOTXUSDT", "long", 0.06669, 3661.0,
                             pytest.approx(3661 * 0.06669), 1634653599180 * 1_000_000, RECV, True, "throttled")


def test_raw_mode_frames_parse_like_combined_ones():
    (ev,) = binance.parse(fixture_text("binance/force_order_btc_1.json"), RECV)
    assert (ev.symbol, ev.side, ev.price, ev.qty) == ("BTCUSDT", "long", 39021.0, 0.288)
    assert ev.notional_usd == pytest.approx(0.288 * 39021.0)
    assert ev.ts_event == 1650898329196_000_000


def test_buy_is_a_short_liquidated():
    frame = fixture_text("binance/force_order_doc.json").replace('"S":"SELL"', '"S":"BUY"')
    assert binance.parse(frame, RECV)[0].side == "short"


def test_price_falls_back_to_p_when_ap_is_zero():
    frame = fixture_text("binance/force_order_doc.json").replace('"ap":"9910"', '"ap":"0"').replace(
        '"p":"9910"', '"p":"9900"')
    assert binance.parse(frame, RECV)[0].price == 9900.0


def test_scaled_contract_is_converted_to_per_coin_units_with_notional_unchanged():
    frame = fixture_text("binance/force_order_doc.json").replace("BTCUSDT", "1000PEPEUSDT").replace(
        '"ap":"9910"', '"ap":"0.0123"').replace('"z":"0.014"', '"z":"500000"')
    (ev,) = binance.parse(frame, RECV)
    assert (ev.symbol, ev.native_symbol) == ("PEPEUSDT", "1000PEPEUSDT")
    assert ev.qty == 500_000_000.0
    assert ev.price == pytest.approx(0.0000123)
    assert ev.notional_usd == pytest.approx(500000 * 0.0123)


def test_agg_trade_is_a_price_tick():
    (tick,) = binance.parse(fixture_text("binance/agg_trade_combined_ctk.json"), RECV)
    assert tick == PriceTick("binance", "CTKUSDT", 1.011, 10.0, 1626992741421 * 1_000_000, RECV)


def test_subscribe_ack_is_not_an_event():
    assert binance.parse(fixture_text("binance/subscribe_ack.json"), RECV) == []


@pytest.mark.parametrize("frame", [
    "not json", "[1,2]", '{"stream":"x","data":7}', fixture_text("binance/error_code2.json"),
    fixture_text("binance/mark_price.json"),  # not subscribed: an unknown event is not data
    fixture_text("binance/force_order_doc.json")[:60],  # truncated
    fixture_text("binance/force_order_doc.json").replace('"z":"0.014"', '"z":"NaN"'),
    fixture_text("binance/force_order_doc.json").replace('"z":"0.014"', '"z":"0"'),
    fixture_text("binance/force_order_doc.json").replace('"ap":"9910"', '"ap":"-1"'),
    fixture_text("binance/force_order_doc.json").replace('"S":"SELL"', '"S":"HOLD"'),
    fixture_text("binance/force_order_doc.json").replace('"T":1568014460893', '"T":"x"'),
    fixture_text("binance/force_order_doc.json").replace("BTCUSDT", "BTCUSDT_260925"),
])
def test_bad_frames_raise_and_never_become_events(frame):
    with pytest.raises(BadFrame):
        binance.parse(frame, RECV)


def test_combined_url_uses_the_market_base():
    url = binance.url(binance.URL, (), "BTCUSDT")
    assert url == "wss://fstream.binance.com/market/stream?streams=!forceOrder@arr/btcusdt@aggTrade/!markPrice@arr@1s"
