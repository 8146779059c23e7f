"""The Engine facade: per-symbol state in, MetricsSnapshot out; pure and clock-injected."""
from __future__ import annotations

import logging
import math

import numpy as np

from analytics.correlation import venue_correlation
from analytics.derivatives import kinematics
from analytics.explain import sentence
from analytics.feeds import FeedBook
from analytics.risk import FACTORS, Flow, WindowFlow, combine, confidence, n_effective, score_factors
from analytics.state import (
    CNT_L,
    CNT_S,
    GLOBAL_ROWS,
    SQ,
    USD_L,
    USD_S,
    WHALE,
    Layout,
    SymbolState,
)
from analytics.windows import NS, parse_window
from common.config import AnalyticsConfig
from common.schema import LONG, SHORT, FeedStatus, Liquidation, MetricsSnapshot

log = logging.getLogger(__name__)

SCORING_WINDOWS = ("2s", "10s", "60s")  # what risk reads: fast enough for onset, long enough for a wave
REF_WINDOW = "10s"  # by_venue, direction, imbalance, concentration
GRID_WINDOW = "60s"  # participation and sample size


class Engine:
    """Liquidations and feed statuses in; per-symbol snapshots out.

    Same updates and same `now_ns` give the same snapshot: no wall clock is read here, so live,
    replay and backtest run this exact code.
    """

    def __init__(self, cfg: AnalyticsConfig) -> None:
        unknown = set(cfg.weights) - set(FACTORS)
        if unknown:
            raise ValueError(f"unknown risk weight(s) {sorted(unknown)}; known: {', '.join(FACTORS)}")
        self.cfg = cfg
        self.window_names = tuple(cfg.windows)
        names = dict.fromkeys(self.window_names + SCORING_WINDOWS + (REF_WINDOW, GRID_WINDOW))
        self._names = tuple(names)  # every window computed: configured first, then internal ones
        self._ns = np.array([parse_window(n) for n in self._names], dtype=np.int64)
        self._secs_list = [int(w) / NS for w in self._ns]
        self._index = {name: i for i, name in enumerate(self._names)}
        self._scoring = tuple((n, self._index[n]) for n in SCORING_WINDOWS)
        self.layout = Layout.build(tuple(int(w) for w in self._ns))  # columns in self._names order
        self.largest_ns = int(max(parse_window(n) for n in self.window_names or SCORING_WINDOWS))
        self.idle_ns = int(cfg.idle_expire_s * NS)
        self.symbols: dict[str, SymbolState] = {}
        self.feeds = FeedBook(cfg)
        self.rejected = 0

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
        st.update(liq.exchange, liq.side == LONG, ts, int(liq.ts_recv), usd)

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
        return dropped

    # -- output -------------------------------------------------------------------------------------
    def snapshot(self, symbol: str, now_ns: int) -> MetricsSnapshot:
        """The symbol's flow picture at now_ns (all plain Python types, msgpack-ready)."""
        st = self.symbols.get(symbol)
        if st is None or not st.venues:
            return self._empty(symbol, now_ns)
        k, secs = self._index, self._secs_list
        r, g = k[REF_WINDOW], k[GRID_WINDOW]
        m = st.measure(now_ns, r)
        venues = list(st.venues)  # in row order
        # m.totals[row][window][lag]: USD or counts in the 3 windows back, all venues summed
        sq, whale = m.totals[SQ], m.totals[WHALE]
        side = m.totals[GLOBAL_ROWS:]  # [usd long, usd short, count long, count short][window][lag]
        usd3 = [[x + y for x, y in zip(lo, sh, strict=True)] for lo, sh in zip(side[USD_L], side[USD_S],
                                                                               strict=True)]
        kin = [kinematics(u, w) for u, w in zip(usd3, secs, strict=True)]  # (USD/s, USD/s², USD/s³)
        cnt = [lo[0] + sh[0] for lo, sh in zip(side[CNT_L], side[CNT_S], strict=True)]  # events
        wins = [(n, k[n]) for n in self.window_names]

        def per_window(values: list[float], scale: bool = False) -> dict[str, float]:
            return {n: values[i] / secs[i] if scale else values[i] for n, i in wins}

        long_usd, short_usd = side[USD_L][r][0], side[USD_S][r][0]
        n_eff_ref = n_effective(usd3[r][0], sq[r][0])
        if m.grid is None:  # one venue: no correlation, and it takes part if it has any USD
            rho, taking_part = 0.0, int(m.grid_usd > 0.0)
        else:
            rho, taking_part = venue_correlation(m.grid)
        baseline = st.baseline.usd_per_s(now_ns, st.first_seen)
        floor = self.cfg.floor_usd_per_s.get(symbol, self.cfg.floor_usd_per_s_default)
        flow = Flow(
            windows=tuple(WindowFlow(n, secs[i], (usd3[i][0] / secs[i], usd3[i][1] / secs[i], usd3[i][2] / secs[i]),
                                     n_effective(usd3[i][0], sq[i][0])) for n, i in self._scoring),
            ref_usd_per_s=max(baseline, floor), long_usd=long_usd, short_usd=short_usd,
            whale_usd=whale[r][0], n_eff=n_eff_ref, rho=rho, venues_active=taking_part)
        raw_scores, factor_windows, ratio = score_factors(flow)
        risk, factors = combine(raw_scores, self.cfg.weights)

        known = sorted(set(venues) | set(self.feeds.venues))
        feeds = {v: self.feeds.describe(v, now_ns) for v in known}  # (throttled, connected, stale)
        conf = confidence(cnt[g], (now_ns - st.last_event_ns) / NS, self.feeds.coverage_of(feeds.values()))
        if long_usd == short_usd:
            direction = LONG if side[USD_L][g][0] >= side[USD_S][g][0] else SHORT
        else:
            direction = LONG if long_usd > short_usd else SHORT
        vw = k[factor_windows["velocity"]]
        side_usd = side[USD_L if direction == LONG else USD_S][vw][0]
        text = sentence(symbol, side_usd=side_usd, direction=direction, window=factor_windows["velocity"],
                        ratio=ratio, baseline=baseline, floor=floor,
                        accel_score=factors["acceleration"]["score"], accel=kin[r][1],
                        n_eff=n_eff_ref, venues_active=taking_part, venues_known=len(known), rho=rho,
                        usd_60s=usd3[g][0])
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
            "long_usd_per_s": per_window([x[0] for x in side[USD_L]], True),
            "short_usd_per_s": per_window([x[0] for x in side[USD_S]], True),
            "imbalance": (long_usd - short_usd) / total_ref if total_ref > 0 else 0.0,
            "concentration": factors["concentration"]["raw"], "n_effective": n_eff_ref,
            "baseline_usd_per_s": baseline, "floor_usd_per_s": float(floor), "velocity_ratio": ratio,
            "factor_windows": factor_windows, "venues": venue_info,
        }
        return MetricsSnapshot(
            symbol=symbol, ts=int(now_ns), velocity_usd_per_s=per_window([x[0] for x in kin]),
            acceleration_usd_per_s2=per_window([x[1] for x in kin]),
            jerk_usd_per_s3=per_window([x[2] for x in kin]),
            count_per_s=per_window(cnt, True), by_venue=by_venue, correlation=rho,
            venues_active=taking_part, risk=risk, confidence=conf, direction=direction, factors=factors,
            explanation=text, ts_trigger_event=int(st.trigger[0]), ts_trigger_recv=int(st.trigger[1]),
            extra=extra)

    def _empty(self, symbol: str, now_ns: int) -> MetricsSnapshot:
        zeros = dict.fromkeys(self.window_names, 0.0)
        _, factors = combine({f: (0.0, 0.0) for f in FACTORS}, self.cfg.weights)
        floor = float(self.cfg.floor_usd_per_s.get(symbol, self.cfg.floor_usd_per_s_default))
        extra = {"long_usd_per_s": dict(zeros), "short_usd_per_s": dict(zeros), "imbalance": 0.0,
                 "concentration": 0.0, "n_effective": 0.0, "baseline_usd_per_s": 0.0,
                 "floor_usd_per_s": floor, "velocity_ratio": 0.0, "factor_windows": {}, "venues": {}}
        return MetricsSnapshot(
            symbol=symbol, ts=int(now_ns), velocity_usd_per_s=dict(zeros), acceleration_usd_per_s2=dict(zeros),
            jerk_usd_per_s3=dict(zeros), count_per_s=dict(zeros), by_venue={}, correlation=0.0,
            venues_active=0, risk=0.0, confidence=0.0, direction=LONG, factors=factors,
            explanation=f"{symbol}: quiet, no liquidations in the last 60 s", extra=extra)

    def memory_bytes(self) -> int:
        """numpy buffer bytes held by all symbols (see benchmark.measure for the full figure)."""
        return sum(st.nbytes() for st in self.symbols.values())
