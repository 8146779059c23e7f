"""Event-time replay of normalized JSON lines through analytics + signals, and scoring against labels."""
from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from analytics.engine import Engine
from common.config import Config
from common.input_files import read_lines
from common.schema import (
    LEVEL_RANK,
    LEVELS,
    FeedStatus,
    Liquidation,
    MetricsSnapshot,
    PriceTick,
    Signal,
    as_dict,
    completeness_of,
)
from ingest.dedupe import Deduper
from liqcascade.tools.scoring import class_of, is_positive
from signals.generator import MARKET, SignalGenerator

log = logging.getLogger(__name__)

NS = 1_000_000_000
TAIL_S = 120  # event time replayed after the last event, so open levels decay and are counted
WHALE_CLASSES = ("whale", "split_whale", "whale_pair")
MATCH_BEFORE_S = 10.0  # a signal this long before a label's onset still belongs to it
MATCH_AFTER_S = 60.0  # ...and this long after its end (the flow's tail keeps the windows warm)

Message = Liquidation | PriceTick | FeedStatus


def recorded_normalizer() -> Callable[[dict[str, Any]], list[Any]]:
    """Hook for `liqcascade record` files: raw frames go through ingest's own normalizer.

    One Hyperliquid fill de-duplicator is shared by the whole file, as in the live ingester.
    """
    # imported here: only raw recordings need the venues' parsers, and importing them costs ~0.1 s per replay
    from ingest.commands import normalize_recorded
    from ingest.exchanges.hyperliquid import FillDeduper

    deduper = FillDeduper()
    return lambda d: normalize_recorded(d, deduper)


def to_message(d: dict[str, Any]) -> Message | None:
    """One normalized JSON object -> the message analytics/signals consume (None if not one)."""
    kind = d.get("type")
    if kind == "price":  # the most frequent; positional: a NamedTuple binds them faster than keywords
        ts = int(d["ts_event"])
        return PriceTick(d.get("exchange", ""), d["symbol"], float(d["price"]), float(d.get("qty", 0.0)), ts,
                         int(d.get("ts_recv") or ts))
    if kind == "liquidation":
        ts = int(d["ts_event"])
        comp = completeness_of(d.get("completeness", "complete"), bool(d.get("throttled")))
        return Liquidation(exchange=d["exchange"], symbol=d["symbol"], native_symbol=d.get("native_symbol", ""),
                           side=d["side"], price=float(d["price"]), qty=float(d["qty"]),
                           notional_usd=float(d["notional_usd"]), ts_event=ts, ts_recv=int(d.get("ts_recv") or ts),
                           throttled=comp == "throttled", completeness=comp)
    if kind == "status":
        return FeedStatus(exchange=d["exchange"], connected=bool(d["connected"]),
                          throttled=bool(d.get("throttled", False)), reconnects=int(d.get("reconnects", 0)),
                          frames=int(d.get("frames", 0)), bad_frames=int(d.get("bad_frames", 0)),
                          events=int(d.get("events", 0)), last_frame_ns=int(d.get("last_frame_ns", 0)),
                          ts=int(d["ts"]), completeness=completeness_of(d.get("completeness", "complete"),
                                                                         bool(d.get("throttled"))))
    return None


def parse(lines: Iterable[bytes | str]) -> Iterator[Message]:
    """Messages of a normalized stream; a bad line is logged and skipped."""
    normalizer: Callable[[dict[str, Any]], list[Any]] | None = None
    for n, line in enumerate(lines, 1):
        try:
            d = orjson.loads(line)
            if "raw" not in d or "exchange" not in d:  # a normalized line: the usual case, one message
                msg = to_message(d)
                if msg is not None:
                    yield msg
                continue
            normalizer = normalizer or recorded_normalizer()
            if normalizer is None:
                log.warning("backtest: line %d is a raw recording and ingest is not installed", n)
                continue
            rows = [x if isinstance(x, dict) else {"type": x.KIND, **as_dict(x)} for x in normalizer(d)]
            for row in rows:
                msg = to_message(row)
                if msg is not None:
                    yield msg
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("backtest: line %d skipped: %s", n, str(exc)[:200])


