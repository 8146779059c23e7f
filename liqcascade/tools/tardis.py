"""Tardis.dev liquidation CSV rows -> normalized `Liquidation`s, with each venue's units made right.

Columns: `exchange,symbol,timestamp,local_timestamp,id,side,price,amount`; times in microseconds since the
epoch (UTC); `side` is the liquidation order's side, so `buy` closes a short (a short was liquidated) and
`sell` a long; `amount` is in the venue's own units:

| Tardis exchange    | symbols                          | amount means                          | USD           |
|--------------------|----------------------------------|---------------------------------------|---------------|
| binance-futures    | BTCUSDT, 1000PEPEUSDT (USD-M)    | coins (x1000 for 1000PEPE)            | amount*price  |
| binance-delivery   | BTCUSD_PERP, ETHUSD_PERP (COIN-M)| contracts of $100 (BTC) / $10 (others)| amount*size   |
| bybit              | BTCUSDT (linear) / BTCUSD (inv.) | coins / USD (inverse contracts are $1)| either        |
| okex-swap          | BTC-USDT-SWAP / BTC-USD-SWAP     | contracts: x ctVal coins / x ctVal USD| either        |
| bitmex             | XBTUSD (inverse) / XBTUSDT       | contracts of $1 / of 0.000001 XBT     | either        |
| deribit            | BTC-PERPETUAL / BTC_USDC-PERP.   | USD (inverse) / coins (USDC linear)   | either        |

Anything else (dated futures, options, quanto contracts, an OKX swap without a known ctVal) is an
UnknownSymbol: the import refuses to guess a contract size.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from common.schema import LONG, SHORT, Liquidation
from ingest.okx_instruments import Table
from ingest.symbols import UnknownSymbol, canonical, from_concatenated, from_okx

COLUMNS = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")
SIDES = {"buy": SHORT, "sell": LONG}  # the liquidation order buys back a short / sells out a long
COINM_BTC_USD = 100.0  # Binance COIN-M contract size, USD
COINM_OTHER_USD = 10.0
BITMEX_LINEAR_COIN = 0.000001  # XBTUSDT: 1 contract = 0.000001 XBT (1 / underlyingToPositionMultiplier)


class BadRow(ValueError):
    """A row that is not a Tardis liquidation row (columns, numbers, side)."""


# (canonical symbol, qty in coins, USD notional) from (native symbol, price, amount)
Converter = Callable[[str, float, float], tuple[str, float, float]]


def _coin_amount(native: str, price: float, amount: float) -> tuple[str, float, float]:
    symbol, mult = from_concatenated(native)
    return symbol, amount * mult, amount * price


def _usd_amount(symbol: str, price: float, usd: float) -> tuple[str, float, float]:
    return symbol, usd / price, usd


def binance_delivery(native: str, price: float, amount: float) -> tuple[str, float, float]:
    base, _, kind = native.partition("USD_")
    if kind != "PERP" or not base:
        raise UnknownSymbol(native)
    symbol, _ = canonical(base)
    return _usd_amount(symbol, price, amount * (COINM_BTC_USD if base == "BTC" else COINM_OTHER_USD))


def bybit(native: str, price: float, amount: float) -> tuple[str, float, float]:
    if native.endswith(("USDT", "USDC")):
        return _coin_amount(native, price, amount)
    if native.endswith("USD") and len(native) > 3:
        return _usd_amount(canonical(native[:-3])[0], price, amount)
    raise UnknownSymbol(native)


def okex_swap(table: Table) -> Converter:
    def convert(native: str, price: float, amount: float) -> tuple[str, float, float]:
        symbol, mult = from_okx(native)
        spec = table.get(native)
        if spec is None:
            raise UnknownSymbol(f"{native} (no ctVal known for it: the bundled table covers "
                               f"{', '.join(sorted(table))})")
        if spec.ct_type == "inverse":
            return _usd_amount(symbol, price, amount * spec.ct_val)
        qty = amount * spec.ct_val * mult
        return symbol, qty, amount * spec.ct_val * price
    return convert


def bitmex(native: str, price: float, amount: float) -> tuple[str, float, float]:
    if native == "XBTUSD":
        return _usd_amount("BTCUSDT", price, amount)
    if native == "XBTUSDT":
        qty = amount * BITMEX_LINEAR_COIN
        return "BTCUSDT", qty, qty * price
    raise UnknownSymbol(f"{native} (bitmex: only XBTUSD and XBTUSDT have known contract sizes here)")


def deribit(native: str, price: float, amount: float) -> tuple[str, float, float]:
    if native.endswith("_USDC-PERPETUAL"):
        symbol, _ = canonical(native[: -len("_USDC-PERPETUAL")])
        return symbol, amount, amount * price
    if native.endswith("-PERPETUAL"):
        return _usd_amount(canonical(native[: -len("-PERPETUAL")])[0], price, amount)
    raise UnknownSymbol(native)


@dataclass(frozen=True)
class Venue:
    name: str  # the exchange name in the store (the live ingesters' names where they exist)
    convert: Converter
    throttled: bool  # the venue's feed publishes at most one liquidation per symbol per second


def venues(okx_table: Table) -> dict[str, Venue]:
    """Tardis exchange id -> how to read its rows."""
    return {
        "binance-futures": Venue("binance", _coin_amount, True),
        "binance-delivery": Venue("binance", binance_delivery, True),
        "bybit": Venue("bybit", bybit, False),
        "okex-swap": Venue("okx", okex_swap(okx_table), True),
        "bitmex": Venue("bitmex", bitmex, False),
        "deribit": Venue("deribit", deribit, False),
    }


def to_liquidation(row: list[str], table: dict[str, Venue]) -> Liquidation:
    """One CSV row (COLUMNS order) -> Liquidation. Raises BadRow, or UnknownSymbol (also for an unknown
    exchange)."""
    if len(row) != len(COLUMNS):
        raise BadRow(f"expected {len(COLUMNS)} columns, got {len(row)}")
    exchange, native, ts, local_ts, _id, side, price_s, amount_s = row
    venue = table.get(exchange)
    if venue is None:
        raise UnknownSymbol(f"exchange {exchange!r} (supported: {', '.join(table)})")
    try:
        price, amount = float(price_s), float(amount_s)
        ts_ns, recv_ns = int(ts) * 1000, int(local_ts or ts) * 1000
    except ValueError:
        raise BadRow(f"bad number in {row!r}") from None
    if not (price > 0 and amount > 0) or price == float("inf") or amount == float("inf"):
        raise BadRow(f"price and amount must be positive: {price_s!r}, {amount_s!r}")
    pos_side = SIDES.get(side)
    if pos_side is None:
        raise BadRow(f"bad side {side!r} (buy or sell)")
    symbol, qty, usd = venue.convert(native, price, amount)
    return Liquidation(venue.name, symbol, native, pos_side, usd / qty, qty, usd, ts_ns, recv_ns, venue.throttled,
                       "throttled" if venue.throttled else "complete")
