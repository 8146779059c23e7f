"""Episodes and threads: one cascade is a short thread per destination (open, escalations, one resolved).

An episode of a symbol runs from its first level above NONE to its return to NONE. Each destination
gets an "open" message when a signal first passes its rules, an "escalate" message when the level rises
above the last one it was sent, nothing for a step down inside the episode, and one "resolve" message
(peak level, duration, total USD) at the end if it was told about the episode at all. The same level of
a symbol is not sent to a destination twice within `repeat_interval_s`, across episodes too, so a
flapping signal never becomes a flood. Pure and clock-free: times are the signals' own timestamps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from common.config import NotifyDestination
from common.schema import LEVEL_RANK, Liquidation, Signal
from publisher.notify.rules import MARKET, liquidation_passes, signal_passes

OPEN, ESCALATE, RESOLVE, LIQUIDATION = "open", "escalate", "resolve", "liquidation"


@dataclass(frozen=True, slots=True)
class Window:
    """USD liquidated on the symbol in the last 10 s and 60 s, and the venues taking part."""

    usd_10s: float = 0.0
    usd_60s: float = 0.0
    venues: tuple[str, ...] = ()


@dataclass(slots=True)
class Episode:
    symbol: str
    start_ns: int
    peak: str = "NONE"
    total_usd: float = 0.0  # the 60 s window at the start, then every liquidation on the tape
    max_usd_60s: float = 0.0  # a floor for total_usd when the tape is off


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell one destination; rendering turns it into words."""

    kind: str
    symbol: str
    signal: Signal | None = None
    window: Window = Window()
    peak: str = ""
    duration_s: float = 0.0
    total_usd: float = 0.0
    liquidation: Liquidation | None = None


@dataclass
class Episodes:
    dests: list[NotifyDestination]
    repeat_interval_s: float = 600.0
    open: dict[str, Episode] = field(default_factory=dict)
    _told: dict[tuple[int, str], int] = field(default_factory=dict)  # (dest, symbol) -> rank last sent
    _sent_at: dict[tuple[int, str, str], int] = field(default_factory=dict)  # (dest, symbol, level) -> ns

    def on_liquidation(self, liq: Liquidation) -> list[tuple[int, Notice]]:
        """Count it into open episodes; a message for each destination whose single-liquidation rule it meets."""
        for ep in (self.open.get(liq.symbol), self.open.get(MARKET)):
            if ep is not None:
                ep.total_usd += liq.notional_usd
        return [(i, Notice(LIQUIDATION, liq.symbol, liquidation=liq))
                for i, d in enumerate(self.dests) if liquidation_passes(d, liq)]

    def on_signal(self, sig: Signal, window: Window) -> list[tuple[int, Notice]]:
        rank = LEVEL_RANK.get(sig.level, 0)
        ep = self.open.get(sig.symbol)
        if rank == 0:
            return self._resolve(ep, sig, window) if ep is not None and not sig.heartbeat else []
        if ep is None:
            ep = self.open[sig.symbol] = Episode(sig.symbol, sig.ts, total_usd=window.usd_60s)
        ep.max_usd_60s = max(ep.max_usd_60s, window.usd_60s)
        if rank > LEVEL_RANK[ep.peak]:
            ep.peak = sig.level
        if sig.heartbeat:
            return []
        out = []
        for i, d in enumerate(self.dests):
            told = self._told.get((i, sig.symbol))
            if (told is not None and rank <= told) or not signal_passes(d, sig, window.usd_60s):
                continue
            last = self._sent_at.get((i, sig.symbol, sig.level))
            if last is not None and sig.ts - last < self.repeat_interval_s * 1e9:
                continue
            self._told[(i, sig.symbol)] = rank
            self._sent_at[(i, sig.symbol, sig.level)] = sig.ts
            out.append((i, Notice(OPEN if told is None else ESCALATE, sig.symbol, sig, window)))
        return out

    def _resolve(self, ep: Episode, sig: Signal, window: Window) -> list[tuple[int, Notice]]:
        del self.open[sig.symbol]
        total = max(ep.total_usd, ep.max_usd_60s)
        out = []
        for i in range(len(self.dests)):
            if self._told.pop((i, sig.symbol), None) is not None:
                out.append((i, Notice(RESOLVE, sig.symbol, sig, window, peak=ep.peak,
                                      duration_s=(sig.ts - ep.start_ns) / 1e9, total_usd=total)))
        return out