@dataclass
class Replay:
    """Drives one analytics Engine and one SignalGenerator in event time, the way the live shard does.

    Liquidations first pass the live ingester's own `Deduper` (one per venue, as each ingest process
    has one), so a duplicated delivery replays exactly as live. After each liquidation the touched
    symbol is snapshotted (at most every `min_emit_interval_s`, a skipped one is taken at the next
    chance), every active symbol once per `snapshot_every_s`, and `on_tick` runs once per second of
    event time. No sockets, no sleeping: deterministic. With `record`, every snapshot evaluation's
    published probability is kept in `evaluations` as (symbol, ts, p) for the reliability table;
    `observer(symbol, ts, snapshot, p, context)` sees each evaluation with the generator's breakdown
    (factors, regime, price move), e.g. to fit weights and a calibration on training streams.
    """

    cfg: Config
    record: bool = False
    dedupe: bool = True  # False: let duplicates through, to test what analytics does with one that slips by
    observer: Callable[[str, int, MetricsSnapshot, float, dict[str, Any]], None] | None = None
    signals: list[Signal] = field(default_factory=list)
    evaluations: list[tuple[str, int, float]] = field(default_factory=list)
    events: int = 0
    duplicates: int = 0
    prices: int = 0
    first_ns: int | None = None
    last_ns: int = 0
    symbols: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.dedupers: dict[str, Deduper] = {}
        self.engine = Engine(self.cfg.analytics)
        self.gen = SignalGenerator(self.cfg)
        self._min_emit_ns = int(self.cfg.analytics.min_emit_interval_s * NS)
        self._every_ns = int(self.cfg.analytics.snapshot_every_s * NS)
        self._last_emit: dict[str, int] = {}
        self._pending: set[str] = set()
        self._next_tick: int | None = None
        self._next_snap: int | None = None

    def run(self, messages: Iterable[Message]) -> list[Signal]:
        for msg in messages:
            self.feed(msg)
        self.finish()
        return self.signals

    def feed(self, msg: Message) -> None:
        t = msg.ts if isinstance(msg, FeedStatus) else msg.ts_event
        t = max(t, self.last_ns)  # a late event does not move the clock back
        if self.first_ns is None:
            self.first_ns = t
            self._next_tick = self._next_snap = (t // NS + 1) * NS
        self._advance(t)
        self.last_ns = t
        if isinstance(msg, Liquidation):
            if self.dedupe:
                dedupe = self.dedupers.get(msg.exchange)
                if dedupe is None:
                    dedupe = self.dedupers[msg.exchange] = Deduper(name=f"backtest {msg.exchange}")
                if not dedupe.filter((msg,)):
                    self.duplicates += 1
                    return
            self.events += 1
            self.symbols.add(msg.symbol)
            self.engine.update(msg)
            self._pending.add(msg.symbol)
        elif isinstance(msg, PriceTick):
            self.prices += 1
            self.gen.on_price(msg)
        else:
            self.engine.update_status(msg)
            self.gen.on_status(msg)
        self._flush_pending(t)

    def finish(self) -> None:
        if self.first_ns is not None:
            self._advance(self.last_ns + TAIL_S * NS)

    def _advance(self, t: int) -> None:
        """Run the periodic snapshots and ticks that fall due up to event time t."""
        while self._next_tick is not None:  # runs per message: one comparison when nothing is due
            if self._next_snap <= self._next_tick:
                if self._next_snap > t:
                    break
                now = self._next_snap
                self._flush_pending(now)
                for sym in self.engine.active_symbols(now):
                    self._snapshot(sym, now)
                self._next_snap += self._every_ns
            else:
                if self._next_tick > t:
                    break
                now = self._next_tick
                self._flush_pending(now)
                self.signals += self.gen.on_tick(now)
                self.engine.expire(now)
                self._next_tick += NS

    def _flush_pending(self, now: int) -> None:
        if not self._pending:  # the usual case: runs per message and per due step
            return
        for sym in sorted(self._pending):
            if now - self._last_emit.get(sym, -self._min_emit_ns) >= self._min_emit_ns:
                self._snapshot(sym, now)

    def _snapshot(self, sym: str, now: int) -> None:
        self._pending.discard(sym)
        self._last_emit[sym] = now
        snap = self.engine.snapshot(sym, now)
        self.signals += self.gen.on_metrics(snap, now)
        if self.record or self.observer:  # the generator keeps the p it just published in the level state
            st = self.gen.states[sym]
            if self.record:
                self.evaluations.append((sym, now, st.probability))
            if self.observer:
                self.observer(sym, now, snap, st.probability, st.context)


def changes(signals: Iterable[Signal]) -> list[Signal]:
    return [s for s in signals if not s.heartbeat]


def summary(rep: Replay) -> dict[str, Any]:
    """What the replay saw and produced, without labels."""
    ch = changes(rep.signals)
    span_s = ((rep.last_ns - rep.first_ns) / NS) if rep.first_ns is not None else 0.0
    entries = {lv: sum(1 for s in ch if s.symbol != MARKET and LEVEL_RANK[s.previous_level] < LEVEL_RANK[lv]
                       <= LEVEL_RANK[s.level]) for lv in LEVELS[1:]}
    return {"events": rep.events, "duplicates_dropped": getattr(rep, "duplicates", 0), "prices": rep.prices,
            "symbols": sorted(rep.symbols), "span_s": round(span_s, 3), "level_changes": len(ch),
            "market_changes": sum(1 for s in ch if s.symbol == MARKET), "entries": entries}


def score(signals: list[Signal], labels: list[dict[str, Any]], span_s: float, n_symbols: int,
          min_usd: float = 20e6, max_duration_s: float = 60.0, min_venues: int = 2) -> dict[str, Any]:
    """Precision/recall per level, onset->ALERT delay, false ALERT rate, whale ALERTs.

    A level entry (an escalation crossing into level L or above) matches a cascade label of the same
    symbol when it falls within [start - 10 s, end + 60 s]. Recall counts target cascades ($20M+,
    within 60 s, on 2+ venues) with an entry at L or above in that window. A false ALERT is an ALERT+
    entry matching no cascade; rates are per hour and per symbol-day of replayed time.
    """
    ch = [s for s in changes(signals) if s.symbol != MARKET]
    cascades = [lb for lb in labels if is_positive(lb)]
    targets = [lb for lb in cascades if lb["usd"] >= min_usd and len(lb["venues"]) >= min_venues
               and (lb["end_ns"] - lb["start_ns"]) / NS <= max_duration_s]

    def inside(s: Signal, lb: dict[str, Any]) -> bool:
        return (s.symbol == lb["symbol"] and lb["start_ns"] - MATCH_BEFORE_S * NS <= s.ts
                <= lb["end_ns"] + MATCH_AFTER_S * NS)

    levels: dict[str, Any] = {}
    for lv in LEVELS[1:]:
        r = LEVEL_RANK[lv]
        entries = [s for s in ch if LEVEL_RANK[s.previous_level] < r <= LEVEL_RANK[s.level]]
        hits = sum(1 for s in entries if any(inside(s, lb) for lb in cascades))
        found = sum(1 for lb in targets if any(LEVEL_RANK[s.level] >= r and inside(s, lb) for s in ch))
        levels[lv] = {"entries": len(entries), "true": hits,
                      "precision": round(hits / len(entries), 4) if entries else None,
                      "recall": round(found / len(targets), 4) if targets else None}
    alert = LEVEL_RANK["ALERT"]
    delays = []
    for lb in targets:
        first = next((s for s in ch if LEVEL_RANK[s.level] >= alert and inside(s, lb)), None)
        if first is not None:
            delays.append(max(0.0, (first.ts - lb["start_ns"]) / NS))
    false_alerts = levels["ALERT"]["entries"] - levels["ALERT"]["true"]
    whales = [lb for lb in labels if class_of(lb) in WHALE_CLASSES]
    whale_alerts = sum(1 for lb in whales if any(LEVEL_RANK[s.level] >= alert and s.symbol == lb["symbol"]
                                                 and lb["start_ns"] <= s.ts <= lb["end_ns"] + 60 * NS
                                                 for s in ch))
    hours = span_s / 3600.0
    return {
        "levels": levels, "targets": len(targets), "cascades": len(cascades),
        "recall_alert": levels["ALERT"]["recall"],
        "delay_s": {"median": round(statistics.median(delays), 3) if delays else None,
                    "p90": round(sorted(delays)[int(0.9 * (len(delays) - 1))], 3) if delays else None,
                    "max": round(max(delays), 3) if delays else None, "n": len(delays)},
        "false_alerts": false_alerts,
        "false_alerts_per_hour": round(false_alerts / hours, 4) if hours else None,
        "false_alerts_per_symbol_day": round(false_alerts / (hours / 24.0) / max(1, n_symbols), 4)
        if hours else None,
        "whales": len(whales), "whale_alerts": whale_alerts, "hours": round(hours, 3),
    }


def run_file(cfg: Config, path: str | Path, record: bool = False, dedupe: bool = True,
             progress: bool = False) -> Replay:
    """Replay a plain or gzip file of normalized lines (`common.input_files.read_lines`: gzip by content)."""
    rep = Replay(cfg, record=record, dedupe=dedupe)
    rep.run(parse(read_lines(str(path), progress=progress)))
    return rep
