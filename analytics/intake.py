"""Liquidations into the book: validation, symbol slots, duplicate deliveries, fills; one or a batch."""
from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import repeat
from operator import itemgetter

import numpy as np

from analytics.feeds import FeedBook
from analytics.positions import Positions
from analytics.recent import Recent
from analytics.shown import ShownBook
from analytics.state import Layout, SymbolState
from analytics.windows import NS
from common.columns import LiquidationBatch
from common.config import AnalyticsConfig
from common.fingerprint import MASK, float_bits, fold, fold_one
from common.schema import LONG, SHORT, Liquidation, completeness_of

RECENT_KEEP_NS = 2 * NS  # how long an event is remembered for duplicate matching (re-deliveries come within ~1 s)
RECENT_MAX = 4096  # prune the memory when it holds more than this many events (or twice what the last prune kept)
SMALL_BATCH = 24  # below this, event by event is cheaper than the batch's fixed ~50 numpy calls

# Duplicate keys: (symbol, venue, side, ts, price, USD) as a `common.fingerprint` (~1e-15 chance per event of
# meeting another's key with 2 s of events remembered).
# constant operands of the batch path as 0-d arrays of the columns' dtypes: numpy takes a Python (or numpy)
# scalar operand through its slower scalar path, ~1 µs more per call on a batch's columns; the same results
_ZERO_F, _INF = np.array(0.0), np.array(math.inf)
_ZERO_I, _ONE_I = np.array(0, dtype=np.int64), np.array(1, dtype=np.int64)



