"""Market context per symbol: open-interest change over 1 and 5 min, funding and basis; the OI confirmation.

Pure and clock-injected: `ContextBook.update(ctx)` with each venue's MarketContext, `read(symbol, now_ns)`.

* Open-interest change is measured in coins, valued at the venue's current mark: a cascade's signature is
  positions closing, and in USD a 3 % price fall alone would read as a 3 % OI fall with no position closed.
  Per venue, Δcoins = coins now - coins at the newest sample at or before now - W (W = 60 s, 300 s); a venue
  with less history uses its oldest sample if that covers at least half of W (a fresh start reads a
  cascade's first minutes), else it sits that window out; change_W_usd = Σ_venues Δcoins × mark,
  change_5m_frac = Σ Δcoins × mark / Σ coins_then × mark (venues in both sums alike). A venue whose last
  context is older than `STALE_S` counts in nothing.
* funding (8 h basis) and basis = (mark - index) / index: averages over the fresh venues that report them,
  weighted by each venue's open interest in USD (1 when a venue has no OI yet).

The OI confirmation (`confirm`): with the OI drop d = max(-frac_1m, -frac_5m, 0) (fractions of OI),
score s = 1 - exp(-d / OI_DROP_SCALE) (0.63 at a 2 % drop, 0.86 at 4 %), scaled by the flow's activity
a = min(1, velocity ratio) so that with no liquidation flow it adds nothing:
    risk' = risk + w·s·a·(1 - risk),   confidence' = confidence + (w/2)·s·a·(1 - confidence)
(w = `analytics.oi_weight`, hand-set). It only moves a probability the flow earned: the dollar gates
(analytics/gates.py) are computed from the flow alone and cap the level in signals, so OI falling beside
flow below the ALERT gate cannot make an ALERT. OI rising with liquidations (positions opened into the
move) is not penalized: the flow already carries the evidence.
"""
from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

from common.schema import MarketContext

NS = 1_000_000_000
WINDOWS_S = (60, 300)
KEEP_NS = 330 * NS  # history per venue: the 5 min window and its margin
SAMPLE_NS = NS  # at most one OI sample per venue per second (contexts arrive ~1/s anyway)
STALE_S = 30.0  # a venue's context older than this counts in nothing
OI_DROP_SCALE = 0.02  # fraction of OI: a 2 % drop scores 0.63 (hand-set; real cascades shed 2-10 % in minutes)


class ContextReading(NamedTuple):
    """One symbol's context at `now`; None where no fresh venue reports it."""

    oi_usd: float | None
    change_1m_usd: float | None
    change_5m_usd: float | None
    frac_1m: float | None
    frac_5m: float | None
    funding: float | None
    basis: float | None
    venues: int  # fresh venues with any context
    oi_by_venue: dict[str, float]  # USD, fresh venues reporting OI


class _Venue:
    __slots__ = ("last", "samples")

    def __init__(self) -> None:
        self.last: MarketContext | None = None
        self.samples: deque[tuple[int, float]] = deque()  # (ts_recv ns, coins)


class ContextBook:
    """The latest merged context and an OI history per (symbol, venue)."""

    def __init__(self) -> None:
        self.symbols: dict[str, dict[str, _Venue]] = {}

    def update(self, ctx: MarketContext) -> None:
        v = self.symbols.setdefault(ctx.symbol, {}).get(ctx.exchange)
        if v is None:
            v = self.symbols[ctx.symbol][ctx.exchange] = _Venue()
        if v.last is not None and ctx.ts_recv < v.last.ts_recv:
            return  # an older context (reordered delivery) never replaces a newer one
        v.last = ctx
        oi, t = ctx.open_interest, ctx.ts_recv
        if oi == oi:
            s = v.samples
            if s and t - s[-1][0] < SAMPLE_NS:
                s[-1] = (s[-1][0], oi)  # within the second: the newest value stands for it
            else:
                s.append((t, oi))
            while s and s[0][0] < t - KEEP_NS:
                s.popleft()

    def read(self, symbol: str, now_ns: int) -> ContextReading | None:
        venues = self.symbols.get(symbol)
        if not venues:
            return None
        fresh = {name: v for name, v in venues.items()
                 if v.last is not None and now_ns - v.last.ts_recv <= STALE_S * NS}
        if not fresh:
            return None
        oi_by_venue = {n: v.last.open_interest * v.last.mark_price for n, v in fresh.items()
                       if v.last.open_interest == v.last.open_interest and v.last.mark_price == v.last.mark_price}
        changes = [_change(fresh, now_ns, w * NS) for w in WINDOWS_S]
        weights = {n: oi_by_venue.get(n, 1.0) for n in fresh}
        funding = _weighted({n: v.last.funding_rate for n, v in fresh.items()}, weights)
        basis = _weighted({n: (v.last.mark_price - v.last.index_price) / v.last.index_price
                           for n, v in fresh.items()}, weights)
        (c1, f1), (c5, f5) = changes
        return ContextReading(sum(oi_by_venue.values()) if oi_by_venue else None, c1, c5, f1, f5, funding, basis,
                              len(fresh), oi_by_venue)

    def expire(self, now_ns: int) -> None:
        """Forget venues (and symbols) without a context for the kept history."""
        for symbol in list(self.symbols):
            venues = self.symbols[symbol]
            for name in [n for n, v in venues.items() if v.last is None or now_ns - v.last.ts_recv > KEEP_NS]:
                del venues[name]
            if not venues:
                del self.symbols[symbol]


