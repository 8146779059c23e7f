"""Market context of the venues added after the first four, on documented frames (tests/data/CONTEXT_SOURCES.md)."""
from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from common.schema import MarketContext
from ingest import contract_specs
from ingest.context_merge import merge
from ingest.exchanges import bitget, bitmex, deribit, dydx, gate, lighter
from ingest.exchanges.base import BadFrame

DATA = Path(__file__).parents[2] / "data"
TS = 1_760_325_060_000_000_000


def frame(name: str) -> str:
    return (DATA / name).read_text()


def deribit_ticker(**data: object) -> str:
    return orjson.dumps({"jsonrpc": "2.0", "method": "subscription",
                         "params": {"channel": f"ticker.{data['instrument_name']}.100ms", "data": data}}).decode()


def test_deribit_inverse_ticker_open_interest_is_usd_turned_into_coins_at_the_mark() -> None:
    [ctx] = deribit.parse(frame("deribit/ticker_btc_perpetual.json"), TS)
    assert isinstance(ctx, MarketContext)
    assert (ctx.exchange, ctx.symbol, ctx.native_symbol) == ("deribit", "BTCUSDT", "BTC-PERPETUAL")
    assert ctx.open_interest_usd == 502097590.0
    assert ctx.open_interest == pytest.approx(502097590 / 36446.51)  # ~13,776 BTC
    assert ctx.funding_rate == pytest.approx(0.0000211)  # funding_8h: already the 8 h basis
    assert (ctx.mark_price, ctx.index_price) == (36446.51, 36441.64)
    assert ctx.ts_event == 1623060194301 * 1_000_000 and ctx.ts_recv == TS


def test_deribit_linear_usdc_ticker_open_interest_is_already_coins() -> None:
    [ctx] = deribit.parse(deribit_ticker(instrument_name="SOL_USDC-PERPETUAL", timestamp=1623060194301,
                                         open_interest=120000.5, mark_price=150.0, index_price=150.1,
                                         funding_8h=-0.0001), TS)
    assert (ctx.symbol, ctx.open_interest) == ("SOLUSDT", 120000.5)
    assert ctx.open_interest_usd == pytest.approx(120000.5 * 150.0) and ctx.funding_rate == -0.0001


def test_deribit_ticker_without_mark_or_with_a_bad_instrument_is_bad() -> None:
    with pytest.raises(BadFrame):
        deribit.parse(deribit_ticker(instrument_name="BTC-PERPETUAL", timestamp=1, open_interest=10), TS)
    with pytest.raises(BadFrame):  # a dated future's ticker is not a perpetual's context
        deribit.parse(deribit_ticker(instrument_name="BTC-27DEC26", timestamp=1, mark_price=1.0), TS)
    assert math.isnan(deribit.parse(deribit_ticker(instrument_name="ETH-PERPETUAL", timestamp=1,
                                                   mark_price=2000.0), TS)[0].open_interest)


def test_deribit_subscribes_tickers_of_tracked_perpetuals_in_their_own_request() -> None:
    msgs = [orjson.loads(m) for m in deribit.subscribe_messages(("BTCUSDT", "SOLUSDT"), "BTCUSDT")]
    assert msgs[2]["id"] == 3 and msgs[2]["params"]["channels"] == [
        "ticker.BTC-PERPETUAL.100ms", "ticker.SOL_USDC-PERPETUAL.100ms"]
    assert all(not c.startswith("ticker.") for c in msgs[1]["params"]["channels"])
    refused = '{"jsonrpc":"2.0","id":3,"error":{"message":"Invalid params","code":-32602}}'
    with pytest.raises(deribit.SubscriptionRejected):  # said once by the runner, not counted as noise
        deribit.parse(refused, TS)


def test_bitmex_xbtusd_instrument_row_gives_usd_and_coins_funding_mark_and_index() -> None:
    [ctx] = bitmex.parse(frame("bitmex/instrument_partial_xbtusd.json"), TS)
    assert (ctx.exchange, ctx.symbol, ctx.native_symbol) == ("bitmex", "BTCUSDT", "XBTUSD")
    assert ctx.open_interest_usd == 286362900.0  # USD contracts
    assert ctx.open_interest == pytest.approx(4613.19177384)  # openValue in XBt
    assert ctx.open_interest == pytest.approx(286362900 / 62074.87, rel=1e-5)  # the same at the mark
    assert ctx.funding_rate == pytest.approx(0.000224)  # fundingInterval 8 h: unchanged
    assert (ctx.mark_price, ctx.index_price) == (62074.87, 62072.67)
    assert ctx.ts_event == 1709347451507 * 1_000_000


def test_bitmex_updates_carry_only_changed_fields_and_a_price_only_row_is_no_event() -> None:
    [snap] = bitmex.parse(frame("bitmex/instrument_partial_xbtusd.json"), TS)
    [upd] = bitmex.parse(frame("bitmex/instrument_update_xbtusd.json"), TS + 1)  # the last-price row: nothing
    assert math.isnan(upd.funding_rate) and math.isnan(upd.mark_price)
    merged = merge(snap, upd)
    assert merged.open_interest == pytest.approx(4600.0) and merged.open_interest_usd == 285000000.0
    assert merged.funding_rate == pytest.approx(0.000224) and merged.mark_price == 62074.87


