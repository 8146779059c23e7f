"""The boundary rules of issue 16, each on the real frame with the one bad value the chaos run used."""
from __future__ import annotations

import logging

import orjson
import pytest

from common.wire import decode, encode
from ingest.exchanges import binance, bybit, hyperliquid, okx
from ingest.exchanges.base import BadFrame, ReconnectRequested, lookup, ms_to_ns, number
from ingest.frames import FrameParser
from tests.conftest import fixture_text

RECV = 1_650_898_330_000_000_000  # 0.8 s after force_order_btc_1.json's T
HOUR_NS = 3600 * 10**9


def _binance(**order: object) -> str:
    doc = orjson.loads(fixture_text("binance/force_order_btc_1.json"))
    doc["o"].update(order)
    return orjson.dumps(doc).decode()


def _bybit(**item: object) -> str:
    doc = orjson.loads(fixture_text("bybit/all_liquidation_rose.json"))
    doc["data"][0].update(item)
    return orjson.dumps(doc).decode()


def _okx(**detail: object) -> str:
    doc = orjson.loads(fixture_text("okx/liquidation_orders_swap.json").replace("IOST-USDT", "BTC-USDT"))
    doc["data"][0]["details"][0].update(detail)
    return orjson.dumps(doc).decode()


def _hyperliquid(**fill: object) -> str:
    doc = orjson.loads(fixture_text("hyperliquid/user_fill_liquidation.json"))
    doc["data"]["fills"][0].update(fill)
    return orjson.dumps(doc).decode()


@pytest.mark.parametrize("parse, frame", [
    (binance.parse, _binance(S=[])), (binance.parse, _binance(S={})), (bybit.parse, _bybit(S=[])),
    (okx.parse, _okx(side=[])), (okx.parse, _okx(posSide=["long"])), (hyperliquid.parse, _hyperliquid(side=[])),
    (hyperliquid.parse, _hyperliquid(tid=[1], hash=None)),
], ids=["binance-list", "binance-object", "bybit-list", "okx-side", "okx-posSide", "hl-side", "hl-tid"])
def test_a_side_or_key_field_of_the_wrong_type_is_a_bad_frame_not_a_type_error(parse, frame):
    with pytest.raises(BadFrame):
        parse(frame, RECV)


@pytest.mark.parametrize("parse, frame", [
    (binance.parse, _binance(z="1e160")), (binance.parse, _binance(ap="1e12")), (binance.parse, _binance(z=True)),
    (bybit.parse, _bybit(v="1e160")), (okx.parse, _okx(sz="1e160")), (hyperliquid.parse, _hyperliquid(px="1e300")),
    (binance.parse, _binance(z="1e7", ap="1e4")),  # $100 billion in one liquidation
], ids=["qty", "price", "bool", "bybit-qty", "okx-sz", "hl-px", "notional"])
def test_absurd_but_finite_values_are_rejected_by_the_sanity_ranges(parse, frame):
    with pytest.raises(BadFrame, match="sanity range|not a number"):
        parse(frame, RECV)


