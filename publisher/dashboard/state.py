"""What the dashboard shows, aggregated from the PUB stream: pure and clock-injected (every call takes now_ns)."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from common import topics
from common.config import Config
from common.schema import LONG, FeedStatus, Liquidation, PriceTick, Regime, Signal, as_dict, completeness_of

NS = 1_000_000_000
MINUTE_NS = 60 * NS
WINDOWS_S = {"1h": 3600, "4h": 4 * 3600, "24h": 24 * 3600}
BARS_SHOWN = 60  # minutes of liquidation bars on the page
BARS_BEFORE_START = 9
PRICE_KEPT_S = 3600  # one price point per second for an hour
TAPE_KEPT = 300
LEVEL_STALE_S = 30.0  # signals heartbeat every 10 s per active symbol; silent this long = no longer active


@dataclass(slots=True)
class Minute:
    """Liquidations of one minute: USD and counts per side, per venue, and the largest one."""

    long_usd: float = 0.0
    short_usd: float = 0.0
    count: int = 0
    largest: list[Any] | None = None  # [notional_usd, symbol, side, exchange, ts_ms]
    venues: dict[str, list[float]] = field(default_factory=dict)  # venue -> [long_usd, short_usd, count]


def liq_row(liq: Liquidation) -> dict[str, Any]:
    return {"ts": liq.ts_event // 1_000_000, "exchange": liq.exchange, "symbol": liq.symbol, "side": liq.side,
            "price": liq.price, "qty": liq.qty, "usd": round(liq.notional_usd, 2), "throttled": liq.throttled,
            "completeness": liq.completeness}


def signal_row(sig: Signal) -> dict[str, Any]:
    return {"ts": sig.ts // 1_000_000, "symbol": sig.symbol, "level": sig.level, "previous": sig.previous_level,
            "probability": round(sig.probability, 4), "confidence": round(sig.confidence, 4),
            "direction": sig.direction, "regime": sig.regime, "explanation": sig.explanation,
            "components": sig.components, "data_quality": sig.data_quality}


class DashboardState:
    """Totals, per-venue flow and feed state, per-minute bars, BTC price, tape, levels, regime and signals.

    `apply` takes one decoded wire message and records what changed since the last `take_delta`, which
    the server pushes to browsers every `push_every_s`; `snapshot` is the whole picture (`/api/state`).
    """

    def __init__(self, cfg: Config, start_ns: int) -> None:
        self.cfg = cfg
        self.start_ns = start_ns
        self.price_symbol = cfg.ingest.price_symbol
        self.tape_min_usd = cfg.dashboard.tape_min_usd
        self.minutes: dict[int, Minute] = {}  # minute index (ts // 60 s) -> flow, 24 h kept
        self.prices: deque[list[float]] = deque(maxlen=PRICE_KEPT_S)  # [unix s, price], one per second
        self.last_price_recv_ns = 0
        self.tape: deque[dict[str, Any]] = deque(maxlen=TAPE_KEPT)
        self.signals: deque[dict[str, Any]] = deque(maxlen=cfg.dashboard.signals_kept)
        self.levels: dict[str, dict[str, Any]] = {}
        self.level_seen_ns: dict[str, int] = {}
        self.feeds: dict[str, dict[str, Any]] = {}
        self.feed_seen_ns: dict[str, int] = {}
        self.regime: dict[str, Any] | None = None
        self.stored_totals: dict[str, dict[str, Any]] | None = None  # the store's, from before the start
        self._new_tape: list[dict[str, Any]] = []
        self._new_signals: list[dict[str, Any]] = []
        self._new_prices: list[list[float]] = []
        self._next_id = 0  # tape and signal rows carry an increasing `id`: a browser that got a row in its
        # first snapshot and again in the next delta keeps it once

    # -- input ---------------------------------------------------------------------------------
    def apply(self, topic: bytes, msgs: list[Any], now_ns: int) -> None:
        if topic.startswith(topics.LIQ + b"."):
            for m in msgs:
                if isinstance(m, Liquidation):
                    self._liquidation(m)
        elif topic.startswith(topics.SIGNAL + b"."):
            for m in msgs:
                if isinstance(m, Signal):
                    self._signal(m, now_ns)
        elif topic.startswith(topics.PRICE + b"."):
            for m in msgs:
                if isinstance(m, PriceTick) and m.symbol == self.price_symbol:
                    self._price(m, now_ns)
        elif topic.startswith(topics.STATUS + b"."):
            for m in msgs:
                if isinstance(m, FeedStatus):
                    self.feeds[m.exchange] = as_dict(m)
                    self.feed_seen_ns[m.exchange] = now_ns
        elif topic == topics.REGIME:
            for m in msgs:
                if isinstance(m, Regime):
                    self.regime = as_dict(m)

    def _liquidation(self, liq: Liquidation) -> None:
        idx = liq.ts_event // MINUTE_NS
        b = self.minutes.get(idx)
        if b is None:
            b = self.minutes[idx] = Minute()
            self._expire(idx)
        usd = liq.notional_usd
        per_venue = b.venues.setdefault(liq.exchange, [0.0, 0.0, 0])
        if liq.side == LONG:
            b.long_usd += usd
            per_venue[0] += usd
        else:
            b.short_usd += usd
            per_venue[1] += usd
        b.count += 1
        per_venue[2] += 1
        if b.largest is None or usd > b.largest[0]:
            b.largest = [usd, liq.symbol, liq.side, liq.exchange, liq.ts_event // 1_000_000]
        if usd >= self.tape_min_usd:
            row = liq_row(liq)
            row["id"] = self._id()
            self.tape.append(row)
            self._new_tape.append(row)

    def _expire(self, newest: int) -> None:
        oldest = newest - WINDOWS_S["24h"] // 60
        for idx in [i for i in self.minutes if i <= oldest]:
            del self.minutes[idx]

    def _signal(self, sig: Signal, now_ns: int) -> None:
        row = signal_row(sig)
        self.levels[sig.symbol] = {k: row[k] for k in ("symbol", "level", "probability", "confidence",
                                                       "direction", "explanation", "ts")}
        # open interest, its 5 min change, funding, basis and est_usd of the symbol (signals' components)
        self.levels[sig.symbol]["context"] = (sig.components or {}).get("market_context")
        self.level_seen_ns[sig.symbol] = now_ns
        if not sig.heartbeat:
            row["id"] = self._id()
            self.signals.append(row)
            self._new_signals.append(row)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _price(self, tick: PriceTick, now_ns: int) -> None:
        self.last_price_recv_ns = now_ns
        sec = tick.ts_event // NS
        if self.prices and self.prices[-1][0] == sec:
            self.prices[-1][1] = tick.price  # last trade of the second
            if self._new_prices and self._new_prices[-1][0] == sec:
                self._new_prices[-1][1] = tick.price
                return
        else:
            self.prices.append([sec, tick.price])
        self._new_prices.append([sec, tick.price])

    # -- views ---------------------------------------------------------------------------------
    def totals(self, now_ns: int) -> dict[str, Any]:
        """Per window: USD long and short, count, largest liquidation, and how much of it we have seen.

        With a history store, what it holds from before the start completes each window (across restarts)."""
        now_min = now_ns // MINUTE_NS
        seen_s = max(0.0, (now_ns - self.start_ns) / NS)
        out: dict[str, Any] = {}
        for name, span_s in WINDOWS_S.items():
            first = now_min - span_s // 60 + 1
            agg = {"long_usd": 0.0, "short_usd": 0.0, "count": 0, "largest": None,
                   "covered_s": min(seen_s, float(span_s)), "complete": seen_s >= span_s}
            for idx, b in self.minutes.items():
                if idx >= first:
                    agg["long_usd"] += b.long_usd
                    agg["short_usd"] += b.short_usd
                    agg["count"] += b.count
                    if b.largest and (agg["largest"] is None or b.largest[0] > agg["largest"][0]):
                        agg["largest"] = b.largest
            before = (self.stored_totals or {}).get(name)
            if before is not None:
                agg["long_usd"] += before["long_usd"]
                agg["short_usd"] += before["short_usd"]
                agg["count"] += before["count"]
                if before["largest"] and (agg["largest"] is None or before["largest"][0] > agg["largest"][0]):
                    agg["largest"] = before["largest"]
                agg["covered_s"], agg["complete"] = float(span_s), True
            out[name] = agg
        return out

    def venues(self, now_ns: int) -> dict[str, Any]:
        """Per venue: the last hour's flow and the feed's state (connected, completeness, stale)."""
        first = now_ns // MINUTE_NS - 59
        out: dict[str, Any] = {}
        for idx, b in self.minutes.items():
            if idx >= first:
                for venue, (lu, su, n) in b.venues.items():
                    v = out.setdefault(venue, {"long_usd": 0.0, "short_usd": 0.0, "count": 0})
                    v["long_usd"] += lu
                    v["short_usd"] += su
                    v["count"] += n
        stale_ns = int(self.cfg.signals.feed_stale_s * NS)
        for venue, st in self.feeds.items():
            v = out.setdefault(venue, {"long_usd": 0.0, "short_usd": 0.0, "count": 0})
            stale = now_ns - self.feed_seen_ns[venue] > stale_ns
            v.update(connected=bool(st["connected"]) and not stale, stale=stale,
                     feed=completeness_of(st.get("completeness", "complete"), bool(st["throttled"])),
                     reconnects=st["reconnects"],
                     frames=st["frames"], bad_frames=st["bad_frames"], events=st["events"],
                     last_frame_age_s=(st["ts"] - st["last_frame_ns"]) / NS if st["last_frame_ns"] else None)
        return out

    def bars(self, now_ns: int) -> dict[str, list[float]]:
        """Per minute, longs positive and shorts negative (USD): the last BARS_SHOWN minutes, or since
        BARS_BEFORE_START minutes before the start when that is shorter (a fresh run's bars stay readable)."""
        now_min = now_ns // MINUTE_NS
        first = max(now_min - BARS_SHOWN + 1, min(self.start_ns // MINUTE_NS, now_min) - BARS_BEFORE_START)
        t, longs, shorts = [], [], []
        for idx in range(first, now_min + 1):
            b = self.minutes.get(idx)
            t.append(idx * 60)
            longs.append(b.long_usd if b else 0.0)
            shorts.append(-b.short_usd if b else 0.0)
        return {"t": t, "long": longs, "short": shorts}

    def active_levels(self, now_ns: int) -> list[dict[str, Any]]:
        stale_ns = int(LEVEL_STALE_S * NS)
        live = [row for sym, row in self.levels.items() if now_ns - self.level_seen_ns[sym] <= stale_ns]
        rank = {"EXTREME": 0, "CRITICAL": 1, "ALERT": 2, "WATCH": 3, "NONE": 4}
        return sorted(live, key=lambda r: (rank.get(r["level"], 5), -r["probability"], r["symbol"]))

    def price_fresh(self, now_ns: int) -> bool:
        return bool(self.last_price_recv_ns) and \
            now_ns - self.last_price_recv_ns <= self.cfg.signals.price_stale_s * NS

    def connected_venues(self, now_ns: int) -> list[str]:
        return sorted(v for v, row in self.venues(now_ns).items() if row.get("connected"))

    def _common(self, now_ns: int) -> dict[str, Any]:
        return {"now": now_ns // 1_000_000, "started": self.start_ns // 1_000_000,
                "price_symbol": self.price_symbol, "tape_min_usd": self.tape_min_usd,
                "totals": self.totals(now_ns), "venues": self.venues(now_ns), "bars": self.bars(now_ns),
                "levels": self.active_levels(now_ns), "regime": self.regime,
                "price_fresh": self.price_fresh(now_ns)}

    def snapshot(self, now_ns: int) -> dict[str, Any]:
        """Everything the page draws (`/api/state`, and the first SSE event of each browser)."""
        return {**self._common(now_ns), "prices": [list(p) for p in self.prices],
                "tape": list(self.tape), "signals": list(self.signals)}

    def take_delta(self, now_ns: int) -> dict[str, Any]:
        """What changed since the last call, plus the small aggregates (pushed every `push_every_s`)."""
        delta = {**self._common(now_ns), "prices": self._new_prices, "tape": self._new_tape,
                 "signals": self._new_signals}
        self._new_prices, self._new_tape, self._new_signals = [], [], []
        return delta
