"""Per-symbol market context: partial updates merged into the last full picture, forwarded once a second.

Venues send context in pieces: a Bybit `tickers` delta carries only the fields that changed, OKX pushes
open interest, funding, mark and index on four channels, Binance's open interest comes from a REST poll
beside its mark-price stream. Parsers stay pure and emit each piece with NaN for what it lacks; `merge`
keeps the last value of every field, and `Coalescer` forwards each (venue, symbol) at most once per
`every_s`. Why coalesce: Bybit pushes tickers every 100 ms per symbol and Binance 600 symbols every second,
while open interest moves on a scale of seconds to minutes and analytics reads it over 1 and 5 minutes;
forwarding each delta would multiply the ingest -> analytics traffic for nothing the analytics can use.
Pure and clock-injected (receive times), like the analytics state.
"""
from __future__ import annotations

import math

from common.schema import MarketContext

NS = 1_000_000_000


def merge(prev: MarketContext | None, new: MarketContext) -> MarketContext:
    """`new` with each NaN field taken from `prev`. When the update brings open interest or mark but no USD
    value (OKX, Binance's REST poll, a Bybit delta of the mark alone), open interest in USD is coins x mark:
    what Bybit's own `openInterestValue` is, so venues that send it and venues that do not agree. When it
    brings USD but no coins (a venue quoting open interest in USD, without the mark in that update), the
    coins are USD / the last mark."""
    if prev is None:
        merged = new
    else:
        merged = MarketContext(
            new.exchange, new.symbol, new.native_symbol,
            *(n if n == n else p for n, p in zip(new[3:8], prev[3:8], strict=True)),
            max(new.ts_event, prev.ts_event), max(new.ts_recv, prev.ts_recv))
    oi, mark = merged.open_interest, merged.mark_price
    if math.isnan(new.open_interest) and not math.isnan(new.open_interest_usd) and mark == mark:
        # USD without coins (Lighter's open interest when the update has no mark): the coins at the last mark
        return merged._replace(open_interest=new.open_interest_usd / mark)
    brings = not math.isnan(new.open_interest) or not math.isnan(new.mark_price)
    if math.isnan(new.open_interest_usd) and brings and oi == oi and mark == mark:
        merged = merged._replace(open_interest_usd=oi * mark)
    return merged


class Coalescer:
    """The merged context of each (venue, symbol), handed out at most once per `every_s` when it changed."""

    def __init__(self, every_s: float = 1.0) -> None:
        self.every_ns = int(every_s * NS)
        self.state: dict[tuple[str, str], MarketContext] = {}
        self._dirty: dict[tuple[str, str], None] = {}
        self._sent: dict[tuple[str, str], int] = {}
        self.updates = 0

    def update(self, ev: MarketContext) -> None:
        key = (ev.exchange, ev.symbol)
        self.state[key] = merge(self.state.get(key), ev)
        self._dirty[key] = None
        self.updates += 1

    @property
    def pending(self) -> bool:
        return bool(self._dirty)

    def due(self, now_ns: int) -> list[MarketContext]:
        """The changed contexts not forwarded within the last `every_s` (receive-time clock)."""
        out = []
        for key in list(self._dirty):
            if now_ns - self._sent.get(key, -(1 << 62)) >= self.every_ns:
                del self._dirty[key]
                self._sent[key] = now_ns
                out.append(self.state[key])
        return out
