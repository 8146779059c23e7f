"""The Engine facade: per-symbol state in, MetricsSnapshot out; pure and clock-injected."""
from __future__ import annotations

import logging
import math

import numpy as np

from analytics.correlation import venue_correlation
from analytics.explain import sentence
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
)
from analytics.throttle import MIN_SPACINGS, ShownTimes, events_per_shown, pooled_rate
from analytics.windows import NS, parse_window
from common import calibration
from common.config import AnalyticsConfig
from common.schema import LONG, SHORT, FeedStatus, Liquidation, MetricsSnapshot

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
        self.symbols: dict[str, SymbolState] = {}
        self.feeds = FeedBook(cfg)
        self.rejected = 0
        self.duplicates = 0  # exact duplicate deliveries dropped (live ingest drops them first)
        self.shown: dict[str, dict[str, ShownTimes]] = {}  # symbol -> throttled venue -> shown event times

    # -- input ------------------------------------------------------------------------------------
    def update(self, liq: Liquidation) -> None:
        """Place a liquidation at its ts_event (ts_recv if the venue gave none)."""
        usd = float(liq.notional_usd)
        if not (usd > 0.0 and math.isfinite(usd)) or liq.side not in (LONG, SHORT):
            self.rejected += 1
            return
        ts = int(liq.ts_event) if liq.ts_event > 0 else int(liq.ts_recv)
        st = self.symbols.get(liq.symbol)
        if st is None:
            whale = self.cfg.whale_usd.get(liq.symbol, self.cfg.whale_usd_default)
            st = self.symbols[liq.symbol] = SymbolState(liq.symbol, self.layout, self.cfg.baseline_s,
                                                        whale, ts)
        if liq.exchange not in self.feeds.venues or liq.throttled:
            self.feeds.seen(liq.exchange, liq.throttled)
        if not st.update(liq.exchange, liq.side == LONG, ts, int(liq.ts_recv), usd, float(liq.price)):
            self.duplicates += 1
        elif liq.throttled:  # the timing of what a throttled feed lets through tells its hidden rate
            by_venue = self.shown.get(liq.symbol)
            if by_venue is None:
                by_venue = self.shown[liq.symbol] = {}
            shown = by_venue.get(liq.exchange)
            if shown is None:
                shown = by_venue[liq.exchange] = ShownTimes()
            shown.add(ts)

    def update_status(self, st: FeedStatus) -> None:
        self.feeds.update(st)

    # -- lifecycle ----------------------------------------------------------------------------------
    def active_symbols(self, now_ns: int) -> list[str]:
        """Symbols with a liquidation within the largest window before now_ns."""
        return sorted(s for s, st in self.symbols.items() if now_ns - st.last_event_ns < self.largest_ns)

    def expire(self, now_ns: int) -> list[str]:
        """Drop symbols without a liquidation for idle_expire_s; return them."""
        dropped = sorted(s for s, st in self.symbols.items() if now_ns - st.last_event_ns >= self.idle_ns)
        for s in dropped:
            del self.symbols[s]
            self.shown.pop(s, None)
        return dropped

    # -- output -------------------------------------------------------------------------------------
    def snapshot(self, symbol: str, now_ns: int) -> MetricsSnapshot:
        """The symbol's flow picture at now_ns (all plain Python types, msgpack-ready)."""
        st = self.symbols.get(symbol)
        if st is None or not st.venues:
            return self._empty(symbol, now_ns)
        k, secs = self._index, self._secs_list
        r, g = self._ref, self._grid
        m = st.measure(now_ns, r)
        venues = list(st.venues)  # in row order
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
            rho, taking_part = venue_correlation(m.grid)
        baseline = st.baseline.usd_per_s(now_ns, st.first_seen)
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
        feeds = {v: self.feeds.describe(v, now_ns) for v in known}  # (throttled, connected, stale)
        cnt_60s = t[g][0][CL] + t[g][0][CS]
        conf = confidence(cnt_60s, (now_ns - st.last_event_ns) / NS, self.feeds.coverage_of(feeds.values()))
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
                        usd_60s=usd_of(g), censored=hidden)
        ref_secs = secs[r]
        by_venue = {v: usd / ref_secs for v, usd in zip(venues, m.venue_usd, strict=True)}
        venue_info = {}
        for v, (throttled, connected, stale) in feeds.items():
            i = st.venues.get(v)
            venue_info[v] = {
                "throttled": throttled, "connected": connected, "stale": stale,
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
        }
        return MetricsSnapshot(
            symbol=symbol, ts=int(now_ns), velocity_usd_per_s=per_window(vel),
            acceleration_usd_per_s2=per_window(acc), jerk_usd_per_s3=per_window(jerk),
            count_per_s=per_window(cnt), by_venue=by_venue, correlation=rho,
            venues_active=taking_part, risk=risk, confidence=conf, direction=direction, factors=factors,
            explanation=text, ts_trigger_event=int(st.trigger[0]), ts_trigger_recv=int(st.trigger[1]),
            extra=extra)

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
