"""Which venue's BTC price feeds the regime: Binance while it is fresh, else the next freshest venue."""
from __future__ import annotations

import logging

from common.schema import PriceTick

log = logging.getLogger(__name__)

PREFERENCE = ("binance", "bybit", "okx", "hyperliquid", "aster", "lighter", "dydx", "gate", "bitget", "deribit",
              "bitmex")


class PriceFeed:
    """Every ingester sends its venue's BTC trades; mixing them would add cross-venue basis noise to the
    realized volatility, so one source is used at a time, and the choice falls back down `preference`
    when the preferred venue has been silent for `stale_s` (Binance down), and back up when it returns.
    """

    def __init__(self, preference: tuple[str, ...] = PREFERENCE, stale_s: float = 5.0) -> None:
        self.preference = preference
        self._rank = {v: i for i, v in reversed(list(enumerate(preference)))}  # a venue listed twice: its first place
        self.stale_ns = int(stale_s * 1e9)
        self.last_seen: dict[str, int] = {}
        self.source: str | None = None

    def accept(self, tick: PriceTick, now_ns: int) -> bool:
        """Record the tick's arrival; True if it comes from the venue that currently feeds the regime."""
        self.last_seen[tick.exchange] = now_ns
        # one venue sends prices (the usual replay): it is the fresh one, no need to rank (runs per tick)
        chosen = tick.exchange if len(self.last_seen) == 1 and self.stale_ns >= 0 else self._choose(now_ns)
        if chosen != self.source:
            log.info("signals: BTC price source %s -> %s", self.source or "none", chosen)
            self.source = chosen
        return tick.exchange == chosen

    def _choose(self, now_ns: int) -> str | None:
        """The fresh venue first in `preference` (those not in it rank last, first seen first); runs per tick."""
        best, best_rank = None, len(self.preference) + 1
        for v, t in self.last_seen.items():
            if now_ns - t <= self.stale_ns:
                rank = self._rank.get(v, len(self.preference))
                if rank < best_rank:
                    best, best_rank = v, rank
        return best
