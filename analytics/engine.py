"""The Engine facade: per-symbol state in, MetricsSnapshot out; pure and clock-injected."""
from __future__ import annotations

import logging
from collections.abc import Container, Iterator, Sequence

import numpy as np

from analytics.est_usd import Estimate
from analytics.feeds import FeedBook
from analytics.gates import (
    SATURATION_MIN,
    SATURATION_SECONDS,
    THROTTLE_SHOWN_MAX,
    censored_usd,
    full_feed_reading,
)
from analytics.intake import Intake
from analytics.market_context import ContextBook
from analytics.risk import (
    FACTORS,
    combine_normalized,
    normalized_weights,
)
from analytics.shown import ShownView
from analytics.snapshot import Builder, kinematics_many
from analytics.state import (
    Layout,
    Measures,
    SymbolState,
    measure_batch,
)
from analytics.throttle import MIN_SPACINGS, events_per_shown, pooled_rate
from analytics.windows import NS, parse_window
from common import calibration
from common.config import AnalyticsConfig
from common.schema import LONG, FeedStatus, Liquidation, MarketContext, MetricsSnapshot

log = logging.getLogger(__name__)

SCORING_WINDOWS = ("2s", "10s", "60s")  # what risk reads: fast enough for onset, long enough for a wave
REF_WINDOW = "10s"  # by_venue, direction, imbalance, concentration
GRID_WINDOW = "60s"  # participation and sample size
_LEAST = min(SATURATION_MIN * SATURATION_SECONDS, MIN_SPACINGS + 1)  # events below both censored readings: none hidden