@pytest.mark.parametrize("value", [2**64 // 10**6 + 1, 18446744073709551616.0, "1e30", 1.5, True, [], -1, "inf"])
def test_exchange_times_that_do_not_fit_int64_ns_are_bad_frames(value):
    with pytest.raises(BadFrame):
        ms_to_ns(value, "T")
    with pytest.raises(BadFrame):
        binance.parse(_binance(T=value), RECV)


def test_readers_accept_the_real_shapes():
    assert ms_to_ns("1692266434010") == ms_to_ns(1692266434010) == 1692266434010 * 10**6
    assert number("0.06669", "p") == 0.06669 and number(3, "p") == 3.0
    assert lookup({"Buy": "long"}, "Buy", "side") == "long"
    for bad in ([], {}, None, 1, "buy"):
        with pytest.raises(BadFrame):
            lookup({"Buy": "long"}, bad, "side")


def test_runner_counts_any_parser_exception_as_a_bad_frame_and_goes_on(caplog):
    def buggy(frame: str | bytes, ts: int) -> list:
        if frame == "boom":
            raise TypeError("unhashable type: 'list'")
        return binance.parse(frame, ts)

    runner = FrameParser("ingest.binance", buggy)
    with caplog.at_level(logging.WARNING):
        assert runner.parse("boom", RECV) == []
        assert runner.parse(_binance(S=[]), RECV) == []
        assert len(runner.parse(fixture_text("binance/force_order_btc_1.json"), RECV)) == 1
    assert runner.bad == 2
    assert "TypeError: unhashable" in caplog.text
    assert caplog.text.count("bad frame") == 1, "rate-limited to one line a second"


def test_runner_logs_a_truncated_frame():
    runner = FrameParser("ingest.binance", binance.parse)
    runner.parse("x" * 5_000_000, RECV)
    assert runner.bad == 1


def test_runner_lets_a_reconnect_request_through():
    runner = FrameParser("ingest.okx", okx.parse)
    with pytest.raises(ReconnectRequested):
        runner.parse(fixture_text("okx/notice_64008.json"), RECV)


@pytest.mark.parametrize("offset_ns, kept", [(-HOUR_NS + 10**9, True), (59 * 10**9, True), (-2 * HOUR_NS, False),
                                             (61 * 10**9, False), (80 * 365 * 24 * HOUR_NS, False)])
def test_exchange_time_outside_the_window_becomes_receive_time_and_is_counted(offset_ns, kept):
    runner = FrameParser("ingest.binance", binance.parse, past_s=3600, future_s=60)
    t_ms = (RECV + offset_ns) // 10**6
    (ev,) = runner.parse(_binance(T=t_ms), RECV)
    assert ev.ts_event == (t_ms * 10**6 if kept else RECV)
    assert runner.ts_clamped == (0 if kept else 1)


def test_a_frame_dated_past_2262_is_bad_and_one_dated_2100_cannot_reach_the_wire_with_its_date():
    runner = FrameParser("ingest.binance", binance.parse)
    assert runner.parse(_binance(T=2**64 // 10**6 + 5), RECV) == [] and runner.bad == 1
    (ev,) = runner.parse(_binance(T=4_102_444_800_000), RECV)  # 2100-01-01
    assert ev.ts_event == RECV
    assert decode(encode(b"liq.0", "t", 1, [ev]))[3] == [ev]


def test_bybit_refused_topic_names_the_venue_and_the_symbol_once(caplog):
    runner = FrameParser("ingest.bybit", bybit.parse)
    frame = ('{"success":false,"ret_msg":"error:handler not found,topic:allLiquidation.NOPEUSDT",'
             '"conn_id":"c","req_id":"sub-0","op":"subscribe"}')
    with caplog.at_level(logging.WARNING, logger="ingest.frames"):
        for _ in range(3):
            runner.parse(frame, RECV)
    lines = [r.getMessage() for r in caplog.records if "not listed" in r.getMessage()]
    assert lines == ["ingest.bybit: tracked symbol NOPEUSDT is not listed on bybit (subscription refused: "
                     "error:handler not found,topic:allLiquidation.NOPEUSDT)"]
    assert runner.bad == 3


def test_a_frame_read_as_columns_has_its_times_bounded_like_structs():
    from common.columns import LiquidationBatch
    from common.wire import COLUMNS_MIN

    t_ms = RECV // 10**6
    items = [{"T": t_ms - i, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "100"} for i in range(COLUMNS_MIN)]
    frame = orjson.dumps({"topic": "allLiquidation.BTCUSDT", "data": items})
    runner = FrameParser("ingest.bybit", bybit.parse, past_s=3600, future_s=60)
    fine = runner.parse(frame, RECV)
    assert isinstance(fine, LiquidationBatch) and fine.n == COLUMNS_MIN and runner.ts_clamped == 0
    items[3]["T"] = t_ms + 3_600_000  # an hour ahead
    out = runner.parse(orjson.dumps({"topic": "allLiquidation.BTCUSDT", "data": items}), RECV)
    assert [ev.ts_event for ev in out][2:5] == [(t_ms - 2) * 10**6, RECV, (t_ms - 4) * 10**6]
    assert runner.ts_clamped == 1
