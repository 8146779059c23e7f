"""Cascade signals: probability from analytics factors x regime x price move, levels, MARKET, heartbeats."""
from __future__ import annotations

import logging
import math
from typing import Any

from common import calibration
from common.config import Config
from common.schema import (
    LEVELS,
    LONG,
    SHORT,
    FeedStatus,
    MetricsSnapshot,
    PriceTick,
    Regime,
    Signal,
)
from signals.data_quality import data_quality
from signals.levels import NS, TOP, LevelMachine, LevelState, market_target
from signals.price_feed import PriceFeed
from signals.regime import UNKNOWN, RegimeDetector

log = logging.getLogger(__name__)

MARKET = "MARKET"
WATCH = LEVELS.index("WATCH")
ALERT = LEVELS.index("ALERT")
EPS = 1e-6


def _logit(p: float) -> float:
    p = min(max(p, EPS), 1.0 - EPS)
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def market_context(snap: MetricsSnapshot) -> dict[str, Any]:
    """Open interest, funding, basis and the true-USD estimate of the snapshot, for the signal payload
    (None where no venue reports them; est_usd is the estimate, observed_usd_10s what the feeds showed)."""
    return {"oi_usd": snap.oi_usd, "oi_change_1m_usd": snap.oi_change_1m_usd,
            "oi_change_5m_usd": snap.oi_change_5m_usd, "oi_change_5m_frac": snap.oi_change_5m_frac,
            "funding": snap.funding, "basis": snap.basis, "est_usd": snap.est_usd, "est_usd_low": snap.est_usd_low,
            "est_usd_high": snap.est_usd_high, "observed_usd_10s": sum(snap.by_venue.values()) * 10.0}


