"""Market context parsers on real or verbatim frames (tests/data/CONTEXT_SOURCES.md): units, symbols, times."""
from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from common.schema import MarketContext
from common.wire import decode, encode
from ingest.context_merge import Coalescer, merge
from ingest.exchanges import binance, bybit, hyperliquid, okx
from ingest.exchanges.base import BadFrame

DATA = Path(__file__).parents[2] / "data"
TS = 1_760_325_060_000_000_000
NS = 1_000_000_000


def frame(name: str) -> str:
    return (DATA / name).read_text()


def nan(x: float) -> bool:
    return math.isnan(x)


def test_bybit_ticker_snapshot_gives_every_field_in_coins_and_usd() -> None:
    [ctx] = bybit.parse(frame("bybit/tickers_btc_snapshot.json"), TS)
    assert isinstance(ctx, MarketContext)
    assert (ctx.exchange, ctx.symbol, ctx.native_symbol) == ("bybit", "BTCUSDT", "BTCUSDT")
    assert ctx.open_interest == pytest.approx(492373.72)
    assert ctx.open_interest_usd == pytest.approx(32824881841.75)
    assert ctx.funding_rate == pytest.approx(-0.005)
    assert (ctx.mark_price, ctx.index_price) == (pytest.approx(66666.6), pytest.approx(115418.19))
    assert ctx.ts_event == 1760325052630 * 1_000_000 and ctx.ts_recv == TS


def test_bybit_delta_without_context_fields_is_a_bad_frame_not_a_zero() -> None:
    with pytest.raises(BadFrame):  # a delta of last price and book only: nothing the context carries
        bybit.parse(frame("bybit/tickers_btc_delta_price.json"), TS)


def test_bybit_delta_merges_onto_the_snapshot_keeping_unchanged_fields() -> None:
    [snap] = bybit.parse(frame("bybit/tickers_btc_snapshot.json"), TS)
    [delta] = bybit.parse(frame("bybit/tickers_btc_delta_oi.json"), TS + NS)
    assert nan(delta.funding_rate) and nan(delta.index_price)  # not in the delta: not sent, not zero
    merged = merge(snap, delta)
    assert merged.open_interest == pytest.approx(491000.5)
    assert merged.open_interest_usd == pytest.approx(32700083300.05)  # the venue's own value is kept
    assert merged.funding_rate == pytest.approx(-0.005) and merged.index_price == pytest.approx(115418.19)
    assert merged.mark_price == pytest.approx(66600.1)
    assert merged.ts_event == 1760325053630 * 1_000_000 and merged.ts_recv == TS + NS


def test_bybit_scaled_contract_ticker_is_in_per_coin_units() -> None:
    text = orjson.dumps({"topic": "tickers.1000PEPEUSDT", "type": "snapshot", "ts": 1760325052630,
                         "data": {"symbol": "1000PEPEUSDT", "markPrice": "0.0105", "indexPrice": "0.0104",
                                  "openInterest": "2000000", "fundingRate": "0.0001"}}).decode()
    [ctx] = bybit.parse(text, TS)
    assert ctx.symbol == "PEPEUSDT" and ctx.native_symbol == "1000PEPEUSDT"
    assert ctx.open_interest == pytest.approx(2e9) and ctx.mark_price == pytest.approx(1.05e-5)


def test_bybit_subscribes_tickers_per_tracked_symbol() -> None:
    topics = bybit.topics(("BTCUSDT", "PEPEUSDT"), "BTCUSDT")
    assert "tickers.BTCUSDT" in topics and "tickers.1000PEPEUSDT" in topics


def test_binance_mark_price_array_gives_mark_index_funding_per_symbol() -> None:
    btc, pepe = binance.parse(frame("binance/mark_price_arr_combined.json"), TS)
    assert (btc.symbol, btc.mark_price, btc.index_price) == ("BTCUSDT", pytest.approx(11185.87786614),
                                                              pytest.approx(11784.62659091))
    assert btc.funding_rate == pytest.approx(0.0003) and nan(btc.open_interest)  # OI comes over REST
    assert btc.ts_event == 1562305380000 * 1_000_000
    assert pepe.symbol == "PEPEUSDT" and pepe.mark_price == pytest.approx(1.052e-5)
    assert "!markPrice@arr@1s" in binance.url("wss://x/market", ("BTCUSDT",), "BTCUSDT")


def test_binance_rest_open_interest_in_coins_then_usd_from_the_streamed_mark() -> None:
    oi = binance.parse_open_interest(frame("binance/open_interest_rest.json"), TS)
    assert (oi.symbol, oi.open_interest) == ("BTCUSDT", pytest.approx(10659.509))
    assert nan(oi.mark_price) and oi.ts_event == 1589437530011 * 1_000_000
    [mark, _] = binance.parse(frame("binance/mark_price_arr_combined.json"), TS)
    merged = merge(mark, oi)
    assert merged.open_interest_usd == pytest.approx(10659.509 * 11185.87786614)
    with pytest.raises(BadFrame):
        binance.parse_open_interest('{"code":-1121,"msg":"Invalid symbol."}', TS)