class Intake:
    """Owns the symbols' slots in the book and the per-event decisions before the rings:

    * rejected: notional not a positive finite number, or a side that is neither long nor short;
    * duplicate: the same (symbol, venue, side, ts, price, USD) as an event of the last RECENT_KEEP_NS
      (a re-delivery), dropped and counted;
    * fills of one position (`positions`), counted once for n_eff and the whale share;
    * the event times a throttled feed showed (`shown`), whose timing tells its hidden rate.
    """

    def __init__(self, cfg: AnalyticsConfig, layout: Layout, feeds: FeedBook) -> None:  # noqa: D107
        self.cfg = cfg
        self.layout = layout
        self.book = layout.book(cfg.baseline_s)
        self.lookback_ns = int(cfg.baseline_s * NS)
        self.positions = Positions()
        self.positions.fit(self.book.cap, 1)
        self.shown = ShownBook()  # throttled feeds' shown event times (throttle.py reads their timing)
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
        self.shown.fit(self.book.cap, len(self.venue_names))
        self.shown.clear(slot)
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
            self.shown.fit(self.book.cap, len(self.venue_names))
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
        if liq.throttled:  # a duplicate too: ShownBook tells a repeated time from a new one
            self.shown.one(self.shown.key(st.slot, venue), ts)
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
        """`add` for every liquidation of `liqs`, in order, with the same result: the decisions and the
        ring writes are made on whole columns (a LiquidationBatch from the wire is read as it is)."""
        if len(liqs) < SMALL_BATCH and not isinstance(liqs, LiquidationBatch):
            for liq in liqs:
                self.add(liq)
            return
        self.add_columns(LiquidationBatch.of(liqs))

    def add_columns(self, b: LiquidationBatch) -> None:
        """`add_batch` on columns: per distinct string (side, symbol, venue) a lookup, the rest numpy."""
        sides, side_codes = b.text["side"]
        long_of = np.fromiter(map(LONG.__eq__, sides), bool, len(sides))
        usd = b.num["notional_usd"]
        valid = (usd > _ZERO_F) & (usd < _INF)  # positive and finite (NaN fails both)
        if not all(type(s) is str and (s == LONG or s == SHORT) for s in sides):  # usually no side to check
            valid &= (long_of | np.fromiter(map(SHORT.__eq__, sides), bool, len(sides)))[side_codes]
        n_valid = np.count_nonzero(valid)  # counts: cheaper than .all() / .any() (reductions) on these sizes
        if n_valid < b.n:
            self.rejected += b.n - n_valid
            b = b.take(valid)
            side_codes, usd = b.text["side"][1], b.num["notional_usd"]
        m = b.n
        if not m:
            return
        price, recv, ts = b.num["price"], b.num["ts_recv"], b.num["ts_event"]
        if np.count_nonzero(ts <= _ZERO_I):
            ts = np.where(ts > 0, ts, recv)
        slots = self._codes(b, "symbol", ts)
        vidx = self._codes(b, "exchange", ts)
        self._feeds(b, vidx)
        newest = int(ts.max())
        if newest > self.newest:
            self.newest = newest
        is_long = long_of[side_codes]
        shown = b.num["throttled"].view(bool)
        feed = self.shown.key(slots, vidx)  # (symbol, venue): the shown times' key, the fills' without the side
        if np.count_nonzero(shown):  # every shown event, duplicates too: ShownBook.batch tells a repeat from a new one
            i = shown.nonzero()[0]  # an index array: cheaper than the mask, used twice
            self.shown.batch(feed[i], ts[i])
        keep = self.recent.add(event_keys(self.book.key[slots], vidx, is_long, ts, price, usd), ts, self.newest)
        n_keep = np.count_nonzero(keep)
        if n_keep < m:
            self.duplicates += m - n_keep
            if not n_keep:
                return
            slots, vidx, is_long, ts, recv, price, usd, feed = (
                a[keep] for a in (slots, vidx, is_long, ts, recv, price, usd, feed))
        self._pairs(slots, vidx)
        if self.positions.venues == self.shown.venues:  # (they grow alike) the feed key, x 2 + 1 for a short
            g = feed + feed
            g += ~is_long
        else:
            g = self.positions.key(slots, vidx, (~is_long).astype(np.intp))
        before = self.positions.batch(g, ts, price, usd)
        total = before + usd
        whale = self.book.whale[slots]
        add = np.where(total >= whale, np.where(before >= whale, usd, total), _ZERO_F)
        self.dropped_old += self.book.place(slots, vidx, is_long, ts, recv, usd, total * total - before * before, add)

    def _codes(self, b: LiquidationBatch, field: str, ts: np.ndarray) -> np.ndarray:
        """Slot (symbol) or venue index (exchange) of every event: one lookup per distinct name; names new
        here get theirs in arrival order (a symbol first seen at its first event's ts)."""
        table, codes = b.text[field]
        index = self.slot_of if field == "symbol" else self.venue_of
        try:  # every name of the table known (the usual batch): one C-level lookup each, no check per event
            known = itemgetter(*table)(index) if len(table) > 1 else (index[table[0]],)
            return np.fromiter(known, np.intp, len(table))[codes]
        except KeyError:
            pass
        of = np.fromiter(map(index.get, table, repeat(-1, len(table))), np.intp, len(table))
        out = of[codes]
        if (out < 0).any():
            used, first = np.unique(codes, return_index=True)
            for i in np.sort(first[of[used] < 0]).tolist():
                name = table[codes[i]]
                if name not in index:
                    if field == "symbol":
                        self._symbol(name, int(ts[i]))
                    else:
                        self._venue(name)
            out = np.fromiter(map(index.get, table, repeat(-1, len(table))), np.intp, len(table))[codes]
        return out

    def _pairs(self, slots: np.ndarray, vidx: np.ndarray) -> None:
        """Each symbol's set of venues: the (symbol, venue) pairs new here, from the slots' venue bits."""
        bits = self.book.venue_bits
        new = ((bits[slots] >> vidx) & _ONE_I) == _ZERO_I
        if np.count_nonzero(new):
            names = self.venue_names
            for slot, v in zip(slots[new].tolist(), vidx[new].tolist(), strict=True):
                if not (bits[slot] >> v) & 1:
                    bits[slot] |= 1 << v
                    self.symbols[self.symbol_at[slot]].venues[names[v]] = v

    def _feeds(self, b: LiquidationBatch, vidx: np.ndarray) -> None:
        """FeedBook.seen for every venue new to it, with the completeness its first event here carries."""
        known = self.feeds.venues
        if all(name in known for name in b.text["exchange"][0]):
            return
        comp, codes = b.text["completeness"]
        for i in np.unique(vidx).tolist():
            name = self.venue_names[i]
            if name not in known:
                first = int(np.argmax(vidx == i))
                self.feeds.seen(name, completeness_of(comp[codes[first]], bool(b.num["throttled"][first])))


def event_keys(sym: np.ndarray, venue: np.ndarray, is_long: np.ndarray, ts: np.ndarray, price: np.ndarray,
               usd: np.ndarray) -> np.ndarray:
    """Duplicate keys of a batch (uint64): the same fingerprints as `key_one`."""
    # the int64 columns as their bits: as astype would give, without a copy
    return fold(sym, (venue.view(np.uint64), is_long.astype(np.uint64), ts.view(np.uint64), price.view(np.uint64),
                      usd.view(np.uint64)))


def key_one(sym: int, venue: int, is_long: bool, ts: int, price: float, usd: float) -> int:
    """The duplicate key of one event, in Python ints (`event_keys` for one)."""
    return fold_one(sym, (venue, int(is_long), ts & MASK, *float_bits(price, usd)))
