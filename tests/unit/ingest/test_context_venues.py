"""Market context of the venues added after the first four, on documented frames (tests/data/CONTEXT_SOURCES.md)."""
from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from common.schema import MarketContext
from ingest.exchanges import deribit
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