class Engine:
    """Liquidations and feed statuses in; per-symbol snapshots out.

    Same updates and same `now_ns` give the same snapshot: no wall clock is read here, so live,
    replay and backtest run this exact code.
    """

    def __init__(self, cfg: AnalyticsConfig) -> None:
        weights = calibration.weights(cfg.calibration, cfg.weights)
        unknown = set(weights) - set(FACTORS)
        if unknown:
            raise ValueError(f"unknown risk weight(s) {sorted(unknown)}; known: {', '.join(FACTORS)}")
        self.cfg = cfg
        self._weights = normalized_weights(weights)  # once per config, not per snapshot
        self.window_names = tuple(cfg.windows)
        names = dict.fromkeys(self.window_names + SCORING_WINDOWS + (REF_WINDOW, GRID_WINDOW))
        self._names = tuple(names)  # every window computed: configured first, then internal ones
        self._ns = np.array([parse_window(n) for n in self._names], dtype=np.int64)
        self._secs_list = [int(w) / NS for w in self._ns]
        self._index = {name: i for i, name in enumerate(self._names)}
        self._scoring = tuple((n, self._index[n]) for n in SCORING_WINDOWS)
        self._ref, self._grid = self._index[REF_WINDOW], self._index[GRID_WINDOW]
        self.layout = Layout.build(tuple(int(w) for w in self._ns))  # columns in self._names order
        self.largest_ns = int(max(parse_window(n) for n in self.window_names or SCORING_WINDOWS))
        self.idle_ns = int(cfg.idle_expire_s * NS)
        self._full_feed = full_feed_reading(cfg.saturated_ratio)  # what a full feed's occupancy reads (config only)
        self.feeds = FeedBook(cfg)
        self.context = ContextBook()  # open interest, funding, basis per symbol and venue (market_context.py)
        self.est = Estimate(cfg.est_half_life_s)  # throttled venues' visible fraction (est_usd.py)
        self.intake = Intake(cfg, self.layout, self.feeds)
        self.symbols: dict[str, SymbolState] = self.intake.symbols
        # symbol -> throttled venue -> its shown event times (throttle.ShownTimes), kept by the intake
        self.shown = ShownView(self.intake.shown, self.intake.slot_of, lambda s: self.symbols[s].venues)
        self._ref_weights = self.layout.venue_weights(3 * self._ref)  # checks the venue window's shape
        self.builder = Builder(self)  # the snapshot step (snapshot.py)

    @property
    def rejected(self) -> int:
        return self.intake.rejected

    @property
    def duplicates(self) -> int:
        """Exact duplicate deliveries dropped (live ingest drops them first)."""
        return self.intake.duplicates

    # -- input ------------------------------------------------------------------------------------
    def update(self, liq: Liquidation) -> None:
        """Place a liquidation at its ts_event (ts_recv if the venue gave none)."""
        self.intake.add(liq)

    def update_batch(self, liqs: Sequence[Liquidation]) -> None:
        """`update` for each of `liqs` in order (same state after), a batch at a time: what a shard
        receives in one poll round goes in with a few vectorized operations (see analytics/intake.py),
        read straight from the wire's columns when `liqs` is a LiquidationBatch."""
        self.intake.add_batch(liqs)

    def update_status(self, st: FeedStatus) -> None:
        self.feeds.update(st)

    def update_context(self, ctx: MarketContext) -> None:
        self.context.update(ctx)

    # -- lifecycle ----------------------------------------------------------------------------------
    def active_symbols(self, now_ns: int) -> list[str]:
        """Symbols with a liquidation within the largest window before now_ns."""
        return sorted(s for s, st in self.symbols.items() if now_ns - st.last_event_ns < self.largest_ns)

    def expire(self, now_ns: int) -> list[str]:
        """Drop symbols without a liquidation for idle_expire_s; return them."""
        dropped = sorted(s for s, st in self.symbols.items() if now_ns - st.last_event_ns >= self.idle_ns)
        for s in dropped:
            self.intake.drop(s)
            self.est.forget(s)
            self.builder.forget(s)
            self.shown.pop(s, None)
        self.context.expire(now_ns)
        return dropped

    # -- output -------------------------------------------------------------------------------------
    def snapshot(self, symbol: str, now_ns: int) -> MetricsSnapshot:
        """The symbol's flow picture at now_ns (all plain Python types, msgpack-ready)."""
        st = self.symbols.get(symbol)
        if st is None or not st.venues:
            return self._empty(symbol, now_ns)
        return self.builder.build(symbol, st, st.measure(now_ns, self._ref), now_ns)

    def snapshots(self, symbols: Sequence[str], now_ns: int) -> Iterator[MetricsSnapshot]:
        """`snapshot` of each of `symbols` in order (the same values), their window sums read and their risk
        factors scored for all at once (at the first `next`); each snapshot is built when the iterator reaches
        it (a sender can send it right away)."""
        states = [(s, self.symbols.get(s)) for s in symbols]
        live = [(s, st) for s, st in states if st is not None and st.venues]
        if len(live) < 2:
            yield from (self.snapshot(s, now_ns) for s in symbols)
            return
        names, held = [s for s, _ in live], [st for _, st in live]
        totals, measures = measure_batch(held, now_ns, self._ref)
        builder = self.builder
        kin = kinematics_many(totals, builder.secs_arr)
        s0 = totals[:, builder.read, 0].tolist()
        scored = builder.score_many(names, held, measures, totals, now_ns)
        sums = dict(zip(names, zip(measures, kin, s0, scored, strict=True), strict=True))
        build = builder.build
        for s, st in states:
            if st is not None and s in sums:
                m, k, rows, sc = sums[s]
                yield build(s, st, m, now_ns, k, rows, sc)
            else:
                yield self._empty(s, now_ns)

    def censor_candidates(self, measures: Sequence[Measures], throttled: Container[str]) -> list[bool]:
        """Per measures (one book's, at one now), whether `_censored` can find anything: a throttled venue
        with at least _LEAST events (`_censored` reads only those). False: it would return (0.0, 0.0); the
        check for all symbols at once costs less than `_censored`'s own for one."""
        names = self.intake.venue_names
        width = len(measures[0].venue_events) if measures else 0
        cols = [i for i, v in enumerate(names[:width]) if v in throttled]
        if not cols:
            return [False] * len(measures)
        events = np.array([m.venue_events for m in measures])
        return (events[:, cols] >= _LEAST).any(axis=1).tolist()

    def _censored(self, st: SymbolState, m: Measures, now_ns: int,
                  throttled: Container[str] | None = None) -> tuple[float, float]:
        """USD the saturated throttled feeds probably held back over the last 10 s and the last 2 s.

        Each feed's occupancy gives a Poisson reading (gates.censored_usd, 2.6x at most: a full feed's
        occupancy cannot say more, `gates.full_feed_reading`). When two or more throttled
        feeds of the symbol are saturated and their shown events all tick like a clock of at least
        `saturated_ratio` events/s (throttle.py), each feed's timing rate says how many events stand behind
        each one it showed: then the larger reading counts, over 10 s and over the last 2 s (a cascade
        ramping at onset hides in the newest seconds, not evenly).
        """
        least = _LEAST
        if throttled is None:  # the throttled feeds' names (a snapshot passes those it read with the feeds)
            throttled = self.feeds.throttled()
        events = m.venue_events
        rows = [(v, i) for v, i in st.venues.items() if v in throttled and events[i] >= least]
        if not rows:
            return 0.0, 0.0
        occupied = (m.grid[:, -SATURATION_SECONDS:] > 0.0).sum(axis=1).tolist()
        cap = self._full_feed
        shown = self.shown.get(st.symbol, {})
        rates = {}
        for v, i in rows:
            dev = shown[v].deviations(now_ns, SATURATION_SECONDS) if v in shown else []
            if len(dev) >= MIN_SPACINGS:
                rates[i] = pooled_rate(dev, self.cfg.throttle_timing_z)
        # Two independent throttles ticking like one dense clock (one alone is a local cluster): every timed feed
        # must read past `saturated_ratio` (8/s, hand-set: chop clusters carried by Binance and OKX alone read
        # 4-6/s, throttled-only cascades mostly 12-100 within 4 s), so neither a sparse feed's lucky spacings nor
        # a cluster's bunching lifts the reading; then each feed is read at its own rate.
        timed = len(rates) >= 2 and min(rates.values()) >= self.cfg.saturated_ratio
        recent = m.grid[:, -2:].sum(axis=1).tolist() if timed else []
        h10 = h2 = 0.0
        for _, i in rows:
            poisson = censored_usd(occupied[i], m.venue_events[i], m.venue_usd[i], cap)
            h10_i, h2_i = poisson, poisson * 0.2
            if timed and i in rates and m.venue_events[i] <= THROTTLE_SHOWN_MAX * occupied[i]:
                behind = events_per_shown(rates[i]) - 1.0
                h10_i, h2_i = max(h10_i, behind * m.venue_usd[i]), max(h2_i, behind * recent[i])
            h10 += h10_i
            h2 += h2_i
        return h10, h2

    def _empty(self, symbol: str, now_ns: int) -> MetricsSnapshot:
        zeros = dict.fromkeys(self.window_names, 0.0)
        _, factors = combine_normalized(dict.fromkeys(FACTORS, (0.0, 0.0)), self._weights)
        floor = float(self.cfg.floor_usd_per_s.get(symbol, self.cfg.floor_usd_per_s_default))
        extra = {"long_usd_per_s": dict(zeros), "short_usd_per_s": dict(zeros), "imbalance": 0.0,
                 "concentration": 0.0, "n_effective": 0.0, "baseline_usd_per_s": 0.0,
                 "floor_usd_per_s": floor, "velocity_ratio": 0.0, "factor_windows": {}, "venues": {},
                 "censored_usd_10s": 0.0, "gate": {"met": "", "usd_10s": {}, "crowd_usd": {}}}
        return MetricsSnapshot(
            symbol=symbol, ts=int(now_ns), velocity_usd_per_s=dict(zeros), acceleration_usd_per_s2=dict(zeros),
            jerk_usd_per_s3=dict(zeros), count_per_s=dict(zeros), by_venue={}, correlation=0.0,
            venues_active=0, risk=0.0, confidence=0.0, direction=LONG, factors=factors,
            explanation=f"{symbol}: quiet, no liquidations in the last 60 s", extra=extra)

    def memory_bytes(self) -> int:
        """numpy buffer bytes held by all symbols (see benchmark.measure for the full figure)."""
        return sum(st.nbytes() for st in self.symbols.values())
