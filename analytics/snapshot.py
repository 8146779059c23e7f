"""A symbol's MetricsSnapshot from its window sums (state.Measures): the Engine's output step.

It runs for every active symbol every second, so it is written for few Python operations: what depends
only on the config is computed once (`Builder.__init__`), the window sums are read as plain floats
(for a handful of windows cheaper than numpy calls), and for many symbols at once the kinematics of
all of them are one set of array operations (`kinematics_many`), bit for bit the plain-float values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analytics.correlation import venue_correlation
from analytics.est_usd import est_phrase
from analytics.explain import money, sentence
from analytics.gates import GATE_LEVELS, gate_level, gate_margin, gates_for
from analytics.market_context import confirm, oi_phrase, oi_score, snapshot_values
from analytics.risk import combine_normalized, confidence, n_effective, score_flow
from analytics.risk_many import score_many
from analytics.state import CNT_L, CNT_S, GLOBAL_ROWS, SQ, USD_L, USD_S, WHALE, Measures, SymbolState
from analytics.windows import NS
from common.schema import LONG, SHORT, MetricsSnapshot, metrics_snapshot

if TYPE_CHECKING:
    from analytics.engine import Engine

# Columns of state.Measures.totals: USD and counts of each side, all venues summed
UL, US, CL, CS = GLOBAL_ROWS + USD_L, GLOBAL_ROWS + USD_S, GLOBAL_ROWS + CNT_L, GLOBAL_ROWS + CNT_S
Kinematics = tuple[list[float], list[float], list[float], list[float], list[float], list[float]]
# (ρ, venues taking part, baseline, floor, reference, hidden 10 s, hidden 2 s, risk, factors, factor windows, ratio)
Scored = tuple[float, int, float, float, float, float, float, float, dict[str, dict[str, float]], dict[str, str], float]


def _n_effective(usd: np.ndarray, usd_sq: np.ndarray) -> np.ndarray:
    """`risk.n_effective` elementwise."""
    return np.divide(usd * usd, usd_sq, out=np.zeros(len(usd)), where=usd_sq > 0.0)


def kinematics(t: list[list[list[float]]], secs: list[float]) -> Kinematics:
    """Per window (velocity USD/s, acceleration USD/s², jerk USD/s³, events/s, long USD/s, short USD/s)
    from the raw sums t[i][k][row] of windows i, k = 0, 1, 2 windows back, as derivatives.kinematics
    defines them."""
    vel, acc, jerk, cnt, lo, sh = [], [], [], [], [], []
    for (s0, s1, s2), w in zip(t, secs):  # noqa: B905 - as many as the layout's windows; strict= costs ~0.7 µs a call
        v0, v1, v2 = (s0[UL] + s0[US]) / w, (s1[UL] + s1[US]) / w, (s2[UL] + s2[US]) / w
        vel.append(v0)
        acc.append((v0 - v1) / w)  # USD/s²
        jerk.append((v0 - 2.0 * v1 + v2) / (w * w))  # USD/s³
        cnt.append((s0[CL] + s0[CS]) / w)  # events/s
        lo.append(s0[UL] / w)
        sh.append(s0[US] / w)
    return vel, acc, jerk, cnt, lo, sh


def kinematics_many(sums: np.ndarray, secs: np.ndarray) -> list[Kinematics]:
    """`kinematics` of every symbol of sums (symbols, windows, 3, rows) in one set of array operations:
    the same IEEE operations in the same order, so the same floats."""
    s = sums[:, :, :, UL] + sums[:, :, :, US]
    v0, v1, v2 = s[:, :, 0] / secs, s[:, :, 1] / secs, s[:, :, 2] / secs
    cols = (v0, (v0 - v1) / secs, (v0 - 2.0 * v1 + v2) / (secs * secs),
            (sums[:, :, 0, CL] + sums[:, :, 0, CS]) / secs, sums[:, :, 0, UL] / secs, sums[:, :, 0, US] / secs)
    return list(zip(*(c.tolist() for c in cols), strict=True))


@dataclass(slots=True)
class FeedView:
    """Venues described at one `now` (FeedBook.describe_all) and what each snapshot reads of them: the same
    for every symbol whose venues the FeedBook knows (all of them, once the intake has seen their events),
    and for every `now` until a status arrives or a feed turns stale, so the feeds are described once for
    many snapshots (`Builder.feed_view`)."""

    version: int  # FeedBook.version it was described at
    lo: float  # ... and valid for now in (lo, hi] (`FeedBook.steady`): no feed turns stale or fresh in between
    hi: float
    known: list[str]  # venue names, sorted
    feeds: dict[str, tuple[str, bool, bool]]  # venue -> (completeness, connected, stale), in `known` order
    coverage: float  # FeedBook.coverage_of the feeds
    completeness: dict[str, str]
    live: dict[str, bool]  # connected and not stale
    throttled: frozenset[str]  # venues whose feed is throttled (Engine._censored reads these)


class Builder:
    """Builds snapshots for one Engine (its config, feeds, context and estimate)."""

    def __init__(self, eng: Engine) -> None:
        self.eng = eng
        self.cfg = eng.cfg
        self.names = eng.window_names  # configured windows: first in secs and the sums
        self.secs = eng._secs_list
        self.secs_arr = np.array(self.secs)
        self.ref, self.grid = eng._ref, eng._grid
        ref_secs = self.secs[self.ref]
        # (name, index, seconds, the 2 s censored estimate applies): the censored estimate covers the last
        # 10 s, all of a 10 s or longer window; a shorter one has its own
        # The windows `build` reads the newest span's raw sums of (the scoring ones, the reference and the grid
        # window): it gets those rows of the totals as lists (`s0`), `..._at` their positions there.
        self.read = sorted({self.ref, self.grid, *(i for _, i in eng._scoring)})
        at = {i: p for p, i in enumerate(self.read)}
        self.ref_at, self.grid_at = at[self.ref], at[self.grid]
        self.scoring = tuple((n, i, at[i], self.secs[i], self.secs[i] < ref_secs) for n, i in eng._scoring)
        self.index = eng._index
        self._gates: tuple[float, tuple[float, ...]] | None = None  # (reference USD/s, its tier gates)
        self.gate_min_n_eff = eng.cfg.gate_min_n_eff
        self._feeds: FeedView | None = None  # every FeedBook venue at the last `now` (`feed_view`)
        self._plans: dict[str, tuple] = {}  # symbol -> what `estimate` kept of its venues and feeds (`forget`)
        self._order: dict[str, tuple] = {}  # symbol -> (state, venues, `order`)

    def forget(self, symbol: str) -> None:
        """Drop what was kept for an expired symbol."""
        self._plans.pop(symbol, None)
        self._order.pop(symbol, None)

    def order(self, symbol: str, st: SymbolState) -> tuple[list[str], np.ndarray]:
        """The symbol's venues in the book's venue order, and their book indices (its grid rows) ascending: kept
        while its venues stay the same (a symbol's venues only grow; a new state is a new symbol)."""
        index = st.venues
        kept = self._order.get(symbol)
        if kept is None or kept[0] is not st or kept[1] != len(index):
            venues = sorted(index, key=index.__getitem__)
            kept = self._order[symbol] = (st, len(index), venues, np.array(sorted(index.values()), dtype=np.intp))
        return kept[2], kept[3]

    def describe(self, known: list[str], now_ns: int) -> FeedView:
        """The FeedView of venues `known` (sorted) at now_ns."""
        book = self.eng.feeds
        feeds = book.describe_all(known, now_ns)
        return FeedView(book.version, *book.steady(now_ns), known, feeds, book.coverage_of(feeds.values()),
                        {v: d[0] for v, d in feeds.items()}, {v: d[1] and not d[2] for v, d in feeds.items()},
                        book.throttled())

    def feed_view(self, venues: dict[str, int], now_ns: int) -> FeedView:
        """The FeedView of the union of `venues` (a symbol's) and the FeedBook's at now_ns: the FeedBook's
        alone, kept while the FeedBook stays the same and no feed's staleness changes (`FeedView.lo`, `hi`),
        when it knows all of `venues`."""
        book = self.eng.feeds
        if venues.keys() <= book.venues.keys():
            last = self._feeds
            if last is None or last.version != book.version or not last.lo < now_ns <= last.hi:
                last = self._feeds = self.describe(sorted(book.venues), now_ns)
            return last
        return self.describe(sorted(set(venues).union(book.venues)), now_ns)

    def gates(self, symbol: str, ref_usd_per_s: float) -> tuple[float, ...]:
        """`gates_for` the symbol; the tier gates of the last reference flow are kept (same input, same gates)."""
        explicit = self.cfg.usd_gates.get(symbol)
        if explicit:
            return gates_for(explicit, ref_usd_per_s, self.cfg.usd_gate_seconds)
        last = self._gates
        if last is not None and last[0] == ref_usd_per_s:
            return last[1]
        gates = gates_for(None, ref_usd_per_s, self.cfg.usd_gate_seconds)
        self._gates = (ref_usd_per_s, gates)
        return gates

    def build(self, symbol: str, st: SymbolState, m: Measures, now_ns: int, kin: Kinematics | None = None,
              s0: list[list[float]] | None = None, scored: Scored | None = None) -> MetricsSnapshot:
        """The symbol's flow picture at now_ns (`Engine.snapshot`) from its window sums `m`; `kin`: its
        `kinematics` when computed with other symbols' (`kinematics_many`); `s0`: m.totals[self.read, 0] as
        lists, and `scored` its `score`, when computed with other symbols' (`score_many`)."""
        eng, cfg, secs = self.eng, self.cfg, self.secs
        full = None
        if kin is None:
            full = m.totals.tolist()
            kin = kinematics(full, secs)
            s0 = [full[i][0] for i in self.read]
        elif s0 is None:
            s0 = m.totals[self.read, 0].tolist()
        vel, acc, jerk, cnt, lo, sh = kin
        names = self.names
        index = st.venues
        venues = self.order(symbol, st)[0]  # in the book's venue order
        tr, tg = s0[self.ref_at], s0[self.grid_at]
        long_usd, short_usd = tr[UL], tr[US]
        usd_ref = long_usd + short_usd
        n_eff_ref = n_effective(usd_ref, tr[SQ])
        view = self.feed_view(index, now_ns)
        if scored is None:
            scored = self.score(symbol, st, m, now_ns, vel, full or m.totals.tolist(), view)
        rho, taking_part, baseline, floor, reference, hidden, hidden_2s, risk, factors, factor_windows, ratio = scored
        long_share = long_usd / usd_ref if usd_ref > 0 else 0.0
        side_l, side_s, whale = {}, {}, {}
        lone = self.gate_min_n_eff
        for n, _, at, _, short in self.scoring:
            h = hidden_2s if short else hidden
            row = s0[at]
            side_l[n] = row[UL] + h * long_share
            side_s[n] = row[US] + h * (1.0 - long_share)
            # A window whose dollars are mostly one or two liquidations holds no crowd (its hidden flow is read
            # at their USD per event, so it goes too): it opens no gate. See `gate_min_n_eff` in the config.
            whale[n] = math.inf if lone > 1.0 and n_effective(row[UL] + row[US], row[SQ]) < lone else row[WHALE]

        known, feeds = view.known, view.feeds  # (completeness, connected, stale) of each venue
        last = st.last_event_ns if m.last_event_ns is None else m.last_event_ns
        conf = confidence(tg[CL] + tg[CS], (now_ns - last) / NS, view.coverage)
        reading = eng.context.read(symbol, now_ns)  # OI falling with the flow confirms it (never alone)
        risk, conf, oi_s = confirm(risk, conf, reading, min(1.0, ratio), cfg.oi_weight)
        est = self.estimate(symbol, st, m, view, reading, now_ns)
        # Direction, velocity, ratio and sentence all read the velocity factor's window: the side named
        # is the side that carries the flow the ratio measures (ties: the 60 s window decides).
        vname = factor_windows["velocity"]
        lw, sw = side_l[vname], side_s[vname]
        if lw == sw:
            lw, sw = tg[UL], tg[US]
        direction = LONG if lw >= sw else SHORT
        side = side_l if direction == LONG else side_s
        side_usd = side[vname]
        gates = self.gates(symbol, reference)
        # Gates count a crowd's dollars: whale-sized liquidations (>= whale_usd, fills of one position merged)
        # are the whale guard's business, so two whales on two venues cannot open the gate between them.
        crowd = {n: max(0.0, usd - whale[n]) for n, usd in side.items()}
        met = gate_level(crowd, gates)
        usd_60s = tg[UL] + tg[US]
        # explain.sentence(symbol, side_usd, direction, window, ratio, baseline, floor, accel_score, accel, n_eff,
        # venues_active, venues_known, rho, usd_60s, censored, notes)
        text = sentence(symbol, side_usd, direction, vname, ratio, baseline, floor, factors["acceleration"]["score"],
                        acc[self.index[vname]], n_eff_ref, taking_part, len(known), rho, usd_60s, hidden,
                        (oi_phrase(reading), est_phrase(usd_ref, *est[:3], money)))
        ref_secs = secs[self.ref]
        venue_usd, venue_events = m.venue_usd, m.venue_events
        by_venue = {v: venue_usd[index[v]] / ref_secs for v in venues}
        venue_info = {}
        for v, (completeness, connected, stale) in feeds.items():
            i = index.get(v)
            venue_info[v] = {
                "completeness": completeness, "throttled": completeness == "throttled",
                "connected": connected, "stale": stale,
                "usd_per_s": 0.0 if i is None else by_venue[v],
                "events": 0 if i is None else round(venue_events[i]),  # an int already
            }
        extra = {
            # zip without strict= (False, the default: names are the first of the layout's windows), ~0.7 µs
            # cheaper a call, and this builds six such dicts per snapshot
            "long_usd_per_s": dict(zip(names, lo)), "short_usd_per_s": dict(zip(names, sh)),  # noqa: B905
            "imbalance": (long_usd - short_usd) / usd_ref if usd_ref > 0 else 0.0,
            "concentration": factors["concentration"]["raw"], "n_effective": n_eff_ref,
            "baseline_usd_per_s": baseline, "floor_usd_per_s": float(floor), "velocity_ratio": ratio,
            "factor_windows": factor_windows, "venues": venue_info, "censored_usd_10s": hidden,
            "gate": {"met": GATE_LEVELS[met - 1] if met else "", "usd_10s": dict(zip(GATE_LEVELS, gates)),  # noqa: B905
                     "crowd_usd": crowd, "margin": gate_margin(crowd, gates[0])},
            "market_context": {"oi_score": oi_score(reading), "oi_confirmation": oi_s, "visible_fraction": est[3],
                               "oi_usd_by_venue": reading.oi_by_venue if reading else {}},
        }
        trig_event, trig_recv = m.trigger or st.trigger
        # MetricsSnapshot's fields in declaration order (its fast constructor, common.schema.metrics_snapshot)
        return metrics_snapshot(
            symbol, int(now_ns), dict(zip(names, vel)), dict(zip(names, acc)),  # noqa: B905
            dict(zip(names, jerk)), dict(zip(names, cnt)), by_venue, rho, taking_part,  # noqa: B905
            risk, conf, direction, factors, text, trig_event, trig_recv, extra, *snapshot_values(reading),
            est[0], est[1], est[2])

    def inputs(self, symbol: str, st: SymbolState, m: Measures, now_ns: int, throttled: frozenset[str],
               censored: bool = True) -> tuple[float, int, float, float, float, float, float]:
        """What scoring reads beside the sums: (ρ, venues taking part, baseline, floor, reference flow
        max(baseline, floor), USD held back by saturated throttled feeds over 10 s and over 2 s); censored=False:
        `Engine.censor_candidates` found nothing held back (0.0, 0.0)."""
        index = st.venues
        if len(index) < 2:  # one venue: no correlation, and it takes part if it has any USD
            rho, taking_part = 0.0, int(m.grid_usd > 0.0)
        else:
            rho, taking_part = m.rho or venue_correlation(m.grid.take(self.order(symbol, st)[1], axis=0))
        baseline = st.baseline(now_ns, clean=False) if m.baseline is None else m.baseline
        floor = self.cfg.floor_usd_per_s.get(symbol, self.cfg.floor_usd_per_s_default)
        if not censored:
            return rho, taking_part, baseline, floor, max(baseline, floor), 0.0, 0.0
        return (rho, taking_part, baseline, floor, max(baseline, floor),
                *self.eng._censored(st, m, now_ns, throttled))

    def score(self, symbol: str, st: SymbolState, m: Measures, now_ns: int, vel: list[float],
              t: list[list[list[float]]], view: FeedView) -> Scored:
        """The symbol's risk (`score_factors`, `combine_normalized`) and what it was read from (t: m.totals
        as lists)."""
        rho, taking_part, baseline, floor, reference, hidden, hidden_2s = got = self.inputs(
            symbol, st, m, now_ns, view.throttled)
        windows = []
        for n, i, _, w, short in self.scoring:  # risk.WindowTuple of each: WindowFlow's fields, flat
            h = hidden_2s if short else hidden
            t0, t1, t2 = t[i]
            windows.append((n, w, vel[i] + h / w, (t1[UL] + t1[US]) / w, (t2[UL] + t2[US]) / w,
                            n_effective(t0[UL] + t0[US], t0[SQ]), h / w))
        tr = t[self.ref][0]
        raw_scores, factor_windows, ratio = score_flow(tuple(windows), reference, tr[UL], tr[US], tr[WHALE],
                                                       n_effective(tr[UL] + tr[US], tr[SQ]), rho, taking_part)
        risk, factors = combine_normalized(raw_scores, self.eng._weights)
        return (*got, risk, factors, factor_windows, ratio)

    def score_many(self, symbols: list[str], states: list[SymbolState], measures: list[Measures], totals: np.ndarray,
                   now_ns: int) -> list[Scored]:
        """`score` of many symbols (totals: their stacked sums), the factors computed for all at once
        (`risk_many.score_many`): the same floats."""
        throttled = self.eng.feeds.throttled()
        inputs, maybe = self.inputs, self.eng.censor_candidates(measures, throttled)
        got = [inputs(s, st, m, now_ns, throttled, c)
               for s, st, m, c in zip(symbols, states, measures, maybe, strict=True)]
        rho, taking_part, _, _, reference, hidden, hidden_2s = (np.array(c) for c in zip(*got, strict=True))
        v, n_eff_w, censored = [], [], []
        for _, i, _, w, short in self.scoring:
            h = hidden_2s if short else hidden
            s = totals[:, i, :, UL] + totals[:, i, :, US]  # (symbols, 3): USD of the window and the two before
            v.append(((s[:, 0] / w) + h / w, s[:, 1] / w, s[:, 2] / w))  # as kinematics_many's velocity, + hidden
            n_eff_w.append(_n_effective(s[:, 0], totals[:, i, 0, SQ]))
            censored.append(h / w)
        tr = totals[:, self.ref, 0]
        seconds, names = [w for _, _, _, w, _ in self.scoring], [n for n, *_ in self.scoring]
        scores = score_many(v, n_eff_w, censored, seconds, names, reference, tr[:, UL], tr[:, US], tr[:, WHALE],
                            _n_effective(tr[:, UL] + tr[:, US], tr[:, SQ]), rho, taking_part, self.eng._weights)
        return [(*g, *sc) for g, sc in zip(got, scores, strict=True)]

    def estimate(self, symbol: str, st: SymbolState, m: Measures, view: FeedView,
                 reading: object, now_ns: int) -> tuple[float, float, float, dict[str, float]]:
        """est_usd over 10 s (est_usd.py): calibrate on the completed seconds (those not folded in yet, if
        any: most snapshots of a second have none), then scale the observed USD."""
        est = self.eng.est
        completeness = view.completeness
        if est.due(symbol, now_ns):
            sizes = getattr(reading, "oi_by_venue", None)
            # the grid rows' venue names and what observe reads of the feeds (`Estimate.plan`), kept per symbol
            # while its venues, the book's venue count and the feeds' completeness and liveness stay the same and
            # no open interest is read (sizes)
            kept = self._plans.get(symbol)
            if (kept is not None and not sizes and kept[0] is st and kept[1] == len(st.venues)
                    and kept[2] == len(m.venue_usd) and (kept[3] is completeness or kept[3] == completeness)
                    and (kept[4] is view.live or kept[4] == view.live)):
                venues, plan = kept[5], kept[6]
            else:
                venues = [""] * len(m.venue_usd)  # grid rows and venue sums are book venue indices; "" = not its
                for v, i in st.venues.items():
                    venues[i] = v
                plan = est.plan(venues, completeness, view.live, sizes or {})
                if not sizes:
                    self._plans[symbol] = (st, len(st.venues), len(m.venue_usd), completeness, view.live, venues, plan)
            est.observe(symbol, venues, m.grid, now_ns, completeness, view.live, sizes or {}, plan)
        return est.estimate_at(symbol, st.venues, m.venue_usd, completeness)
