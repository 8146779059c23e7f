"""Liquidations into the book: validation, symbol slots, duplicate deliveries, fills; one or a batch."""
from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from operator import attrgetter

import numpy as np

from analytics.feeds import FeedBook
from analytics.positions import Positions
from analytics.recent import Recent
from analytics.state import Layout, SymbolState
from analytics.windows import NS
from common.config import AnalyticsConfig
from common.schema import LONG, SHORT, Liquidation, completeness_of

RECENT_KEEP_NS = 2 * NS  # how long an event is remembered for duplicate matching (re-deliveries come within ~1 s)
RECENT_MAX = 4096  # prune the memory when it holds more than this many events (or twice what the last prune kept)
SMALL_BATCH = 24  # below this, event by event is cheaper than the batch's fixed ~50 numpy calls

# Duplicate keys: (symbol, venue, side, ts, price, USD) folded into 64 bits (h = (h ^ x) · P, then a final
# xor-shift), one Python int per event: no tuple per event to allocate, hash and collect. Two different
# events share a key with probability ~2⁻⁶⁴ per pair (~1e-15 per event with 2 s of events remembered).
MASK = (1 << 64) - 1
P = 0x9E3779B97F4A7C15
_BITS = struct.Struct("<dd")
_UNBITS = struct.Struct("<QQ")

_USD, _PRICE, _TS, _RECV = (attrgetter(f) for f in ("notional_usd", "price", "ts_event", "ts_recv"))
_SYM, _VENUE, _SIDE = (attrgetter(f) for f in ("symbol", "exchange", "side"))


