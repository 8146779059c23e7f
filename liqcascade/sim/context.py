"""Market context for simulated flows: open interest that falls as a cascade liquidates, funding and basis.

`with_context(timeline)` passes a timeline through and adds, every `every_s` of its clock, one SimContext per
symbol it has seen. The model (hand-set, to be plausible, not fitted):

* open interest (coins) starts at `OI_USD` / price and loses `OI_PER_LIQUIDATED` x each liquidation's qty:
  a liquidation closes its position, and a cascade also makes the other side and the spooked close
  theirs (real cascades shed several times the liquidated notional in OI: 10 Oct 2025, ~$19B liquidated,
  OI down ~$30B+). Between cascades it rebuilds toward its start by `REBUILD_PER_S` of the gap a second.
* pressure: an exponentially weighted (tau `PRESSURE_TAU_S`) signed liquidation rate, long liquidations
  positive, in units of `PRESSURE_USD_PER_S`; funding = 0.01 % - 0.04 % x pressure (longs flushed: funding
  falls), basis (mark - index) / index = -0.15 % x pressure (forced selling pushes the perp below spot).

Each venue reports `OI_SHARE` of the total (`open_interest_of`): their usual relative sizes.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

from common.schema import LONG
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

OI_USD = {"BTCUSDT": 4e9, "ETHUSDT": 2e9, "SOLUSDT": 1e9}  # a simulated market a little smaller than 2026's
OI_USD_DEFAULT = 1e8
OI_PER_LIQUIDATED = 5.0
REBUILD_PER_S = 0.002
PRESSURE_TAU_S = 20.0
PRESSURE_USD_PER_S = 500_000.0
FUNDING_BASE = 0.0001
OI_SHARE = {"binance": 0.35, "bybit": 0.30, "okx": 0.20, "hyperliquid": 0.15,  # the four majors: the total
            "bitget": 0.12, "gate": 0.08, "deribit": 0.03, "lighter": 0.03, "bitmex": 0.01, "dydx": 0.01}


def open_interest_of(venue: str, ev: SimContext) -> float:
    """The coins of `ev`'s open interest a venue holds (its usual share)."""
    return ev.open_interest * OI_SHARE.get(venue, 0.1)


class _Symbol:
    __slots__ = ("price", "oi0", "oi", "pressure")

    def __init__(self, price: float) -> None:
        self.price = price
        self.oi0 = self.oi = 0.0
        self.pressure = 0.0


class ContextModel:
    """The state behind `with_context`: per symbol price, open interest and liquidation pressure."""

    def __init__(self) -> None:
        self.symbols: dict[str, _Symbol] = {}
        self._last_t = 0.0

    def observe(self, ev: SimEvent) -> None:
        if isinstance(ev, SimTrade | SimLiquidation):
            st = self.symbols.get(ev.symbol)
            if st is None:
                st = self.symbols[ev.symbol] = _Symbol(ev.price)
                st.oi0 = st.oi = OI_USD.get(ev.symbol, OI_USD_DEFAULT) / ev.price
            st.price = ev.price
            if isinstance(ev, SimLiquidation):
                st.oi = max(st.oi - OI_PER_LIQUIDATED * ev.qty, 0.05 * st.oi0)
                sign = 1.0 if ev.side == LONG else -1.0
                st.pressure += sign * ev.qty * ev.price / PRESSURE_USD_PER_S / PRESSURE_TAU_S

    def tick(self, t: float) -> list[SimContext]:
        """Advance to offset `t` (decay, rebuild) and read every symbol's context."""
        dt = max(t - self._last_t, 0.0)
        self._last_t = t
        out = []
        for sym, st in self.symbols.items():
            st.pressure *= math.exp(-dt / PRESSURE_TAU_S)
            st.oi += (st.oi0 - st.oi) * (1.0 - math.exp(-REBUILD_PER_S * dt))
            p = max(min(st.pressure, 3.0), -3.0)
            funding = FUNDING_BASE - 0.0004 * p
            basis = -0.0015 * p
            out.append(SimContext(sym, st.oi, funding, st.price * (1.0 + basis), st.price))
        return out


def with_context(timeline: Iterator[tuple[float, SimEvent]], every_s: float = 1.0) -> Iterator[tuple[float, SimEvent]]:
    """The timeline with each symbol's SimContext every `every_s` (venues push context about once a second)."""
    model = ContextModel()
    next_t = every_s
    for t, ev in timeline:
        while t >= next_t:
            for ctx in model.tick(next_t):
                yield next_t, ctx
            next_t += every_s
        model.observe(ev)
        yield t, ev
