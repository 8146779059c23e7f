"""Canonical symbols: base asset + "USDT", with scaled contracts (1000PEPE, kPEPE) in per-coin units."""
from __future__ import annotations

import re
from functools import lru_cache

CANONICAL_QUOTE = "USDT"
QUOTES = ("USDT", "USDC", "BUSD", "USD")

# Longest first, so 1000000MOG is not read as 1000 x "000MOG". `1M` is Binance's 1MBABYDOGE style,
# `k` Hyperliquid's kPEPE. A bare leading digit (1INCH) is part of the name, not a multiplier.
_MULTIPLIER = re.compile(r"^(1000000|100000|10000|1000|1M|k)(?=[A-Z])")
_MULTIPLIER_VALUE = {"1000000": 1_000_000.0, "100000": 100_000.0, "10000": 10_000.0, "1000": 1000.0,
                     "1M": 1_000_000.0, "k": 1000.0}
_BASE = re.compile(r"^[A-Z0-9]{1,20}$")


class UnknownSymbol(ValueError):
    """A native symbol that does not map to a canonical perpetual."""


def split_base(base: str) -> tuple[str, float]:
    """('1000PEPE') -> ('PEPE', 1000.0); ('BTC') -> ('BTC', 1.0)."""
    m = _MULTIPLIER.match(base)
    if m:
        return base[m.end():], _MULTIPLIER_VALUE[m.group(1)]
    return base, 1.0


def canonical(base: str) -> tuple[str, float]:
    """Canonical symbol and multiplier for a venue's base asset name."""
    coin, mult = split_base(base)
    if not _BASE.match(coin):
        raise UnknownSymbol(base)
    return coin + CANONICAL_QUOTE, mult


@lru_cache(maxsize=8192)  # a venue lists a few hundred perpetuals; this is on the per-event path
def from_concatenated(native: str) -> tuple[str, float]:
    """Binance/Bybit style `BTCUSDT`, `1000PEPEUSDT`, `BTCUSDC` -> canonical and multiplier.

    Dated futures (`BTCUSDT_260925`) and unknown quotes raise UnknownSymbol: they are not perpetuals.
    """
    for quote in QUOTES:
        if native.endswith(quote) and len(native) > len(quote):
            return canonical(native[: -len(quote)])
    raise UnknownSymbol(native)


@lru_cache(maxsize=8192)
def from_okx(inst_id: str) -> tuple[str, float]:
    """OKX perpetual `BTC-USDT-SWAP` / inverse `BTC-USD-SWAP` -> ('BTCUSDT', 1.0).

    Only perpetual swaps map: spot (`BTC-USDT`), dated futures (`BTC-USD-230929`) and options raise
    UnknownSymbol. Contract size (`ctVal`) is not a symbol multiplier; the OKX parser applies it.
    """
    parts = inst_id.split("-")
    if len(parts) != 3 or parts[2] != "SWAP" or parts[1] not in QUOTES:
        raise UnknownSymbol(inst_id)
    return canonical(parts[0])


@lru_cache(maxsize=8192)
def from_hyperliquid(coin: str) -> tuple[str, float]:
    """Hyperliquid perp coin `BTC` -> ('BTCUSDT', 1.0); `kPEPE` -> ('PEPEUSDT', 1000.0).

    HIP-3 builder perps (`xyz:CRWV`) and spot (`@107`, `PURR/USDC`) raise UnknownSymbol: they are not
    the venue's perpetual on a canonical asset.
    """
    if not coin or ":" in coin or "/" in coin or coin.startswith("@"):
        raise UnknownSymbol(coin)
    return canonical(coin)


@lru_cache(maxsize=8192)
def from_dash(ticker: str) -> tuple[str, float]:
    """dYdX-style perpetual ticker `BTC-USD` -> ('BTCUSDT', 1.0).

    USD-quoted perpetuals aggregate with the USDT ones (as OKX's inverse `BTC-USD-SWAP` does): one
    canonical symbol per coin. Anything but BASE-QUOTE with a known quote raises UnknownSymbol.
    """
    parts = ticker.split("-")
    if len(parts) != 2 or parts[1] not in QUOTES:
        raise UnknownSymbol(ticker)
    return canonical(parts[0])


def from_underscored(contract: str) -> tuple[str, float]:
    """Gate perpetual `BTC_USDT` -> ('BTCUSDT', 1.0). Dated futures (`BTC_USDT_20261225`) raise UnknownSymbol."""
    parts = contract.split("_")
    if len(parts) != 2 or parts[1] not in QUOTES:
        raise UnknownSymbol(contract)
    return canonical(parts[0])


@lru_cache(maxsize=8192)
def from_deribit(instrument: str) -> tuple[str, float]:
    """Deribit perpetuals: inverse `BTC-PERPETUAL`, linear `SOL_USDC-PERPETUAL` -> ('BTCUSDT', 1.0).

    Dated futures (`BTC-27DEC26`), options and spot raise UnknownSymbol: they are not perpetuals.
    """
    base, _, kind = instrument.partition("-")
    if kind != "PERPETUAL":
        raise UnknownSymbol(instrument)
    coin, _, quote = base.partition("_")
    if quote and quote not in QUOTES:
        raise UnknownSymbol(instrument)
    return canonical(coin)


@lru_cache(maxsize=8192)
def from_bitmex(symbol: str) -> tuple[str, float]:
    """BitMEX `XBTUSD`, `XBTUSDT`, `SOLUSDT` -> canonical; BitMEX calls bitcoin XBT."""
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            base = symbol[: -len(quote)]
            return canonical("BTC" if base == "XBT" else base)
    raise UnknownSymbol(symbol)
