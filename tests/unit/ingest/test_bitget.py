"""Bitget parser on the only whole liquidation frame we found (a public client's) and the documented trade;
the other client's field names parse too (tests/data/bitget/)."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from common.schema import LONG, SHORT, Liquidation, PriceTick
from ingest.exchanges import bitget
from ingest.exchanges.base import BadFrame, SubscriptionRejected

DATA = Path(__file__).parents[2] / "data" / "bitget"
TS = 1_796_101_200_000_000_000


def frame(name: str) -> str:
    return (DATA / name).read_text()


def liq_frame(**row: object) -> str:
    return orjson.dumps({"action": "update", "arg": {"instType": "USDT-FUTURES", "channel": "liquidation",
                                                     "instId": "default"}, "data": [row]}).decode()


def test_public_client_frame_sell_is_a_long_in_coins() -> None:
    [liq] = bitget.parse(frame("liquidation_public_client.json"), TS)
    assert liq == Liquidation("bitget", "BTCUSDT", "BTCUSDT", LONG, 99.0, 2.0, 198.0, 1995 * 1_000_000, TS, False,
                              "unknown")


def test_the_other_clients_field_names_parse_the_same() -> None:
    [liq] = bitget.parse(liq_frame(instId="1000PEPEUSDT", side="buy", bkPx="0.012", sz="2000", uTime="1796101200100"),
                         TS)
    assert (liq.symbol, liq.side, liq.qty, liq.price) == ("PEPEUSDT", SHORT, 2_000_000.0, pytest.approx(0.000012))
    assert liq.notional_usd == pytest.approx(24.0) and liq.ts_event == 1796101200100 * 1_000_000


def test_documented_trade_is_a_price_tick() -> None:
    [tick] = bitget.parse(frame("trade_doc.json"), TS)
    assert tick == PriceTick("bitget", "BTCUSDT", 27000.5, 0.001, 1695716760565 * 1_000_000, TS)


def test_control_frames_give_nothing_and_a_refusal_says_why() -> None:
    assert bitget.parse(frame("subscribe_ack.json"), TS) == []
    assert bitget.parse("pong", TS) == []
    with pytest.raises(SubscriptionRejected, match="doesn't exist"):
        bitget.parse(frame("error_doesnt_exist.json"), TS)


@pytest.mark.parametrize("bad", [{"side": "long"}, {"amount": "0"}, {"price": "x"}, {"ts": None},
                                 {"symbol": "BTCUSDT_UMCBL"}, {}])
def test_invalid_or_unknown_shapes_are_bad_frames(bad: dict) -> None:
    row = {"symbol": "BTCUSDT", "side": "sell", "price": "60000", "amount": "1", "ts": "1796101200100", **bad}
    with pytest.raises(BadFrame):
        bitget.parse(liq_frame(**(row if bad else {})), TS)


def test_subscribes_every_usdt_contract_and_the_btc_trades() -> None:
    [sub] = [orjson.loads(m) for m in bitget.subscribe_messages((), "BTCUSDT")]
    assert sub["args"][:2] == [{"instType": "USDT-FUTURES", "channel": "liquidation", "instId": "default"},
                               {"instType": "USDT-FUTURES", "channel": "trade", "instId": "BTCUSDT"}]
    assert [a["channel"] for a in sub["args"][2:]] == ["ticker"] * len(bitget.DEFAULT_CONTEXT_SYMBOLS)
    assert bitget.COMPLETENESS == "unknown"