def _change(fresh: dict[str, _Venue], now_ns: int, w_ns: int) -> tuple[float | None, float | None]:
    """(Σ Δcoins × mark, that / Σ coins_then × mark) over the venues with a sample at or before now - w."""
    delta = base = 0.0
    n = 0
    for v in fresh.values():
        mark = v.last.mark_price
        if not v.samples or mark != mark:
            continue
        then = None
        for t, coins in v.samples:  # oldest first; at most ~330 samples
            if t > now_ns - w_ns:
                break
            then = coins
        if then is None and now_ns - v.samples[0][0] >= w_ns // 2:
            then = v.samples[0][1]  # half the window or more: the change so far
        if then is None:
            continue
        now_coins = v.samples[-1][1]
        delta += (now_coins - then) * mark
        base += then * mark
        n += 1
    if n == 0:
        return None, None
    return delta, (delta / base if base > 0.0 else None)


def _weighted(values: dict[str, float], weights: dict[str, float]) -> float | None:
    pairs = [(x, weights[n]) for n, x in values.items() if x == x and math.isfinite(x)]
    total = sum(w for _, w in pairs)
    return sum(x * w for x, w in pairs) / total if total > 0.0 else None


def oi_score(reading: ContextReading | None) -> float:
    """0..1 from the open-interest drop over 1 or 5 min (see the module docstring)."""
    if reading is None:
        return 0.0
    drop = max(-(reading.frac_1m or 0.0), -(reading.frac_5m or 0.0), 0.0)
    return 1.0 - math.exp(-drop / OI_DROP_SCALE) if drop > 0.0 else 0.0


def confirm(risk: float, confidence: float, reading: ContextReading | None, activity: float,
            weight: float) -> tuple[float, float, float]:
    """(risk', confidence', score): the OI confirmation applied (module docstring); identity without
    flow (activity 0), without context, or with OI not falling."""
    s = oi_score(reading) * min(max(activity, 0.0), 1.0)
    if s <= 0.0 or weight <= 0.0:
        return risk, confidence, 0.0
    return (min(risk + weight * s * (1.0 - risk), 1.0), min(confidence + 0.5 * weight * s * (1.0 - confidence), 1.0),
            s)


def oi_phrase(reading: ContextReading | None) -> str:
    """'OI −3.1% in 5 min, funding -0.012 %, basis -0.21 %' for the sentence; '' without context."""
    if reading is None:
        return ""
    parts = []
    for frac, label in ((reading.frac_5m, "5 min"), (reading.frac_1m, "1 min")):
        if frac is not None:
            move = "flat" if abs(frac) < 0.0005 else f"{'−' if frac < 0 else '+'}{abs(frac) * 100:.1f}%"
            parts.append(f"OI {move} in {label}")
            break
    if reading.funding is not None:
        parts.append(f"funding {reading.funding * 100:+.3f}%/8h")
    if reading.basis is not None:
        parts.append(f"basis {reading.basis * 100:+.2f}%")
    return ", ".join(parts)


_NO_CONTEXT = (None,) * 6


def snapshot_values(reading: ContextReading | None) -> tuple[float | None, ...]:
    """The MetricsSnapshot context fields in declaration order (oi_usd, oi_change_1m_usd, oi_change_5m_usd,
    oi_change_5m_frac, funding, basis): None where no venue reports the context."""
    r = reading
    if r is None:
        return _NO_CONTEXT
    return r.oi_usd, r.change_1m_usd, r.change_5m_usd, r.frac_5m, r.funding, r.basis
