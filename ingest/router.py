"""Routes normalized events to their destinations in per-destination batches."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from common import topics
from common.columns import LiquidationBatch, joined
from common.schema import Liquidation, MarketContext, PriceTick
from common.sharding import shard_of
from ingest.context_merge import Coalescer
from ingest.exchanges.base import Event


class Batch(NamedTuple):
    """One message's worth of events, sent to `shard` (None: the signal generator); with `tape` its rows
    also go to the signal generator (coalesced by the ingester), which relays them to consumers."""

    shard: int | None
    topic: bytes
    events: Sequence[Event]  # a list, or a LiquidationBatch (liquidations of frames read as columns)
    tape: bool = False


class Router:
    """Liquidations go to the shard that owns their symbol; the BTC price goes to the signal generator.

    Events accumulate between flushes, so one ZMQ message carries everything a burst of frames
    produced for one destination (batching is what keeps the ipc hop far from its limit): liquidations
    one batch per shard under `liq.shardK`. With the liquidation tape on, the rows also go to the signal
    generator (held up to `ingest.process.TAPE_LINGER_S`), which splits them per `liq.<exchange>.<SYMBOL>`. (Grouping
    here per symbol instead made one message per symbol of a flush at every hop: at 10,000 events/s
    over 60 symbols, ~2 events a message, and a process wakeup per message.) Market context is merged and
    coalesced (`ingest.context_merge`): each (venue, symbol) goes to its symbol's shard under
    `ctx.<exchange>.<SYMBOL>` at most once per `context_every_s`, by the receive clock.
    """

    def __init__(self, shards: int, symbols: tuple[str, ...], price_symbol: str, tape: bool = True,
                 context_every_s: float = 1.0) -> None:
        self.shards = shards
        self.symbols = frozenset(symbols)
        self.price_symbol = price_symbol
        self.tape = tape
        # (shard, topic) -> its events in parts: column batches as parsed, structs in lists (the last part grows)
        self.liq: dict[tuple[int, bytes], list[Sequence[Liquidation]]] = {}
        self.prices: list[PriceTick] = []
        self.context = Coalescer(context_every_s)
        self._now = 0  # the newest receive time seen: the context clock when take() is given none
        self.pending = 0
        self.filtered = 0
        self._routes: dict[tuple[str, str], tuple[int, bytes]] = {}  # (exchange, symbol) -> (shard, topic)

    def add(self, events: Sequence[Event]) -> int:
        """Queue events (a list, or a column batch of liquidations); returns how many were kept (tracked symbols
        only)."""
        if isinstance(events, LiquidationBatch):
            return self._add_batch(events)
        kept = 0
        routes, liq = self._routes, self.liq
        for ev in events:
            if isinstance(ev, Liquidation):
                if self.symbols and ev.symbol not in self.symbols:
                    self.filtered += 1
                    continue
                route = routes.get((ev.exchange, ev.symbol))
                if route is None:
                    route = routes[(ev.exchange, ev.symbol)] = self._route(ev.symbol)
                parts = liq.get(route)
                if parts is None:
                    liq[route] = [[ev]]
                elif type(parts[-1]) is list:
                    parts[-1].append(ev)
                else:
                    parts.append([ev])
            elif type(ev) is MarketContext:
                if self.symbols and ev.symbol not in self.symbols:
                    continue
                self.context.update(ev)
                self._now = max(self._now, ev.ts_recv)
            elif ev.symbol == self.price_symbol:
                self.prices.append(ev)
            else:
                continue
            kept += 1
        self.pending += kept
        return kept

    def _add_batch(self, batch: LiquidationBatch) -> int:
        """`add` of a column batch: split by (exchange, symbol) only when it holds more than one (a venue's batch
        frame is one symbol's), each part queued whole."""
        text = batch.text
        one = len(text["exchange"][0]) == 1 and len(text["symbol"][0]) == 1
        groups = ([((text["exchange"][0][0], text["symbol"][0][0]), batch)] if one
                  else batch.groups("exchange", "symbol"))
        kept = 0
        for (exchange, symbol), part in groups:
            if self.symbols and symbol not in self.symbols:
                self.filtered += part.n
                continue
            route = self._routes.get((exchange, symbol))
            if route is None:
                route = self._routes[(exchange, symbol)] = self._route(symbol)
            self.liq.setdefault(route, []).append(part)
            kept += part.n
        self.pending += kept
        return kept

    def _route(self, symbol: str) -> tuple[int, bytes]:
        shard = shard_of(symbol, self.shards)
        return shard, topics.liq_batch(shard)

    def take(self, now_ns: int | None = None) -> list[Batch]:
        """Swap out the batches: liquidations per shard, the market contexts
        due at `now_ns` (default: the newest receive time seen), then prices."""
        out = [Batch(shard, topic, joined(parts), self.tape) for (shard, topic), parts in self.liq.items()]
        self.liq = {}
        if self.context.pending:
            for ctx in self.context.due(self._now if now_ns is None else now_ns):
                out.append(Batch(shard_of(ctx.symbol, self.shards), topics.context(ctx.exchange, ctx.symbol), [ctx]))
        if self.prices:
            out.append(Batch(None, topics.price(self.price_symbol), self.prices))
            self.prices = []
        self.pending = 0
        return out