def test_okx_four_channels_assemble_one_context() -> None:
    oi_ltc = okx.parse(frame("okx/open_interest_ltc.json"), TS)[0]
    assert (oi_ltc.symbol, oi_ltc.open_interest) == ("LTCUSDT", pytest.approx(555.55))  # oiCcy: coins
    funding = okx.parse(frame("okx/funding_rate_btc_usd.json"), TS)[0]
    assert funding.symbol == "BTCUSDT" and funding.funding_rate == pytest.approx(0.0001875391284828)
    mark = okx.parse(frame("okx/mark_price_btc.json"), TS)[0]
    assert mark.mark_price == 110562.0 and mark.ts_event == 1762079224447 * 1_000_000
    index = okx.parse(frame("okx/index_tickers_btc.json"), TS)[0]
    assert (index.symbol, index.native_symbol, index.index_price) == ("BTCUSDT", "BTC-USDT", 0.1)
    state = None
    for part in (funding, mark, index):
        state = merge(state, part)
    assert state.funding_rate == pytest.approx(0.0001875391284828) and state.mark_price == 110562.0
    assert state.index_price == 0.1 and nan(state.open_interest) and nan(state.open_interest_usd)


def test_okx_subscribes_context_channels_for_tracked_swaps() -> None:
    msgs = [orjson.loads(m) for m in okx.subscribe_messages(("BTCUSDT",), "BTCUSDT")]
    args = [a for m in msgs for a in m["args"]]
    assert {"channel": "open-interest", "instId": "BTC-USDT-SWAP"} in args
    assert {"channel": "index-tickers", "instId": "BTC-USDT"} in args


def test_hyperliquid_active_asset_ctx_hourly_funding_is_put_on_the_8h_basis() -> None:
    [(key, ctx)] = hyperliquid.parse_keyed(frame("hyperliquid/active_asset_ctx_btc.json"), TS)
    assert key is None and ctx.symbol == "BTCUSDT" and ctx.native_symbol == "BTC"
    assert ctx.open_interest == pytest.approx(32227.66018)
    assert ctx.open_interest_usd == pytest.approx(32227.66018 * 64405.0)
    assert ctx.funding_rate == pytest.approx(0.0000125 * 8)
    assert (ctx.mark_price, ctx.index_price) == (64405.0, 64429.0)
    assert ctx.ts_event == TS  # the frame has no time
    subs = [orjson.loads(m)["subscription"] for m in hyperliquid.subscribe_messages(("PEPEUSDT",), "BTCUSDT", [])]
    assert {"type": "activeAssetCtx", "coin": "kPEPE"} in subs


@pytest.mark.parametrize("text", [
    '{"channel":"activeAssetCtx","data":{"coin":"BTC"}}',
    '{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"markPx":"-1","openInterest":"1"}}}',
    '{"topic":"tickers.BTCUSDT","type":"snapshot","ts":1,"data":{"symbol":"BTCUSDT","fundingRate":"7"}}',
])
def test_context_frames_out_of_range_or_incomplete_are_bad(text: str) -> None:
    parse = hyperliquid.parse if "channel" in text else bybit.parse
    with pytest.raises(BadFrame):
        parse(text, TS)


def test_context_crosses_the_wire_with_nan_for_fields_not_sent() -> None:
    [ctx] = okx.parse(frame("okx/mark_price_btc.json"), TS)
    _, _, _, [back] = decode(encode(b"ctx.okx.BTCUSDT", "t", 1, [ctx]))
    assert back.mark_price == 110562.0 and nan(back.open_interest) and nan(back.funding_rate)
    rejected: list[str] = []
    bad = ctx._replace(mark_price=math.inf)
    assert decode(encode(b"ctx.okx.BTCUSDT", "t", 1, [bad]), rejected)[3] == [] and rejected


def test_coalescer_forwards_each_symbol_at_most_once_per_interval_with_the_latest_state() -> None:
    c = Coalescer(every_s=1.0)
    [snap] = bybit.parse(frame("bybit/tickers_btc_snapshot.json"), TS)
    c.update(snap)
    assert [x.open_interest for x in c.due(TS)] == [pytest.approx(492373.72)]
    [delta] = bybit.parse(frame("bybit/tickers_btc_delta_oi.json"), TS + NS // 10)
    c.update(delta)
    assert c.due(TS + NS // 2) == [] and c.pending  # within the second: held
    [out] = c.due(TS + NS)
    assert out.open_interest == pytest.approx(491000.5) and out.funding_rate == pytest.approx(-0.005)
    assert c.due(TS + 3 * NS) == [] and not c.pending  # nothing changed: nothing sent
