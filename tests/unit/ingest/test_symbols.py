"""Venue symbol names -> canonical base+USDT and per-coin multiplier."""
from __future__ import annotations

import pytest

from ingest.symbols import UnknownSymbol, from_concatenated, from_hyperliquid, from_okx


@pytest.mark.parametrize(("native", "expected"), [
    ("BTC-USDT-SWAP", ("BTCUSDT", 1.0)),
    ("BTC-USD-SWAP", ("BTCUSDT", 1.0)),
    ("ETH-USDC-SWAP", ("ETHUSDT", 1.0)),
    ("IOST-USDT-SWAP", ("IOSTUSDT", 1.0)),
    ("1INCH-USDT-SWAP", ("1INCHUSDT", 1.0)),
])
def test_okx_perpetuals_map_to_base_usdt(native: str, expected: tuple[str, float]) -> None:
    assert from_okx(native) == expected


@pytest.mark.parametrize("native", ["BTC-USDT", "XRP-USD-230929", "BTC-USD-260925-60000-C", "BTC-EUR-SWAP",
                                    ""])
def test_okx_non_perpetuals_are_unknown(native: str) -> None:
    with pytest.raises(UnknownSymbol):
        from_okx(native)


@pytest.mark.parametrize(("coin", "expected"), [
    ("BTC", ("BTCUSDT", 1.0)),
    ("WLFI", ("WLFIUSDT", 1.0)),
    ("kPEPE", ("PEPEUSDT", 1000.0)),
    ("kBONK", ("BONKUSDT", 1000.0)),
])
def test_hyperliquid_perps_map_to_base_usdt(coin: str, expected: tuple[str, float]) -> None:
    assert from_hyperliquid(coin) == expected


@pytest.mark.parametrize("coin", ["xyz:CRWV", "@107", "@142", "PURR/USDC", ""])
def test_hyperliquid_hip3_and_spot_are_unknown(coin: str) -> None:
    with pytest.raises(UnknownSymbol):
        from_hyperliquid(coin)


def test_scaled_bybit_contract_keeps_longest_multiplier() -> None:
    assert from_concatenated("1000000MOGUSDT") == ("MOGUSDT", 1_000_000.0)
    assert from_concatenated("1000PEPEUSDT") == ("PEPEUSDT", 1000.0)