class SignalGenerator:
    """Turns MetricsSnapshots into level-change Signals; pure and clock-injected (live = backtest).

    Probability (log-odds form, so every adjustment is a multiplier on the odds and p stays in 0..1):

        logit(p) = logit(risk) + ln(regime_multiplier) + a * ln(price_move_max)

    `risk` is the analytics' factor-weighted score. The regime multiplier is the "threshold
    multiplier": multiplying the odds by m is the same as dividing the odds of every enter threshold
    by m, so m > 1 (high vol: liquidations feed on themselves) makes a level easier to reach and
    m < 1 (DORMANT, 0.5) makes it harder: twice the odds of evidence for the same level. UNKNOWN
    regime is 1.0. `a` in [-1, 1] is the BTC move over `price_move_window_s` in units of
    `price_move_full_bps`, signed +1 when it reinforces the liquidated side (longs into a falling
    price, shorts into a rising one) and -1 when it opposes it.
    """

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.scfg = cfg.signals
        self.detector = RegimeDetector(cfg.signals, cfg.ingest.price_symbol)
        self.price_feed = PriceFeed()  # one venue's BTC price at a time: no cross-venue basis noise
        self.machine = LevelMachine(cfg.signals)
        self.states: dict[str, LevelState] = {}
        self.market = LevelState()
        self.feeds: dict[str, FeedStatus] = {}
        self.map_a, self.map_b = calibration.risk_map(self.scfg.calibration)
        # Per-snapshot terms that repeat (a quiet symbol's risk stays 0, the regime's multiplier is one of a few):
        # the last risk's calibrated log-odds and its shown value, and ln(multiplier) per multiplier seen.
        self._risk_memo: tuple[float, float, float] | None = None
        self._log_mult: dict[float, float] = {}

    # -- inputs --------------------------------------------------------------------------------
    def on_price(self, tick: PriceTick) -> None:
        if tick.symbol == self.detector.symbol and self.price_feed.accept(tick, tick.ts_recv or tick.ts_event):
            self.detector.update(tick)

    def on_status(self, st: FeedStatus) -> None:
        old = self.feeds.get(st.exchange)
        if old is None or st.ts >= old.ts:
            self.feeds[st.exchange] = st

    def regime(self, now_ns: int) -> Regime:
        return self.detector.current(now_ns)

    def on_metrics(self, snap: MetricsSnapshot, now_ns: int) -> list[Signal]:
        """Fold one snapshot in; return the level change it caused (and a MARKET change), if any."""
        regime = self.detector.current(now_ns)  # = self.regime(now_ns), one call less per snapshot
        p, components = self.probability(snap, regime, now_ns)
        st = self.states.get(snap.symbol)
        if st is None:  # not setdefault(symbol, LevelState()): that builds a LevelState every snapshot
            st = self.states[snap.symbol] = LevelState()
        st.last_snapshot_ns = now_ns
        out: list[Signal] = []
        broad = self._broad(snap)  # read once: `_cap` and the gate margin both ask
        turned = bool(st.level and st.side and snap.direction != st.side)
        if turned and st.level < ALERT:
            out.append(self._close_episode(snap.symbol, st, snap.direction, now_ns))
            turned = False
        if turned:
            # An episode names one side. Flow that turned to the other side is no evidence for it: p is 0,
            # the episode decays (hysteresis, dwell) to NONE and the other side opens a new one from there.
            p = 0.0
            cap = st.cap = 0
            components["side_turned"] = snap.direction
            shown = st.context.get("snap", snap)
        else:
            cap = st.cap = self._cap(snap, broad)
            shown = snap
        components["capped"] = cap < TOP
        dq = data_quality(snap, self.feeds, self.scfg.feed_stale_s, self.detector.price_state(now_ns), now_ns)
        confidence = snap.confidence
        if regime.regime == UNKNOWN:
            confidence *= self.scfg.unknown_regime_confidence
        if dq["degraded_count"]:
            confidence *= self.scfg.degraded_venue_confidence ** dq["degraded_count"]
        st.context = {"snap": shown, "regime": regime, "components": components, "data_quality": dq,
                      "confidence": confidence, "turned": snap.direction if turned else ""}
        gate = snap.extra.get("gate") or {}
        proven = not turned and gate.get("met") in ("CRITICAL", "EXTREME")
        # the gate margin counts only while the whale guard passes: a guard failure stops the gate clock too
        margin = st.margin = 0.0 if turned or not broad else gate.get("margin", 0.0)
        prev = self.machine.apply(st, p, now_ns, cap, proven, margin)
        if st.level and not st.side:
            st.side = snap.direction  # a new episode: it names this side until it is back at NONE
        if prev is None:
            return out + (self._update_market(now_ns) if out else [])
        return out + [self._signal(snap.symbol, st, prev, now_ns)] + self._update_market(now_ns)

    def _close_episode(self, sym: str, st: LevelState, side: str, now_ns: int) -> Signal:
        """The documented explicit transition: a WATCH episode whose flow turned to the other side ends
        at once (no dwell, no cooldown), so the new side's episode starts cleanly from NONE."""
        prev = st.level
        st.level, st.changed_ns, st.none_since_ns, st.armed_ns, st.side = 0, now_ns, None, None, ""
        st.probability = 0.0
        st.context = dict(st.context, turned=side)
        return self._signal(sym, st, prev, now_ns)

    def on_tick(self, now_ns: int) -> list[Signal]:
        """Dwell expiries, decay of symbols without snapshots to NONE, heartbeats of active levels."""
        out: list[Signal] = []
        changed = False
        stale_ns = self.scfg.stale_after_s * NS
        for sym, st in list(self.states.items()):
            if st.level == 0:
                if now_ns - st.last_snapshot_ns > max(stale_ns, self.machine.cooldown_ns):
                    del self.states[sym]  # forget quiet symbols; cooldown is over anyway
                continue
            stale = now_ns - st.last_snapshot_ns > stale_ns
            prev = self.machine.apply(st, 0.0 if stale else st.probability, now_ns, st.cap,
                                      margin=0.0 if stale else st.margin)
            if prev is not None:
                out.append(self._signal(sym, st, prev, now_ns, stale=stale))
                changed = True
            elif now_ns - st.last_emit_ns >= self.scfg.heartbeat_s * NS:
                out.append(self._signal(sym, st, st.level, now_ns, heartbeat=True))
        out += self._update_market(now_ns)
        m = self.market
        if m.level and not changed and now_ns - m.last_emit_ns >= self.scfg.heartbeat_s * NS:
            out.append(self._market_signal(m.level, now_ns, heartbeat=True))
        return out

    # -- the pieces ----------------------------------------------------------------------------
    def probability(self, snap: MetricsSnapshot, regime: Regime, now_ns: int) -> tuple[float, dict[str, Any]]:
        """Cascade probability and the breakdown that explains it (see the class docstring)."""
        s = self.scfg
        move = self.detector.price_move(now_ns, s.price_move_window_s)
        sign = -1.0 if snap.direction == LONG else 1.0 if snap.direction == SHORT else 0.0
        a = 0.0 if move is None else max(-1.0, min(1.0, sign * move * 1e4 / s.price_move_full_bps))
        price_mult = s.price_move_max ** a
        risk, memo = snap.risk, self._risk_memo
        if memo is None or memo[0] != risk:  # (nan never equals itself: recomputed, as it should be)
            calibrated = self.map_a + self.map_b * _logit(risk)  # fitted on training streams (calibrate)
            memo = self._risk_memo = (risk, calibrated, round(_sigmoid(calibrated), 4))
        calibrated = memo[1]
        log_mult = self._log_mult.get(regime.multiplier)
        if log_mult is None:
            log_mult = self._log_mult[regime.multiplier] = math.log(max(regime.multiplier, EPS))
        p = _sigmoid(calibrated + log_mult + math.log(price_mult))
        components = {
            "factors": snap.factors,
            "risk": snap.risk,
            "risk_calibrated": memo[2],
            "regime": regime.regime,
            "regime_multiplier": regime.multiplier,
            "price_move_bps": None if move is None else round(move * 1e4, 2),
            "price_move_adjustment": round(a, 4),
            "price_move_multiplier": round(price_mult, 4),
            "odds_multiplier": round(regime.multiplier * price_mult, 4),
            "market_context": market_context(snap),
        }
        return p, components

    def _cap(self, snap: MetricsSnapshot, broad: bool | None = None) -> int:
        """Whale guard: ALERT+ needs breadth, else the level stops at WATCH.

        Breadth = at least `alert_min_events` liquidations in the last 10 s and an effective count
        (n_eff = (Σusd)²/Σusd², from analytics) of at least `alert_min_n_eff`: one huge liquidation
        among a few crumbs is still one liquidation.
        """
        if not (self._broad(snap) if broad is None else broad):
            return WATCH
        gate = snap.extra.get("gate")
        if gate is not None:  # dollar gates (analytics/gates.py): no ALERT+ below the named side's USD gate
            met = gate.get("met")
            return LEVELS.index(met) if met else WATCH
        return TOP

    def _broad(self, snap: MetricsSnapshot) -> bool:
        """The whale guard's breadth test (`_cap`): enough liquidations and an effective count past one."""
        rate = snap.count_per_s.get("10s")
        if rate is not None and rate * 10.0 + 1e-9 < self.scfg.alert_min_events:
            return False
        n_eff = snap.extra.get("n_effective")
        return n_eff is None or n_eff >= self.scfg.alert_min_n_eff

    def data_quality(self, snap: MetricsSnapshot, now_ns: int) -> dict[str, Any]:
        """Which venues the signal rests on and how trustworthy each is (`data_quality.data_quality`)."""
        return data_quality(snap, self.feeds, self.scfg.feed_stale_s, self.detector.price_state(now_ns), now_ns)

    def _signal(self, sym: str, st: LevelState, prev: int, now_ns: int, *, heartbeat: bool = False,
                stale: bool = False) -> Signal:
        ctx = st.context
        snap: MetricsSnapshot = ctx["snap"]
        regime: Regime = ctx["regime"] if not heartbeat else self.regime(now_ns)
        comp = ctx["components"]
        st.last_emit_ns = now_ns
        level = LEVELS[st.level]
        why = (f"no liquidation flow for {self.scfg.stale_after_s:g} s" if stale
               else snap.explanation.rstrip("."))
        if ctx.get("turned"):
            why += f"; the flow turned to {ctx['turned']}s (a new episode if it grows)"
        move = comp["price_move_bps"]
        price = ("no fresh BTC price" if move is None
                 else f"BTC {move:+.0f} bps in {self.scfg.price_move_window_s:g} s "
                      f"(odds x{comp['price_move_multiplier']:.2f})")
        explanation = (f"{sym} {level}: cascade probability {st.probability:.0%}, {snap.direction} side "
                       f"liquidated; {why}; regime {regime.regime} (x{regime.multiplier:g}); {price}.")
        return Signal(symbol=sym, level=level, probability=round(st.probability, 4),
                      confidence=round(ctx["confidence"], 4), direction=snap.direction,
                      regime=regime.regime, explanation=explanation, ts=now_ns,
                      previous_level=LEVELS[prev], heartbeat=heartbeat, components=comp,
                      data_quality=ctx["data_quality"],
                      stages={"event": snap.ts_trigger_event, "recv": snap.ts_trigger_recv,
                              "analytics": snap.ts, "signal": now_ns})

    # -- market-wide ---------------------------------------------------------------------------
    def _update_market(self, now_ns: int) -> list[Signal]:
        """MARKET follows the level that `market_min_symbols` symbols share (ALERT+), with dwell."""
        m = self.market
        need = self.scfg.market_min_symbols
        # fewer symbols than MARKET needs (one symbol replayed; quiet hours): 0, as market_target would say
        target = 0 if len(self.states) < need else market_target([st.level for st in self.states.values()], need)
        if target == m.level or (target < m.level and now_ns - m.changed_ns < self.machine.dwell_ns):
            return []
        prev, m.level, m.changed_ns = m.level, target, now_ns
        return [self._market_signal(prev, now_ns)]

    def _market_signal(self, prev: int, now_ns: int, heartbeat: bool = False) -> Signal:
        m = self.market
        members = {s: st for s, st in self.states.items() if st.level >= LEVELS.index("ALERT") and st.context}
        probs = sorted((st.probability for st in members.values()), reverse=True)
        top = probs[: max(1, self.scfg.market_min_symbols)]
        m.probability = sum(top) / len(top) if top else 0.0
        weight = {LONG: 0.0, SHORT: 0.0}
        for st in members.values():
            d = st.context["snap"].direction
            weight[d] = weight.get(d, 0.0) + st.probability
        direction = max(weight, key=lambda k: weight[k]) if members else ""
        regime = self.regime(now_ns)
        snaps = [st.context["snap"] for st in members.values()]
        confidence = (sum(st.context["confidence"] for st in members.values()) / len(members)
                      if members else 0.0)
        m.last_emit_ns = now_ns
        level = LEVELS[m.level]
        names = ", ".join(f"{s} {LEVELS[st.level]}" for s, st in sorted(members.items()))
        return Signal(
            symbol=MARKET, level=level, probability=round(m.probability, 4), confidence=round(confidence, 4),
            direction=direction, regime=regime.regime, ts=now_ns, previous_level=LEVELS[prev],
            heartbeat=heartbeat,
            explanation=(f"MARKET {level}: {len(members)} symbol(s) at ALERT or higher together"
                         f"{': ' + names if names else ''}; regime {regime.regime}."),
            components={"symbols": {s: LEVELS[st.level] for s, st in members.items()},
                        "min_symbols": self.scfg.market_min_symbols, "regime_multiplier": regime.multiplier},
            data_quality={"symbols": sorted(members), "price": self.detector.price_state(now_ns)},
            stages={"event": max((s.ts_trigger_event for s in snaps), default=0),
                    "recv": max((s.ts_trigger_recv for s in snaps), default=0),
                    "analytics": max((s.ts for s in snaps), default=0), "signal": now_ns})
