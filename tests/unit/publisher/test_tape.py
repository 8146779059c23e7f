"""The tape's one-line form and its Redis stream entry, both ways."""
from __future__ import annotations

import pytest

from common.schema import Liquidation
from publisher.redis_sink.contract import liquidation_fields
from publisher.tape import base_asset, from_fields, headline, price_text, usd


def test_headline_reads_like_the_tape_traders_know():
    liq = Liquidation("binance", "BTCUSDT", "BTCUSDT", "long", 97_300.0, 12.3, 1_196_790.0, 1, 2, True)
    assert headline(liq) == "#BTC Long Liquidated $1.2M @ 97,300 on Binance"
    short = Liquidation("okx", "ETHUSDT", "ETH-USDT-SWAP", "short", 3012.5, 10.0, 30_125.0, 1, 2)
    assert headline(short) == "#ETH Short Liquidated $30k @ 3,012.5 on OKX"


@pytest.mark.parametrize(("x", "text"), [(800, "$800"), (1234, "$1.2k"), (950_000, "$950k"), (1.2e6, "$1.2M"),
                                         (12.34e6, "$12.3M"), (1.25e9, "$1.25B")])
def test_usd_is_short(x, text):
    assert usd(x) == text


@pytest.mark.parametrize(("p", "text"), [(97_300.0, "97,300"), (150.25, "150.25"), (0.00001234, "0.00001234"),
                                         (0.5123, "0.5123"), (0.0, "?")])
def test_price_text(p, text):
    assert price_text(p) == text


def test_base_asset_strips_the_quote():
    assert [base_asset(s) for s in ("BTCUSDT", "ETHUSDC", "BTCUSD", "MARKET", "USDT")] == [
        "BTC", "ETH", "BTC", "MARKET", "USDT"]


def test_stream_entry_round_trips_every_schema_field():
    liq = Liquidation("bybit", "PEPEUSDT", "1000PEPEUSDT", "short", 1.234e-05, 1e9, 12_340.0, 10**18, 10**18 + 5, True,
                      "throttled")
    fields = {k.encode(): str(v).encode() for k, v in liquidation_fields(liq).items()}  # as Redis returns them
    assert from_fields(fields) == liq
