"""Lighter trade channel: liquidation trades of the taker's position, market ids through the table."""
from __future__ import annotations

import orjson
import pytest

from common.schema import LONG, SHORT, Liquidation, PriceTick
from ingest import lighter_markets
from ingest.exchanges import lighter
from ingest.exchanges.base import BadFrame
from tests.conftest import fixture_text

TS = 1773854156654 * 1_000_000
RECV = TS + 10**9


def liq_doc(**item: object) -> dict:
    doc = orjson.loads(fixture_text("lighter/trade_update_liquidation_btc.json"))
    doc["liquidation_trades"][0].update(item)
    return doc


def test_liquidation_with_the_maker_buying_is_a_long_in_base_units():
    (ev,) = lighter.parse(fixture_text("lighter/trade_update_liquidation_btc.json"), RECV)
    assert isinstance(ev, Liquidation)
    assert (ev.exchange, ev.symbol, ev.native_symbol, ev.side) == ("lighter", "BTCUSDT", "BTC", LONG)
    assert (ev.price, ev.qty) == (97181.8, 0.1336) and ev.notional_usd == pytest.approx(0.1336 * 97181.8)
    assert (ev.ts_event, ev.ts_recv, ev.completeness, ev.throttled) == (TS, RECV, "complete", False)


def test_maker_ask_is_a_short_and_the_takers_position_sign_must_agree():
    (ev,) = lighter.parse(orjson.dumps(liq_doc(is_maker_ask=True, taker_position_size_before="-0.5")), RECV)
    assert ev.side == SHORT
    with pytest.raises(BadFrame, match="contradicts"):
        lighter.parse(orjson.dumps(liq_doc(is_maker_ask=True, taker_position_size_before="0.5")), RECV)


def test_ordinary_trades_are_prices_of_their_market():
    (tick,) = lighter.parse(fixture_text("lighter/trade_update.json"), RECV)
    assert isinstance(tick, PriceTick) and (tick.symbol, tick.price, tick.qty) == ("ETHUSDT", 2181.83, 0.1336)


def test_a_liquidation_listed_in_both_arrays_counts_once_and_deleverage_never():
    doc = liq_doc()
    item = doc["liquidation_trades"][0]
    doc["trades"] = [item, dict(item, trade_id=7, type="deleverage")]
    doc["liquidation_trades"].append(dict(item, trade_id=8, type="deleverage"))
    assert [type(e) for e in lighter.parse(orjson.dumps(doc), RECV)] == [Liquidation]


def test_scaled_markets_are_per_coin_units():
    (ev,) = lighter.parse(orjson.dumps(liq_doc(market_id=4, price="0.0123", size="50000")), RECV)
    assert (ev.symbol, ev.native_symbol) == ("PEPEUSDT", "1000PEPE")
    assert ev.price == pytest.approx(0.0000123) and ev.qty == pytest.approx(50_000_000)
    assert ev.notional_usd == pytest.approx(615.0)


def test_unknown_market_is_bad_never_guessed():
    with pytest.raises(BadFrame, match="unknown market_id"):
        lighter.parse(orjson.dumps(liq_doc(market_id=99999)), RECV)


def test_subscribe_reply_keeps_recent_liquidations_and_skips_history():
    doc = liq_doc()
    doc["type"] = "subscribed/trade"
    assert len(lighter.parse(orjson.dumps(doc), TS + int(lighter.REPLAY_MAX_AGE_S * 1e9) - 1)) == 1
    assert lighter.parse(orjson.dumps(doc), TS + int(lighter.REPLAY_MAX_AGE_S * 1e9) + 10**9) == []
    assert len(lighter.parse(fixture_text("lighter/trade_subscribed.json"), RECV)) == 1


def test_greeting_and_pong_are_quiet_and_errors_bad():
    assert lighter.parse(fixture_text("lighter/connected.json"), RECV) == []
    assert lighter.parse('{"type":"pong"}', RECV) == []
    with pytest.raises(BadFrame, match="30012"):
        lighter.parse(fixture_text("lighter/subscribe_failed.json"), RECV)


def test_subscriptions_are_per_known_market_price_first():
    msgs = [orjson.loads(m)["channel"] for m in lighter.subscribe_messages(("ETHUSDT", "NOPEUSDT"), "BTCUSDT")]
    assert msgs == ["trade/1", "trade/0", "market_stats/0"]  # + the tracked markets' context
    ids = lighter.market_ids()
    context = {s for s in lighter.DEFAULT_CONTEXT_SYMBOLS if s in ids}
    assert len(lighter.subscribe_messages((), "BTCUSDT")) == len(ids) + len(context)


def test_market_table_refresh_reads_perps_and_the_bundled_table_fills_in():
    doc = {"code": 200, "order_book_details": [{"symbol": "ETH", "market_id": 0, "market_type": "perp"},
                                               {"symbol": "NEWCOIN", "market_id": 4097, "market_type": "perp"},
                                               {"symbol": "ETH/USDC", "market_id": 2048, "market_type": "spot"}]}
    assert lighter_markets.parse_details(orjson.dumps(doc)) == {0: "ETH", 4097: "NEWCOIN"}
    with pytest.raises(ValueError):
        lighter_markets.parse_details(b'{"code": 200, "order_book_details": []}')
    assert lighter_markets.refresh("http://127.0.0.1:9/nothing", timeout=0.5) == lighter_markets.bundled()
