"""Bybit v5 parser on the verbatim documented frames (tests/data/bybit/)."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from common.schema import LONG, SHORT, Liquidation, PriceTick
from ingest.exchanges import bybit
from ingest.exchanges.base import BadFrame

DATA = Path(__file__).parents[2] / "data" / "bybit"
TS = 1_000


def frame(name: str) -> str:
    return (DATA / name).read_text()


def liq_frame(*items: dict[str, object]) -> str:
    return orjson.dumps({"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": 1739502303204,
                         "data": list(items)}).decode()


GOOD = {"T": 1739502302929, "s": "BTCUSDT", "S": "Buy", "v": "0.5", "p": "60000"}


def test_all_liquidation_sell_is_a_short_position_with_bankruptcy_price() -> None:
    [liq] = bybit.parse(frame("all_liquidation_rose.json"), TS)
    assert liq == Liquidation("bybit", "ROSEUSDT", "ROSEUSDT", SHORT, 0.04499, 20000.0, 20000 * 0.04499,
                              1739502302929 * 1_000_000, TS, False)


def test_buy_is_a_long_position_opposite_of_binance_raw_value() -> None:
    [liq] = bybit.parse(liq_frame(GOOD), TS)
    assert liq.side == LONG
    assert liq.notional_usd == pytest.approx(30000.0)


def test_deprecated_object_form_parses_for_old_recordings() -> None:
    [btc] = bybit.parse(frame("liquidation_deprecated_btc.json"), TS)
    assert (btc.symbol, btc.side, btc.price, btc.qty) == ("BTCUSDT", SHORT, 43511.70, 0.003)
    assert btc.ts_event == 1703485237953 * 1_000_000
    [gala] = bybit.parse(frame("liquidation_deprecated_gala.json"), TS)
    assert (gala.symbol, gala.side, gala.qty) == ("GALAUSDT", LONG, 1637.0)


def test_scaled_contract_becomes_per_coin_with_notional_unchanged() -> None:
    item = dict(GOOD, s="1000PEPEUSDT", v="2000", p="0.012")
    [liq] = bybit.parse(liq_frame(item), TS)
    assert (liq.symbol, liq.native_symbol) == ("PEPEUSDT", "1000PEPEUSDT")
    assert liq.qty == 2_000_000.0
    assert liq.price == pytest.approx(0.000012)
    assert liq.notional_usd == pytest.approx(24.0)


def test_public_trade_is_a_price_tick() -> None:
    [tick] = bybit.parse(frame("public_trade_btc.json"), TS)
    assert tick == PriceTick("bybit", "BTCUSDT", 16578.50, 0.001, 1672304486865 * 1_000_000, TS)


@pytest.mark.parametrize("name", ["pong.json", "subscribe_ack.json"])
def test_control_frames_give_nothing(name: str) -> None:
    assert bybit.parse(frame(name), TS) == []


def test_rejected_subscription_is_a_bad_frame_with_the_server_message() -> None:
    with pytest.raises(BadFrame, match="handler not found,topic:liquidation.BTCUSDT"):
        bybit.parse(frame("subscribe_rejected.json"), TS)


@pytest.mark.parametrize("bad", [
    {"v": "NaN"}, {"v": "0"}, {"v": "-1"}, {"p": "inf"}, {"p": "0"}, {"v": None}, {"S": "Long"},
    {"s": "BTCUSDT_260925"}, {"T": "yesterday"}, {"T": None},
])
def test_invalid_values_are_bad_frames(bad: dict[str, object]) -> None:
    with pytest.raises(BadFrame):
        bybit.parse(liq_frame(dict(GOOD, **bad)), TS)


def test_missing_field_is_a_bad_frame() -> None:
    item = {k: v for k, v in GOOD.items() if k != "p"}
    with pytest.raises(BadFrame):
        bybit.parse(liq_frame(item), TS)


@pytest.mark.parametrize("raw", ["", "garbage", '{"topic":"allLiquidation.BTCUSDT","data":[{"T":1', "[]",
                                 '{"topic":"allLiquidation.BTCUSDT","data":[]}',
                                 '{"topic":"kline.1.BTCUSDT"}'])
def test_garbage_and_truncated_json_are_bad_frames(raw: str) -> None:
    with pytest.raises(BadFrame):
        bybit.parse(raw, TS)


def test_one_bad_item_is_skipped_and_reported_good_items_kept() -> None:
    raw = liq_frame(GOOD, dict(GOOD, v="NaN"), dict(GOOD, S="Sell"))
    events, skipped = bybit.parse_report(raw, TS)
    assert [e.side for e in events] == [LONG, SHORT]
    assert len(skipped) == 1 and "v" in skipped[0]
    assert len(bybit.parse(raw, TS)) == 2


def test_all_items_bad_raises() -> None:
    with pytest.raises(BadFrame):
        bybit.parse(liq_frame(dict(GOOD, v="0"), dict(GOOD, p="-1")), TS)


def test_subscribe_batches_at_most_ten_topics_with_price_first() -> None:
    syms = tuple(f"C{i}USDT" for i in range(15)) + ("PEPEUSDT",)
    msgs = [orjson.loads(m) for m in bybit.subscribe_messages(syms, "BTCUSDT")]
    args = [a for m in msgs for a in m["args"]]
    assert all(m["op"] == "subscribe" and len(m["args"]) <= 10 for m in msgs)
    assert len({m["req_id"] for m in msgs}) == len(msgs) == 4  # 1 price + 16 liquidation + 16 tickers topics
    assert args[0] == "publicTrade.BTCUSDT"
    assert "allLiquidation.1000PEPEUSDT" in args and "allLiquidation.C0USDT" in args
    assert not any(a.startswith("liquidation.") for a in args)


def test_empty_symbols_subscribe_the_documented_default_list() -> None:
    msgs = [orjson.loads(m) for m in bybit.subscribe_messages((), "BTCUSDT")]
    args = {a for m in msgs for a in m["args"]}
    assert {f"allLiquidation.{s}" for s in bybit.DEFAULT_SYMBOLS} <= args


def test_module_constants() -> None:
    assert bybit.COMPLETENESS == "complete"
    assert bybit.KEEPALIVE == ('{"op":"ping"}', 20.0)
    assert bybit.url(bybit.URL, (), "BTCUSDT") == "wss://stream.bybit.com/v5/public/linear"


def general(item: dict[str, object]) -> Liquidation:
    """The general path `_liquidation` takes for anything unusual: what its inline path must equal."""
    from ingest.exchanges.base import liquidation, lookup, ms_to_ns, positive

    native = item.get("s")
    symbol, mult = bybit._symbol(native)
    side = lookup(bybit._SIDE, item.get("S"), "side")
    qty, price = positive(item.get("v"), "v"), positive(item.get("p"), "p")
    return liquidation(bybit.NAME, symbol, str(native), side, price / mult, qty * mult, qty * price,
                       ms_to_ns(item.get("T"), "T"), TS, bybit.COMPLETENESS)


@pytest.mark.parametrize("over", [
    {}, {"s": "1000PEPEUSDT", "p": "0.0123", "v": "1500"}, {"S": "Sell"}, {"v": 0.5}, {"p": 60000},
    {"T": "1739502302929"}, {"T": 1739502302929.0}, {"v": "1e-3"}, {"p": " 60000 "}, {"v": "1_000"},
    {"v": "NaN"}, {"v": "0"}, {"v": "-1"},
    {"p": "inf"}, {"p": "1e400"}, {"S": "Long"}, {"S": None}, {"s": "BTCUSDT_260925"}, {"s": "X" * 70 + "USDT"},
    {"s": 7}, {"T": 0}, {"T": 2**62}, {"T": True}, {"v": "abc"}, {"p": "1e-30"},
])
def test_the_inline_path_gives_the_general_paths_event_or_fault(over: dict[str, object]) -> None:
    item = dict(GOOD, **over)
    try:
        want: Liquidation | str = general(item)
    except BadFrame as exc:
        want = str(exc)
    try:
        got: Liquidation | str = bybit._liquidation(item, TS)
    except BadFrame as exc:
        got = str(exc)
    assert got == want and type(got) is type(want)


ODDITIES = [{"s": "ETHUSDT"}, {"s": "1000PEPEUSDT", "p": "0.0123", "v": "1500"}, {"v": 0.5},
            {"p": 60000}, {"T": "1739502302929"}, {"v": "NaN"}, {"v": "0"}, {"p": "inf"}, {"p": "1e400"},
            {"S": "Long"}, {"S": None}, {"S": ["Buy"]}, {"s": "BTCUSDT_260925"}, {"s": "X" * 70 + "USDT"}, {"s": 7},
            {"T": 0}, {"T": 2**62}, {"T": True}, {"v": "abc"}, {"p": "1e-30"}, {"v": "1e11"}]


@pytest.mark.parametrize("over", [{}, {"S": "Sell", "v": "0.001"}, *ODDITIES])
def test_a_busy_frame_read_as_columns_gives_the_per_item_events_and_faults(over: dict[str, object]) -> None:
    """A frame of COLUMNS_MIN+ items is read as columns when every item is the usual one; one odd item sends it
    the per-item way. Either way: each item's event or fault, as `_liquidation` gives it, in order."""
    from common.columns import LiquidationBatch
    from common.wire import COLUMNS_MIN
    from ingest.exchanges.base import each_item

    items = [dict(GOOD, T=GOOD["T"] + i, S="Buy" if i % 3 else "Sell", v=f"{1 + i % 7}.25")
             for i in range(COLUMNS_MIN + 8)]
    items[5] = dict(items[5], **over)
    events, skipped = bybit.parse_report(liq_frame(*items), TS)
    want = each_item("allLiquidation.BTCUSDT", items, lambda d: bybit._liquidation(d, TS))
    assert list(events) == want.events and skipped == want.skipped
    assert isinstance(events, LiquidationBatch) == (over not in ODDITIES)


def test_a_busy_frame_of_a_scaled_contract_reads_per_coin_as_columns() -> None:
    from common.columns import LiquidationBatch
    from common.wire import COLUMNS_MIN

    items = [dict(GOOD, s="1000PEPEUSDT", T=GOOD["T"] + i, v=f"{1500 + i}", p=f"0.01{i:02d}3")
             for i in range(COLUMNS_MIN)]
    frame = orjson.dumps({"topic": "allLiquidation.1000PEPEUSDT", "type": "snapshot", "ts": 1, "data": items})
    events = bybit.parse(frame, TS)
    assert isinstance(events, LiquidationBatch)
    assert list(events) == [bybit._liquidation(d, TS) for d in items]
    assert events[3].symbol == "PEPEUSDT" and events[3].qty == 1_503_000.0
