"""What every venue's market-context parser shares: optional-field reading and the one MarketContext constructor.

A venue adds its context with one parser function that reads its frame into `market_context(...)`; fields
the frame does not carry are NaN, and the runner's merge (`ingest.context_merge`) keeps the last values, so
partial frames (Bybit deltas, OKX's one-field-per-channel pushes, Binance's REST-polled open interest) need
no state in the parser.
"""
from __future__ import annotations

import math

from common.schema import FUNDING_RANGE, OI_RANGE, OI_USD_RANGE, PRICE_RANGE, MarketContext
from ingest.exchanges.base import BadFrame, number

NAN = math.nan
FUNDING_8H = 8.0  # hours in the common funding basis (Binance, Bybit, OKX majors settle every 8 h)

# Symbols a venue's context is subscribed for when no symbols are configured: context is per symbol on
# every venue but Binance, and "every perpetual" would be hundreds of subscriptions for symbols that rarely
# cascade. Canonical names; each venue maps them to its own.
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "ADAUSDT", "AVAXUSDT",
                   "LINKUSDT", "SUIUSDT", "LTCUSDT", "HYPEUSDT")


def optional(value: object, name: str) -> float:
    """A field that may be absent or empty ("" for a delivery contract's funding): NaN, else a finite number."""
    if value is None or value == "":
        return NAN
    return number(value, name)


def _check(name: str, x: float, bounds: tuple[float, float]) -> None:
    if x == x and not bounds[0] <= x <= bounds[1]:  # NaN (not sent) passes
        raise BadFrame(f"{name} {x:.6g} outside the sanity range {bounds[0]:g}..{bounds[1]:g}")


def market_context(exchange: str, symbol: str, native: str, *, oi: float = NAN, oi_usd: float = NAN,
                   funding: float = NAN, mark: float = NAN, index: float = NAN, ts_event: int,
                   ts_recv: int) -> MarketContext:
    """The one MarketContext constructor for parsers: each sent field range-checked, NaN for the others.

    `oi` in coins (per-coin units already), `funding` on the 8 h basis, prices per coin.
    """
    _check("open_interest", oi, OI_RANGE)
    _check("open_interest_usd", oi_usd, OI_USD_RANGE)
    _check("funding_rate", funding, FUNDING_RANGE)
    _check("mark_price", mark, PRICE_RANGE)
    _check("index_price", index, PRICE_RANGE)
    if not any(x == x for x in (oi, oi_usd, funding, mark, index)):
        raise BadFrame(f"{native}: a context update with no field")
    return MarketContext(exchange, symbol, native, oi, oi_usd, funding, mark, index, ts_event, ts_recv)
