"""Deribit parser: which side a liquidation flag ("M"/"T"/"MT") and the taker direction name, USD amounts of
inverse perpetuals vs coin amounts of linear ones, the heartbeat reply (tests/data/deribit/)."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from common.schema import LONG, SHORT, PriceTick
from ingest.exchanges import deribit
from ingest.exchanges.base import BadFrame, SubscriptionRejected

DATA = Path(__file__).parents[2] / "data" / "deribit"
TS = 1_796_101_200_000_000_000


def frame(name: str) -> str:
    return (DATA / name).read_text()


def trade(**kw: object) -> str:
    item = {"trade_seq": 1, "trade_id": "1", "timestamp": 1796101200100, "tick_direction": 0, "price": 60000.0,
            "instrument_name": "BTC-PERPETUAL", "direction": "sell", "amount": 6000.0, **kw}
    return orjson.dumps({"jsonrpc": "2.0", "method": "subscription",
                         "params": {"channel": "trades.future.BTC.100ms", "data": [item]}}).decode()


def test_documented_trade_without_flag_is_only_a_price_tick_in_btc() -> None:
    [tick] = deribit.parse(frame("trades_btc_perpetual_doc.json"), TS)
    assert tick == PriceTick("deribit", "BTCUSDT", 8950.0, pytest.approx(10.0 / 8950.0), 1590484156350 * 10**6, TS)


@pytest.mark.parametrize(("flag", "direction", "side"), [
    ("T", "sell", LONG), ("T", "buy", SHORT), ("M", "sell", SHORT), ("M", "buy", LONG)])
def test_flag_and_taker_direction_name_the_liquidated_position(flag: str, direction: str, side: str) -> None:
    [liq] = deribit.parse(trade(liquidation=flag, direction=direction), TS)
    assert liq.side == side


def test_inverse_amount_is_usd_and_dated_futures_are_skipped() -> None:
    taker_long, maker_short = deribit.parse(frame("trades_future_btc_liquidations.json"), TS)
    assert (taker_long.side, taker_long.notional_usd, taker_long.qty) == (LONG, 2000.0, pytest.approx(2000 / 8949.5))
    assert (maker_short.side, maker_short.notional_usd) == (SHORT, 500.0)
    assert taker_long.ts_event == 1590484156351 * 10**6 and taker_long.symbol == "BTCUSDT"
    assert (taker_long.completeness, taker_long.throttled) == ("complete", False)


def test_both_sides_liquidated_give_one_event_per_side_in_coins() -> None:
    long_, short = deribit.parse(frame("trades_sol_usdc_both_sides.json"), TS)
    assert (long_.side, short.side) == (LONG, SHORT)
    assert (long_.symbol, long_.native_symbol, long_.qty, long_.notional_usd) == (
        "SOLUSDT", "SOL_USDC-PERPETUAL", 30.0, pytest.approx(30 * 142.5))


def test_test_request_is_answered_with_public_test_and_parses_to_nothing() -> None:
    assert orjson.loads(deribit.reply(frame("heartbeat_test_request.json")))["method"] == "public/test"
    assert deribit.parse(frame("heartbeat_test_request.json"), TS) == []
    assert deribit.reply('{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}') is None
    assert deribit.reply(frame("trades_btc_perpetual_doc.json")) is None


def test_acks_give_nothing_and_a_refused_subscription_says_why() -> None:
    assert deribit.parse(frame("subscribe_ack.json"), TS) == []
    with pytest.raises(SubscriptionRejected, match="raw_subscriptions_not_available_for_unauthorized"):
        deribit.parse(frame("error_raw_unauthorized.json"), TS)


def test_subscribes_heartbeat_first_then_100ms_trade_batches() -> None:
    hb, sub, _tickers = (orjson.loads(m) for m in deribit.subscribe_messages((), "BTCUSDT"))
    assert (hb["method"], hb["params"]) == ("public/set_heartbeat", {"interval": 10})
    assert sub["params"]["channels"] == ["trades.future.BTC.100ms", "trades.future.ETH.100ms",
                                         "trades.future.USDC.100ms"]


@pytest.mark.parametrize("bad", [{"liquidation": "X"}, {"direction": ["sell"]}, {"amount": "1e160"},
                                 {"amount": 0}, {"price": -1}, {"timestamp": 2**63 - 1}, {"direction": None}])
def test_invalid_liquidation_values_are_bad_frames(bad: dict) -> None:
    with pytest.raises(BadFrame):
        deribit.parse(trade(**{"liquidation": "T", **bad}), TS)