class Intake:
    """Owns the symbols' slots in the book and the per-event decisions before the rings:

    * rejected: notional not a positive finite number, or a side that is neither long nor short;
    * duplicate: the same (symbol, venue, side, ts, price, USD) as an event of the last RECENT_KEEP_NS
      (a re-delivery), dropped and counted;
    * fills of one position (`positions`), counted once for n_eff and the whale share.
    """

    def __init__(self, cfg: AnalyticsConfig, layout: Layout, feeds: FeedBook) -> None:  # noqa: D107
        self.cfg = cfg
        self.layout = layout
        self.book = layout.book(cfg.baseline_s)
        self.lookback_ns = int(cfg.baseline_s * NS)
        self.positions = Positions()
        self.positions.fit(self.book.cap, 1)
        self.feeds = feeds
        self.symbols: dict[str, SymbolState] = {}
        self.slot_of: dict[str, int] = {}
        self.symbol_at: dict[int, str] = {}
        self.venue_of: dict[str, int] = {}
        self.venue_names: list[str] = []
        self.recent = Recent(RECENT_MAX, RECENT_KEEP_NS)  # event keys of the last seconds
        self.newest = -(1 << 62)
        self.rejected = self.duplicates = self.dropped_old = 0

    # -- symbols and venues -------------------------------------------------------------------------
    def _symbol(self, symbol: str, ts: int) -> SymbolState:
        whale = self.cfg.whale_usd.get(symbol, self.cfg.whale_usd_default)
        slot = self.book.alloc(whale, ts, hash(symbol) & MASK)
        self.positions.fit(self.book.cap, len(self.venue_names))
        self.positions.clear(slot)
        st = self.symbols[symbol] = SymbolState(symbol, self.layout, self.book, slot, self.lookback_ns)
        self.slot_of[symbol] = slot
        self.symbol_at[slot] = symbol
        return st

    def _venue(self, venue: str) -> int:
        idx = self.venue_of.get(venue)
        if idx is None:
            idx = self.venue_of[venue] = self.book.add_venue()
            self.venue_names.append(venue)
            self.positions.fit(self.book.cap, len(self.venue_names))
        return idx

    def drop(self, symbol: str) -> None:
        st = self.symbols.pop(symbol)
        del self.slot_of[symbol]
        del self.symbol_at[st.slot]
        self.book.release(st.slot)

    def _remember(self, key: int, ts: int) -> bool:
        """False if `key` is a duplicate of a recent event; remembers it otherwise."""
        if self.recent.add_one(key, ts, self.newest):
            return True
        self.duplicates += 1
        return False

    # -- one event ------------------------------------------------------------------------------------
    def add(self, liq: Liquidation) -> None:
        """Place a liquidation at its ts_event (ts_recv if the venue gave none)."""
        usd = float(liq.notional_usd)
        if not (usd > 0.0 and math.isfinite(usd)) or liq.side not in (LONG, SHORT):
            self.rejected += 1
            return
        ts = int(liq.ts_event) if liq.ts_event > 0 else int(liq.ts_recv)
        st = self.symbols.get(liq.symbol) or self._symbol(liq.symbol, ts)
        if liq.exchange not in self.feeds.venues:  # a venue's completeness does not change: read it once
            self.feeds.seen(liq.exchange, completeness_of(liq.completeness, liq.throttled))
        price, is_long = float(liq.price), liq.side == LONG
        if ts > self.newest:
            self.newest = ts
        venue = self._venue(liq.exchange)
        if not self._remember(key_one(self.book.keys[st.slot], venue, is_long, ts, price, usd), ts):
            return
        if liq.exchange not in st.venues:
            st.venues[liq.exchange] = venue
            self.book.venue_bits[st.slot] |= 1 << venue
        before = self.positions.one(self.positions.key(st.slot, venue, 0 if is_long else 1), ts, price, usd)
        total = before + usd
        whale = self.book.whales[st.slot]
        # a position that became a whale counts whole
        add = (usd if before >= whale else total) if total >= whale else 0.0
        if not self.book.place_one(st.slot, venue, is_long, ts, int(liq.ts_recv), usd, total * total - before * before,
                                   add):
            self.dropped_old += 1

    # -- a batch --------------------------------------------------------------------------------------
    def add_batch(self, liqs: Sequence[Liquidation]) -> None:
        """`add` for every liquidation of `liqs`, in order, with the same result: the fields are read
        into columns, and the decisions and the ring writes are made on whole columns."""
        m = len(liqs)
        if m < SMALL_BATCH:
            for liq in liqs:
                self.add(liq)
            return
        usd = np.fromiter(map(_USD, liqs), np.float64, m)
        sides = list(map(_SIDE, liqs))
        n_long = sides.count(LONG)
        if n_long + sides.count(SHORT) != m or not (np.isfinite(usd) & (usd > 0.0)).all():
            good = [liq for liq, u, s in zip(liqs, usd.tolist(), sides, strict=True)
                    if u > 0.0 and math.isfinite(u) and s in (LONG, SHORT)]
            self.rejected += m - len(good)
            self.add_batch(good)
            return
        price = np.fromiter(map(_PRICE, liqs), np.float64, m)
        ts = np.fromiter(map(_TS, liqs), np.int64, m)
        recv = np.fromiter(map(_RECV, liqs), np.int64, m)
        if not (ts > 0).all():
            ts = np.where(ts > 0, ts, recv)
        syms = list(map(_SYM, liqs))
        venues = list(map(_VENUE, liqs))
        try:
            slots = np.fromiter(map(self.slot_of.__getitem__, syms), np.intp, m)
            vidx = np.fromiter(map(self.venue_of.__getitem__, venues), np.intp, m)
        except KeyError:
            self._new_names(syms, venues, ts.tolist())
            slots = np.fromiter(map(self.slot_of.__getitem__, syms), np.intp, m)
            vidx = np.fromiter(map(self.venue_of.__getitem__, venues), np.intp, m)
        self._feeds(liqs, vidx)
        newest = int(ts.max())
        if newest > self.newest:
            self.newest = newest
        is_long = np.fromiter(map(LONG.__eq__, sides), bool, m)
        keep = self.recent.add(event_keys(self.book.key[slots], vidx, is_long, ts, price, usd), ts, self.newest)
        if not keep.all():
            self.duplicates += m - int(np.count_nonzero(keep))
            slots, vidx, is_long, ts, recv, price, usd = (a[keep] for a in (slots, vidx, is_long, ts, recv, price, usd))
        self._pairs(slots, vidx)
        side = (~is_long).astype(np.intp)
        before = self.positions.batch(self.positions.key(slots, vidx, side), ts, price, usd)
        total = before + usd
        whale = self.book.whale[slots]
        add = np.where(total >= whale, np.where(before >= whale, usd, total), 0.0)
        self.dropped_old += self.book.place(slots, vidx, is_long, ts, recv, usd, total * total - before * before, add)

    def _new_names(self, syms: list[str], venues: list[str], ts: list[int]) -> None:
        """Slots for new symbols (first seen at their first event's ts), indices for new venues, in
        arrival order (indices do not depend on hashing)."""
        for sym, t in zip(syms, ts, strict=True):
            if sym not in self.slot_of:
                self._symbol(sym, t)
        for venue in venues:
            self._venue(venue)

    def _pairs(self, slots: np.ndarray, vidx: np.ndarray) -> None:
        """Each symbol's set of venues: the (symbol, venue) pairs new here, from the slots' venue bits."""
        bits = self.book.venue_bits
        new = ((bits[slots] >> vidx) & 1) == 0
        if new.any():
            names = self.venue_names
            for slot, v in zip(slots[new].tolist(), vidx[new].tolist(), strict=True):
                if not (bits[slot] >> v) & 1:
                    bits[slot] |= 1 << v
                    self.symbols[self.symbol_at[slot]].venues[names[v]] = v

    def _feeds(self, liqs: Sequence[Liquidation], vidx: np.ndarray) -> None:
        """FeedBook.seen for every venue new to it, with the completeness its first event here carries."""
        known = self.feeds.venues
        for i in np.unique(vidx).tolist():
            name = self.venue_names[i]
            if name not in known:
                first = liqs[int(np.argmax(vidx == i))]
                self.feeds.seen(name, completeness_of(first.completeness, first.throttled))


def event_keys(sym: np.ndarray, venue: np.ndarray, is_long: np.ndarray, ts: np.ndarray, price: np.ndarray,
               usd: np.ndarray) -> np.ndarray:
    """Duplicate keys of a batch (uint64; see MASK): the same fold as `key_one`."""
    h = sym.astype(np.uint64)
    for x in (venue.astype(np.uint64), is_long.astype(np.uint64), ts.astype(np.uint64), price.view(np.uint64),
              usd.view(np.uint64)):
        h ^= x
        h *= np.uint64(P)
    return h ^ (h >> np.uint64(29))


def key_one(sym: int, venue: int, is_long: bool, ts: int, price: float, usd: float) -> int:
    """The duplicate key of one event, in Python ints (`event_keys` for one)."""
    h = sym
    for x in (venue, int(is_long), ts & MASK, *_UNBITS.unpack(_BITS.pack(price, usd))):
        h = ((h ^ x) * P) & MASK
    return h ^ (h >> 29)
