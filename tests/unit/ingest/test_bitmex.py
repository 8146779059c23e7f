"""BitMEX parser: order side -> position side, inverse XBTUSD in USD contracts vs linear contracts, only inserts
are new liquidations, XBT -> BTC, dated futures skipped (tests/data/bitmex/)."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from common.schema import LONG, SHORT, Liquidation, PriceTick
from ingest import contract_specs
from ingest.exchanges import bitmex
from ingest.exchanges.base import BadFrame, SubscriptionRejected

DATA = Path(__file__).parents[2] / "data" / "bitmex"
TS = 1_796_101_200_000_000_000


def frame(name: str) -> str:
    return (DATA / name).read_text()


def liq_frame(action: str = "insert", **kw: object) -> str:
    row = {"orderID": "o-1", "symbol": "XBTUSD", "side": "Sell", "price": 60000, "leavesQty": 3000, **kw}
    return orjson.dumps({"table": "liquidation", "action": action, "data": [row]}).decode()


@pytest.fixture(autouse=True)
def bundled_table():
    bitmex.set_contracts(contract_specs.bundled("bitmex"))


def test_inverse_usd_contracts_and_linear_contracts_become_coins() -> None:
    xbtusd, xbtusdt = bitmex.parse(frame("liquidation_insert_xbtusd.json"), TS)
    assert xbtusd == Liquidation("bitmex", "BTCUSDT", "XBTUSD", LONG, 60000.0, 0.05, 3000.0, TS, TS, False,
                                 "complete")
    assert (xbtusdt.side, xbtusdt.qty, xbtusdt.notional_usd) == (SHORT, pytest.approx(0.25),
                                                                 pytest.approx(0.25 * 60100.5))


def test_verbatim_dated_future_insert_is_skipped_not_bad() -> None:
    assert bitmex.parse(frame("liquidation_insert_pypi.json"), TS) == []


@pytest.mark.parametrize("action", ["partial", "update", "delete"])
def test_only_inserts_are_new_liquidations(action: str) -> None:
    assert bitmex.parse(liq_frame(action), TS) == []
    assert bitmex.parse(frame("liquidation_update_delete.json"), TS) == []


def test_trade_is_a_price_tick_with_its_iso_time() -> None:
    [tick] = bitmex.parse(frame("trade_xbtusd.json"), TS)
    assert tick == PriceTick("bitmex", "BTCUSDT", 60010.5, pytest.approx(100 / 60010.5), 1796101201250 * 10**6, TS)


@pytest.mark.parametrize("name", ["welcome.json", "subscribe_ack.json"])
def test_control_frames_give_nothing(name: str) -> None:
    assert bitmex.parse(frame(name), TS) == []
    assert bitmex.parse("pong", TS) == []


def test_refused_subscription_says_why() -> None:
    with pytest.raises(SubscriptionRejected, match="Unknown table: liquidations"):
        bitmex.parse(frame("error_unknown_table.json"), TS)


def test_quanto_and_unknown_contracts_are_bad_never_guessed() -> None:
    with pytest.raises(BadFrame, match="quanto"):
        bitmex.parse(liq_frame(symbol="ETHUSD", price=3000), TS)
    with pytest.raises(BadFrame, match="refresh"):
        bitmex.parse(liq_frame(symbol="DOGEUSDT", price=0.2), TS)


@pytest.mark.parametrize("bad", [{"side": "Long"}, {"side": ["Sell"]}, {"leavesQty": 0}, {"leavesQty": "1e160"},
                                 {"price": None}, {"symbol": 5}])
def test_invalid_values_are_bad_frames(bad: dict) -> None:
    with pytest.raises(BadFrame):
        bitmex.parse(liq_frame(**bad), TS)


def test_instrument_rows_give_inverse_linear_and_quanto_specs() -> None:
    rows = dict(bitmex.contract_rows([
        {"symbol": "XBTUSD", "isInverse": True, "isQuanto": False, "underlyingToPositionMultiplier": None},
        {"symbol": "ETHUSDT", "isInverse": False, "isQuanto": False, "underlyingToPositionMultiplier": 100000},
        {"symbol": "ETHUSD", "isInverse": False, "isQuanto": True, "underlyingToPositionMultiplier": None},
        {"symbol": ".BXBT", "isInverse": False, "isQuanto": False, "underlyingToPositionMultiplier": None}]))
    assert rows == {"XBTUSD": contract_specs.Spec(1.0, "inverse"), "ETHUSDT": contract_specs.Spec(1e-5),
                    "ETHUSD": contract_specs.Spec(1.0, "quanto")}
    with pytest.raises(ValueError):
        bitmex.contract_rows({"error": {"message": "Not Found"}})
