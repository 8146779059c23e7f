"""Routes normalized events to their destinations in per-destination batches."""
from __future__ import annotations

from common import topics
from common.schema import Liquidation, PriceTick
from common.sharding import shard_of
from ingest.exchanges.base import Event


class Router:
    """Liquidations go to the shard that owns their symbol; the BTC price goes to the signal generator.

    Events accumulate between flushes, so one ZMQ message carries everything a burst of frames
    produced for one shard (batching is what keeps the ipc hop far from its limit).
    """

    def __init__(self, shards: int, symbols: tuple[str, ...], price_symbol: str) -> None:
        self.shards = shards
        self.symbols = frozenset(symbols)
        self.price_symbol = price_symbol
        self.liq: list[list[Liquidation]] = [[] for _ in range(shards)]
        self.prices: list[PriceTick] = []
        self.pending = 0
        self.filtered = 0
        self._shard_cache: dict[str, int] = {}

    def add(self, events: list[Event]) -> int:
        """Queue events; returns how many were kept (tracked symbols only)."""
        kept = 0
        for ev in events:
            if isinstance(ev, Liquidation):
                if self.symbols and ev.symbol not in self.symbols:
                    self.filtered += 1
                    continue
                shard = self._shard_cache.get(ev.symbol)
                if shard is None:
                    shard = self._shard_cache[ev.symbol] = shard_of(ev.symbol, self.shards)
                self.liq[shard].append(ev)
            elif ev.symbol == self.price_symbol:
                self.prices.append(ev)
            else:
                continue
            kept += 1
        self.pending += kept
        return kept

    def take(self) -> list[tuple[int | None, bytes, list[Event]]]:
        """Swap out the batches: (shard or None for the signal generator, topic, events)."""
        out: list[tuple[int | None, bytes, list[Event]]] = []
        for shard, batch in enumerate(self.liq):
            if batch:
                out.append((shard, topics.liq_batch(shard), batch))
                self.liq[shard] = []
        if self.prices:
            out.append((None, topics.price(self.price_symbol), self.prices))
            self.prices = []
        self.pending = 0
        return out
