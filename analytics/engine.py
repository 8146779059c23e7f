"""The Engine facade: per-symbol state in, MetricsSnapshot out; pure and clock-injected."""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np

from analytics.correlation import venue_correlation
from analytics.est_usd import Estimate, est_phrase
from analytics.explain import money, sentence
from analytics.feeds import FeedBook
from analytics.gates import (
    GATE_LEVELS,
    SATURATION_MIN,
    SATURATION_SECONDS,
    THROTTLE_SHOWN_MAX,
    censored_usd,
    gate_level,
    gate_margin,
    gates_for,
    saturation_cap,
)
from analytics.intake import Intake
from analytics.market_context import ContextBook, confirm, oi_phrase, oi_score, snapshot_fields
from analytics.risk import (
    FACTORS,
    Flow,
    WindowFlow,
    combine_normalized,
    confidence,
    n_effective,
    normalized_weights,
    score_factors,
)
from analytics.shown import ShownView
from analytics.state import (
    CNT_L,
    CNT_S,
    GLOBAL_ROWS,
    SQ,
    USD_L,
    USD_S,
    WHALE,
    Layout,
    Measures,
    SymbolState,
    measure_many,
)
from analytics.throttle import MIN_SPACINGS, events_per_shown, pooled_rate
from analytics.windows import NS, parse_window
from common import calibration
from common.config import AnalyticsConfig
from common.schema import LONG, SHORT, FeedStatus, Liquidation, MarketContext, MetricsSnapshot

log = logging.getLogger(__name__)