def test_bitmex_linear_contracts_become_coins_and_other_intervals_the_8h_basis(monkeypatch) -> None:
    monkeypatch.setattr(bitmex, "_contracts", {"SOLUSDT": contract_specs.spec(0.0001)})
    text = orjson.dumps({"table": "instrument", "action": "partial", "data": [{
        "symbol": "SOLUSDT", "openInterest": 25_000_000, "fundingRate": 0.0001,
        "fundingInterval": "2000-01-01T04:00:00.000Z", "markPrice": 150.0, "indicativeSettlePrice": 150.2,
        "timestamp": "2026-12-01T06:00:00.000Z"}]}).decode()
    [ctx] = bitmex.parse(text, TS)
    assert (ctx.symbol, ctx.open_interest) == ("SOLUSDT", pytest.approx(2500.0))
    assert math.isnan(ctx.open_interest_usd)  # the merge values it at the mark
    assert ctx.funding_rate == pytest.approx(0.0002)  # 4 h interval -> twice per 8 h
    with pytest.raises(BadFrame):  # a quanto (or unknown) contract has no coin size
        bitmex.parse(text.replace("SOLUSDT", "ETHUSD"), TS)


def test_bitmex_subscribes_instrument_rows_of_tracked_perpetuals() -> None:
    [msg] = bitmex.subscribe_messages(("BTCUSDT", "ETHUSDT"), "BTCUSDT")
    assert orjson.loads(msg)["args"][2:] == ["instrument:XBTUSD", "instrument:ETHUSDT"]


def test_gate_ticker_gives_funding_mark_index_and_its_exchange_time() -> None:
    [ctx] = gate.parse(frame("gate/tickers_btc_live.json"), TS)
    assert (ctx.exchange, ctx.symbol, ctx.native_symbol) == ("gate", "BTCUSDT", "BTC_USDT")
    assert ctx.funding_rate == pytest.approx(0.000072)  # funding_interval 28800 s: already 8 h
    assert (ctx.mark_price, ctx.index_price) == (77183.5, 77221.8)
    assert math.isnan(ctx.open_interest)  # this push has no total_size: not sent, not zero
    assert ctx.ts_event == 1789456337802 * 1_000_000


def test_gate_total_size_is_contracts_times_quanto_multiplier() -> None:
    [ctx] = gate.parse(frame("gate/tickers_btc_total_size.json"), TS)
    size = gate._contracts["BTC_USDT"].size
    assert size == pytest.approx(0.0001)  # the bundled quanto_multiplier of BTC_USDT
    assert ctx.open_interest == pytest.approx(651185722 * 0.0001)  # ~65,119 BTC
    assert ctx.funding_rate == pytest.approx(0.000033) and ctx.mark_price == 62914.3


def test_gate_hourly_funding_is_put_on_the_8h_basis_and_an_unknown_contract_is_bad() -> None:
    item = {"contract": "SOL_USDT", "funding_rate": "0.0001", "funding_interval": 3600, "mark_price": "150",
            "t": 1789456337802}
    [ctx] = gate.parse(orjson.dumps({"channel": "futures.tickers", "event": "update", "result": [item]}), TS)
    assert ctx.funding_rate == pytest.approx(0.0008)
    with pytest.raises(BadFrame):  # open interest with no quanto_multiplier is never a guess
        gate.parse(orjson.dumps({"channel": "futures.tickers", "event": "update",
                                 "result": [{**item, "contract": "NOPE_USDT", "total_size": "5"}]}), TS)


def test_gate_subscribes_tickers_of_tracked_contracts() -> None:
    msgs = [orjson.loads(m) for m in gate.subscribe_messages(("BTCUSDT", "SOLUSDT"), "BTCUSDT")]
    assert {"channel": "futures.tickers", "payload": ["BTC_USDT", "SOL_USDT"]}.items() <= msgs[2].items()


def test_dydx_subscribe_reply_gives_every_market_in_coins_with_the_oracle_as_mark_and_index() -> None:
    btc, eth = dydx.parse(frame("dydx/markets_subscribed.json"), TS)
    assert (btc.exchange, btc.symbol, btc.native_symbol) == ("dydx", "BTCUSDT", "BTC-USD")
    assert btc.open_interest == pytest.approx(1891.473716288)  # base units: BTC
    assert (btc.mark_price, btc.index_price) == (27752.92, 27752.92)
    assert btc.funding_rate == 0.0 and btc.ts_event == TS  # the reply carries no time
    assert (eth.symbol, eth.open_interest) == ("ETHUSDT", pytest.approx(44027.853711))


