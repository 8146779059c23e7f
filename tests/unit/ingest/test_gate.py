"""Gate futures parser on the documented frames (tests/data/gate/): side from the size sign, contracts x
quanto_multiplier, canonical symbol, times; control frames; the contract table."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from common.schema import LONG, SHORT, Liquidation, PriceTick
from ingest import contract_specs
from ingest.exchanges import gate
from ingest.exchanges.base import BadFrame, SubscriptionRejected

DATA = Path(__file__).parents[2] / "data" / "gate"
TS = 1_796_101_200_000_000_000


def frame(name: str) -> str:
    return (DATA / name).read_text()


def liq_frame(*items: dict) -> str:
    return orjson.dumps({"channel": "futures.public_liquidates", "event": "update", "time": 1796101200,
                         "time_ms": 1796101200123, "result": list(items)}).decode()


GOOD = {"price": "60000", "size": "25.5", "time_ms": 1796101200100, "contract": "BTC_USDT"}


@pytest.fixture(autouse=True)
def bundled_table():
    gate.set_contracts(contract_specs.bundled("gate"))


def test_documented_negative_size_is_a_long_in_coins() -> None:
    [liq] = gate.parse(frame("public_liquidates_doc.json"), TS)
    assert liq == Liquidation("gate", "BTCUSDT", "BTC_USDT", LONG, 215.1, pytest.approx(124 * 0.0001),
                              pytest.approx(124 * 0.0001 * 215.1), 1541486601123 * 1_000_000, TS, True,
                              "throttled")


def test_positive_fractional_size_is_a_short_sized_by_the_multiplier() -> None:
    btc, eth = gate.parse(liq_frame(GOOD, dict(GOOD, contract="ETH_USDT", size="-3", price="3000")), TS)
    assert (btc.side, btc.qty, btc.notional_usd) == (SHORT, pytest.approx(0.00255), pytest.approx(153.0))
    assert btc.ts_event == 1796101200100 * 1_000_000
    assert (eth.symbol, eth.side, eth.qty) == ("ETHUSDT", LONG, pytest.approx(0.03))


def test_documented_trade_is_a_price_tick_in_coins() -> None:
    [tick] = gate.parse(frame("trades_doc.json"), TS)
    assert tick == PriceTick("gate", "BTCUSDT", 96.4, pytest.approx(108 * 0.0001), 1545136464123 * 1_000_000, TS)


@pytest.mark.parametrize("name", ["subscribe_ack.json", "pong.json"])
def test_control_frames_give_nothing(name: str) -> None:
    assert gate.parse(frame(name), TS) == []


def test_refused_subscription_says_why() -> None:
    with pytest.raises(SubscriptionRejected, match="invalid argument"):
        gate.parse(frame("error_invalid_argument.json"), TS)


def test_contract_missing_from_the_table_is_bad_never_guessed() -> None:
    with pytest.raises(BadFrame, match="quanto_multiplier"):
        gate.parse(liq_frame(dict(GOOD, contract="PEPE_USDT")), TS)
    gate.set_contracts({**contract_specs.bundled("gate"), "PEPE_USDT": contract_specs.spec("10000000")})
    [liq] = gate.parse(liq_frame(dict(GOOD, contract="PEPE_USDT", size="2", price="0.00001")), TS)
    assert (liq.symbol, liq.qty, liq.notional_usd) == ("PEPEUSDT", 20_000_000.0, pytest.approx(200.0))


@pytest.mark.parametrize("bad", [{"size": "0"}, {"size": "NaN"}, {"size": None}, {"price": "0"},
                                 {"contract": "BTC_USDT_20261225"}, {"time_ms": "soon"}, {"size": True}])
def test_invalid_values_are_bad_frames(bad: dict) -> None:
    with pytest.raises(BadFrame):
        gate.parse(liq_frame(dict(GOOD, **bad)), TS)


def test_contract_rows_read_the_live_endpoint_shape_and_reject_an_error_body() -> None:
    rows = dict(gate.contract_rows([{"name": "BTC_USDT", "quanto_multiplier": "0.0001"},
                                    {"name": "X_USDT", "quanto_multiplier": "0"}]))
    assert rows == {"BTC_USDT": contract_specs.Spec(0.0001)}
    with pytest.raises(ValueError):
        gate.contract_rows({"label": "INVALID_PARAM_VALUE", "message": "bad"})


def test_subscribes_every_contract_and_the_btc_trades_with_decimal_sizes() -> None:
    subs = [orjson.loads(m) for m in gate.subscribe_messages(("ETHUSDT",), "BTCUSDT")]
    assert [(s["channel"], s["payload"]) for s in subs] == [("futures.public_liquidates", ["!all"]),
                                                            ("futures.trades", ["BTC_USDT"]),
                                                            ("futures.tickers", ["ETH_USDT"])]
    assert gate.HEADERS == {"X-Gate-Size-Decimal": "1"}