SCORING_WINDOWS = ("2s", "10s", "60s")  # what risk reads: fast enough for onset, long enough for a wave
# Columns of state.Measures.totals: USD and counts of each side, all venues summed
UL, US, CL, CS = GLOBAL_ROWS + USD_L, GLOBAL_ROWS + USD_S, GLOBAL_ROWS + CNT_L, GLOBAL_ROWS + CNT_S
REF_WINDOW = "10s"  # by_venue, direction, imbalance, concentration
GRID_WINDOW = "60s"  # participation and sample size


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
        self.feeds = FeedBook(cfg)
        self.context = ContextBook()  # open interest, funding, basis per symbol and venue (market_context.py)
        self.est = Estimate(cfg.est_half_life_s)  # throttled venues' visible fraction (est_usd.py)
        self.intake = Intake(cfg, self.layout, self.feeds)
        self.symbols: dict[str, SymbolState] = self.intake.symbols
        # symbol -> throttled venue -> its shown event times (throttle.ShownTimes), kept by the intake
        self.shown = ShownView(self.intake.shown, self.intake.slot_of, lambda s: self.symbols[s].venues)
        self._ref_weights = self.layout.venue_weights(3 * self._ref)  # checks the venue window's shape

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
            self.shown.pop(s, None)
        self.context.expire(now_ns)
        return dropped

    # -- output -------------------------------------------------------------------------------------
    def snapshot(self, symbol: str, now_ns: int) -> MetricsSnapshot:
        """The symbol's flow picture at now_ns (all plain Python types, msgpack-ready)."""
        st = self.symbols.get(symbol)
        if st is None or not st.venues:
            return self._empty(symbol, now_ns)
        return self._build(symbol, st, st.measure(now_ns, self._ref), now_ns)

    def snapshots(self, symbols: Sequence[str], now_ns: int) -> Iterator[MetricsSnapshot]:
        """`snapshot` of each of `symbols` in order (the same values), their window sums read for all at
        once; each snapshot is built when the iterator reaches it (a sender can send it right away)."""
        states = [(s, self.symbols.get(s)) for s in symbols]
        live = [(s, st) for s, st in states if st is not None and st.venues]
        if len(live) < 2:
            yield from (self.snapshot(s, now_ns) for s in symbols)
            return
        sums = dict(zip((s for s, _ in live), measure_many([st for _, st in live], now_ns, self._ref), strict=True))
        for s, st in states:
            yield self._build(s, st, sums[s], now_ns) if st is not None and s in sums else self._empty(s, now_ns)

    def _build(self, symbol: str, st: SymbolState, m: Measures, now_ns: int) -> MetricsSnapshot:
        k, secs = self._index, self._secs_list
        r, g = self._ref, self._grid
        venues = sorted(st.venues, key=st.venues.__getitem__)  # in the book's venue order
        # Every window in one pass over the raw sums t[i][k][row] (state.Measures), as plain floats
        # (for a handful of windows cheaper than numpy calls): v_k in USD/s of the three windows
        # back, then velocity, acceleration and jerk as derivatives.kinematics defines them.
        t = m.totals.tolist()
        vl, vel, acc, jerk, cnt, lo, sh = [], [], [], [], [], [], []
        for (s0, s1, s2), w in zip(t, secs, strict=True):
            v0, v1, v2 = (s0[UL] + s0[US]) / w, (s1[UL] + s1[US]) / w, (s2[UL] + s2[US]) / w
            vl.append((v0, v1, v2))
            vel.append(v0)
            acc.append((v0 - v1) / w)  # USD/s²
            jerk.append((v0 - 2.0 * v1 + v2) / (w * w))  # USD/s³
            cnt.append((s0[CL] + s0[CS]) / w)  # events/s
            lo.append(s0[UL] / w)
            sh.append(s0[US] / w)
        names = self.window_names  # the configured windows come first in secs and t

        def per_window(values: list[float]) -> dict[str, float]:
            return dict(zip(names, values, strict=False))  # values: configured windows first, then others

        def usd_of(i: int) -> float:  # both sides, (t-W, t] of window i
            return t[i][0][UL] + t[i][0][US]

        long_usd, short_usd = t[r][0][UL], t[r][0][US]
        n_eff_ref = n_effective(usd_of(r), t[r][0][SQ])
        if len(venues) < 2:  # one venue: no correlation, and it takes part if it has any USD
            rho, taking_part = 0.0, int(m.grid_usd > 0.0)
        else:
            rho, taking_part = m.rho or venue_correlation(m.grid[[st.venues[v] for v in venues]])
        baseline = st.baseline(now_ns, clean=False) if m.baseline is None else m.baseline
        floor = self.cfg.floor_usd_per_s.get(symbol, self.cfg.floor_usd_per_s_default)
        hidden, hidden_2s = self._censored(st, m, now_ns)
        long_share = long_usd / (long_usd + short_usd) if long_usd + short_usd > 0 else 0.0
        # the censored estimate covers the last 10 s: all of a 10 s or longer window; the 2 s window has its own
        hid = {n: hidden_2s if secs[i] < secs[r] else hidden for n, i in self._scoring}
        flow = Flow(
            windows=tuple(WindowFlow(n, secs[i], (vl[i][0] + hid[n] / secs[i], vl[i][1], vl[i][2]),
                                     n_effective(usd_of(i), t[i][0][SQ]), hid[n] / secs[i])
                          for n, i in self._scoring),
            ref_usd_per_s=max(baseline, floor), long_usd=long_usd, short_usd=short_usd,
            whale_usd=t[r][0][WHALE], n_eff=n_eff_ref, rho=rho, venues_active=taking_part)
        raw_scores, factor_windows, ratio = score_factors(flow)
        risk, factors = combine_normalized(raw_scores, self._weights)

        known = sorted(set(venues) | set(self.feeds.venues))
        feeds = {v: self.feeds.describe(v, now_ns) for v in known}  # (completeness, connected, stale)
        cnt_60s = t[g][0][CL] + t[g][0][CS]
        conf = confidence(cnt_60s, (now_ns - st.last_event_ns) / NS, self.feeds.coverage_of(feeds.values()))
        reading = self.context.read(symbol, now_ns)  # OI falling with the flow confirms it (never alone)
        risk, conf, oi_s = confirm(risk, conf, reading, min(1.0, ratio), self.cfg.oi_weight)
        est = self._estimate(symbol, st, m, feeds, reading, now_ns)
        # Direction, velocity, ratio and sentence all read the velocity factor's window: the side named
        # is the side that carries the flow the ratio measures (ties: the 60 s window decides).
        vw = k[factor_windows["velocity"]]
        side = {LONG: {n: t[i][0][UL] + hid[n] * long_share for n, i in self._scoring},
                SHORT: {n: t[i][0][US] + hid[n] * (1.0 - long_share) for n, i in self._scoring}}
        vname = factor_windows["velocity"]
        lw, sw = side[LONG][vname], side[SHORT][vname]
        if lw == sw:
            lw, sw = t[g][0][UL], t[g][0][US]
        direction = LONG if lw >= sw else SHORT
        side_usd = side[direction][vname]
        gates = gates_for(self.cfg.usd_gates.get(symbol), max(baseline, floor), self.cfg.usd_gate_seconds)
        # Gates count a crowd's dollars: whale-sized liquidations (>= whale_usd, fills of one position merged)
        # are the whale guard's business, so two whales on two venues cannot open the gate between them.
        crowd = {n: max(0.0, side[direction][n] - t[i][0][WHALE]) for n, i in self._scoring}
        met = gate_level(crowd, gates)
        text = sentence(symbol, side_usd=side_usd, direction=direction, window=vname,
                        ratio=ratio, baseline=baseline, floor=floor,
                        accel_score=factors["acceleration"]["score"], accel=acc[vw],
                        n_eff=n_eff_ref, venues_active=taking_part, venues_known=len(known), rho=rho,
                        usd_60s=usd_of(g), censored=hidden,
                        notes=(oi_phrase(reading), est_phrase(usd_of(r), *est[:3], money)))
        ref_secs = secs[r]
        by_venue = {v: m.venue_usd[st.venues[v]] / ref_secs for v in venues}
        venue_info = {}
        for v, (completeness, connected, stale) in feeds.items():
            i = st.venues.get(v)
            venue_info[v] = {
                "completeness": completeness, "throttled": completeness == "throttled",
                "connected": connected, "stale": stale,
                "usd_per_s": by_venue.get(v, 0.0),
                "events": 0 if i is None else int(round(m.venue_events[i])),
            }
        total_ref = long_usd + short_usd
        extra = {
            "long_usd_per_s": per_window(lo), "short_usd_per_s": per_window(sh),
            "imbalance": (long_usd - short_usd) / total_ref if total_ref > 0 else 0.0,
            "concentration": factors["concentration"]["raw"], "n_effective": n_eff_ref,
            "baseline_usd_per_s": baseline, "floor_usd_per_s": float(floor), "velocity_ratio": ratio,
            "factor_windows": factor_windows, "venues": venue_info, "censored_usd_10s": hidden,
            "gate": {"met": GATE_LEVELS[met - 1] if met else "", "usd_10s": dict(zip(GATE_LEVELS, gates, strict=True)),
                     "crowd_usd": crowd, "margin": gate_margin(crowd, gates[0])},
            "market_context": {"oi_score": oi_score(reading), "oi_confirmation": oi_s, "visible_fraction": est[3],
                               "oi_usd_by_venue": reading.oi_by_venue if reading else {}},
        }
        return MetricsSnapshot(
            symbol=symbol, ts=int(now_ns), velocity_usd_per_s=per_window(vel),
            acceleration_usd_per_s2=per_window(acc), jerk_usd_per_s3=per_window(jerk),
            count_per_s=per_window(cnt), by_venue=by_venue, correlation=rho,
            venues_active=taking_part, risk=risk, confidence=conf, direction=direction, factors=factors,
            explanation=text, ts_trigger_event=int(st.trigger[0]), ts_trigger_recv=int(st.trigger[1]),
            extra=extra, **snapshot_fields(reading, est[:3]))

    def _estimate(self, symbol: str, st: SymbolState, m: Measures, feeds: dict[str, tuple[str, bool, bool]],
                  reading: object, now_ns: int) -> tuple[float, float, float, dict[str, float]]:
        """est_usd over 10 s (est_usd.py): calibrate on the completed seconds, then scale the observed USD."""
        venues = [""] * len(m.venue_usd)  # grid rows and venue sums are book venue indices; "" = not this symbol's
        for v, i in st.venues.items():
            venues[i] = v
        completeness = {v: d[0] for v, d in feeds.items()}
        live = {v: d[1] and not d[2] for v, d in feeds.items()}
        sizes = getattr(reading, "oi_by_venue", None) or {}
        self.est.observe(symbol, venues, m.grid, now_ns, completeness, live, sizes)
        return self.est.estimate(symbol, {v: m.venue_usd[i] for v, i in st.venues.items()}, completeness)

    def _censored(self, st: SymbolState, m: Measures, now_ns: int) -> tuple[float, float]:
        """USD the saturated throttled feeds probably held back over the last 10 s and the last 2 s.

        Each feed's occupancy gives a Poisson reading (gates.censored_usd). When two or more throttled
        feeds of the symbol are saturated and their shown events tick like a clock (throttle.py), the
        timing rate they all support (the lowest; each feed's own once that is past `saturated_ratio`)
        says how many events stand behind each one a feed showed: then the larger reading counts, over
        10 s and over the last 2 s (a cascade ramping at onset hides in the newest seconds, not evenly).
        """
        least = min(SATURATION_MIN * SATURATION_SECONDS, MIN_SPACINGS + 1)  # below both readings: nothing hidden
        rows = [(v, i) for v, i in st.venues.items() if (feed := self.feeds.venues.get(v)) is not None
                and feed.throttled and m.venue_events[i] >= least]
        if not rows:
            return 0.0, 0.0
        occupied = (m.grid[:, -SATURATION_SECONDS:] > 0.0).sum(axis=1).tolist()
        cap = saturation_cap(sum(1 for _, i in rows if occupied[i] >= SATURATION_SECONDS), self.cfg.saturated_ratio)
        shown = self.shown.get(st.symbol, {})
        rates = {}
        for v, i in rows:
            dev = shown[v].deviations(now_ns, SATURATION_SECONDS) if v in shown else []
            if len(dev) >= MIN_SPACINGS:
                rates[i] = pooled_rate(dev, self.cfg.throttle_timing_z)
        # Two independent throttles at their ceiling (one alone is a local cluster), each read at the rate
        # they all support, so a sparse feed's lucky spacings cannot lift another's reading; once that rate
        # is past what a full feed is otherwise read as (saturated_ratio), each feed at its own rate.
        timed = len(rates) >= 2
        agreed = min(rates.values()) if timed else 0.0
        own = agreed >= self.cfg.saturated_ratio
        recent = m.grid[:, -2:].sum(axis=1).tolist() if timed else []
        h10 = h2 = 0.0
        for _, i in rows:
            poisson = censored_usd(occupied[i], m.venue_events[i], m.venue_usd[i], cap)
            h10_i, h2_i = poisson, poisson * 0.2
            if timed and i in rates and m.venue_events[i] <= THROTTLE_SHOWN_MAX * occupied[i]:
                behind = events_per_shown(rates[i] if own else agreed) - 1.0
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