def test_dydx_trading_update_hourly_funding_is_put_on_the_8h_basis() -> None:
    btc, eth = dydx.parse(frame("dydx/markets_trading_update.json"), TS)
    assert btc.funding_rate == pytest.approx(0.00006821875 * 8)
    assert eth.funding_rate == pytest.approx(0.00007478125 * 8)
    assert math.isnan(btc.open_interest) and math.isnan(btc.mark_price)  # not in the update: not sent
    quiet = orjson.dumps({"type": "channel_data", "channel": "v4_markets", "contents": {
        "trading": {"BTC-USD": {"volume24H": "1"}}}})
    assert dydx.parse(quiet, TS) == []  # a market update with none of our fields is no event, not a bad frame


def test_dydx_oracle_update_sets_mark_and_index_at_its_effective_time() -> None:
    [ctx] = dydx.parse(frame("dydx/markets_oracle_update.json"), TS)
    assert (ctx.symbol, ctx.mark_price, ctx.index_price) == ("BTCUSDT", 60001.75, 60001.75)
    assert ctx.ts_event == 1787788800 * 1_000_000_000  # 2026-08-27T00:00:00Z
    old = frame("dydx/markets_oracle_update.json").replace('"oraclePrice"', '"price"')  # the older docs' name
    assert dydx.parse(old, TS)[0].mark_price == 60001.75


def test_lighter_stats_open_interest_usd_becomes_coins_and_percent_per_hour_the_8h_fraction() -> None:
    [ctx] = lighter.parse(frame("lighter/market_stats_eth_doc.json"), TS)
    assert (ctx.exchange, ctx.symbol, ctx.native_symbol) == ("lighter", "ETHUSDT", "ETH")
    assert ctx.open_interest_usd == 235.25 and ctx.open_interest == pytest.approx(235.25 / 3335.09)
    assert ctx.funding_rate == pytest.approx(0.0057 / 100 * 8)  # 0.0057 % an hour
    assert (ctx.mark_price, ctx.index_price) == (3335.09, 3335.04)
    assert ctx.ts_event == TS  # this frame has no message timestamp


def test_lighter_live_update_without_open_interest_keeps_the_last_and_uses_its_timestamp() -> None:
    [ctx] = lighter.parse(frame("lighter/market_stats_sol_live.json"), TS)
    assert (ctx.symbol, ctx.mark_price, ctx.index_price) == ("SOLUSDT", 75.499, 75.533)
    assert math.isnan(ctx.open_interest) and ctx.ts_event == 1786770759200 * 1_000_000
    oi_only = orjson.dumps({"channel": "market_stats:2", "market_stats": {"market_id": 2, "open_interest": "7549.9"},
                            "type": "update/market_stats"})
    [usd] = lighter.parse(oi_only, TS + 1)  # USD and no mark: the coins come from the last mark
    merged = merge(ctx, usd)
    assert merged.open_interest == pytest.approx(100.0) and merged.open_interest_usd == 7549.9


def test_lighter_all_markets_shape_and_quiet_updates() -> None:
    text = orjson.dumps({"channel": "market_stats:all", "type": "update/market_stats", "market_stats": {
        "0": {"market_id": 0, "mark_price": "3000"}, "1": {"market_id": 1, "daily_base_token_volume": 5.0}}})
    [eth] = lighter.parse(text, TS)  # market 1 changed only its volume: no event
    assert (eth.symbol, eth.mark_price) == ("ETHUSDT", 3000.0)
    with pytest.raises(BadFrame):
        lighter.parse(text.replace(b'"market_id":0', b'"market_id":99999'), TS)


def test_lighter_subscribes_market_stats_of_tracked_markets() -> None:
    channels = [orjson.loads(m)["channel"] for m in lighter.subscribe_messages(("ETHUSDT",), "BTCUSDT")]
    assert channels == ["trade/1", "trade/0", "market_stats/0"]


def test_bitget_recorded_ticker_gives_holding_amount_in_coins_funding_mark_index() -> None:
    [ctx] = bitget.parse(frame("bitget/ticker_birbusdt_recorded.json"), TS)
    assert (ctx.exchange, ctx.symbol, ctx.native_symbol) == ("bitget", "BIRBUSDT", "BIRBUSDT")
    assert ctx.open_interest == 23439001.0 and math.isnan(ctx.open_interest_usd)  # the merge values it
    assert ctx.funding_rate == pytest.approx(-0.006439)
    assert (ctx.mark_price, ctx.index_price) == (0.07628, pytest.approx(0.0774530536255575))
    assert ctx.ts_event == 1783066672529 * 1_000_000
    assert merge(None, ctx).open_interest_usd == pytest.approx(23439001 * 0.07628)


def test_bitget_subscribes_tickers_of_tracked_contracts_beside_the_liquidations() -> None:
    [msg] = bitget.subscribe_messages(("BTCUSDT", "ETHUSDT"), "BTCUSDT")
    args = orjson.loads(msg)["args"]
    assert [a["instId"] for a in args if a["channel"] == "ticker"] == ["BTCUSDT", "ETHUSDT"]
    assert args[0] == {"instType": "USDT-FUTURES", "channel": "liquidation", "instId": "default"}
