"""Per-symbol level state machine: hysteresis, minimum dwell and cooldown, so a cascade is one sequence."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.config import SignalsConfig
from common.schema import LEVELS

NS = 1_000_000_000
TOP = len(LEVELS) - 1
ALERT = LEVELS.index("ALERT")


@dataclass(slots=True)
class LevelState:
    """Mutable state of one symbol (or MARKET) inside the generator; never sent anywhere."""

    level: int = 0
    changed_ns: int = 0  # last level change: the dwell clock
    none_since_ns: int | None = None  # when it last returned to NONE: the cooldown clock
    probability: float = 0.0
    last_snapshot_ns: int = 0  # signal clock time of the last snapshot seen
    last_emit_ns: int = 0  # last signal or heartbeat sent
    armed_ns: int | None = None  # since when p has supported ALERT+ from below (confirmation clock)
    gate_ns: int | None = None  # since when the cap (dollar gates) has allowed ALERT+
    cap: int = TOP  # the highest level the last snapshot allows (whale guard, dollar gates)
    margin: float = 0.0  # the last snapshot's crowd USD / ALERT gate (0 when the whale guard failed)
    side: str = ""  # the side the open episode names; set when it leaves NONE, cleared back at NONE
    context: dict[str, Any] = field(default_factory=dict)  # what the last signal was built from


class LevelMachine:
    """Decides the next level of a symbol from its probability.

    * Enter level L when p >= enter[L]; escalation may skip levels (ALERT+ after confirmation).
    * Hysteresis: stay at L while p >= enter[L] - exit_gap; below that, step down to the highest
      level whose exit threshold p still meets (NONE if none).
    * Dwell: never step down before `min_dwell_s` after the last change (escalations reset it).
    * Cooldown: for `cooldown_s` after returning to NONE every enter threshold is raised by
      `exit_gap`, so the fading tail of a cascade cannot re-open it, but a genuinely stronger
      burst still can (never suppressed outright: a second wave must not be missed).
    * Confirmation: entering ALERT or higher from below needs p to support it for `alert_confirm_s`
      (WATCH meanwhile); a one-snapshot spike of a noisy flow is not an alert. Escalations above
      ALERT are immediate.
      Flow that already meets the CRITICAL dollar gate (`proven`) needs no confirmation: a one-snapshot
      spike of noise does not carry that many dollars. Between the two the wait shrinks with the
      `margin` (the named side's USD / the ALERT gate, best window): full at the gate, none at
      `alert_proven_margin` x the gate, so evidence in dollars replaces evidence in seconds.
      The gate's clock (half the wait) stops only when the margin falls below ALERT's exit / enter
      share of the gate, p's own hysteresis: a one-snapshot dip of a noisy dollar estimate does not restart it.
    * `cap` limits escalation (the whale guard, dollar gates); it never forces a step down.
    """

    def __init__(self, cfg: SignalsConfig) -> None:
        self.enter = [0.0] + [float(cfg.enter[name]) for name in LEVELS[1:]]
        self.exit = [0.0] + [e - cfg.exit_gap for e in self.enter[1:]]
        self.gap = cfg.exit_gap
        self.dwell_ns = int(cfg.min_dwell_s * NS)
        self.cooldown_ns = int(cfg.cooldown_s * NS)
        self.confirm_ns = int(cfg.alert_confirm_s * NS)
        self.proven_margin = cfg.alert_proven_margin
        # The gate clock stops only when the flow falls below this share of the ALERT gate: the same relative
        # hysteresis p has at ALERT (exit / enter), so a one-snapshot dip of a noisy dollar estimate (a
        # throttled feed's hidden flow) does not restart the confirmation, and a real fall still does.
        self.gate_exit = self.exit[ALERT] / self.enter[ALERT] if self.enter[ALERT] > 0.0 else 1.0

    def confirm_wait_ns(self, margin: float) -> int:
        """The confirmation wait for flow `margin` times its ALERT gate: the full wait at the gate (or
        without one), shrinking linearly to none at `alert_proven_margin`, so the wait is paid in dollars."""
        full = self.proven_margin
        if margin <= 1.0 or full <= 1.0:
            return self.confirm_ns
        return int(self.confirm_ns * max(0.0, (full - margin) / (full - 1.0)))

    def in_cooldown(self, st: LevelState, now_ns: int) -> bool:
        return (st.level == 0 and st.none_since_ns is not None
                and now_ns - st.none_since_ns < self.cooldown_ns)

    def target(self, st: LevelState, p: float, now_ns: int, cap: int = TOP, proven: bool = False,
               margin: float = 0.0) -> int:
        """The level `st` should move to now (== st.level when it should stay); updates the arming."""
        cur = st.level
        # in_cooldown, inlined (runs per snapshot)
        raise_by = (self.gap if cur == 0 and st.none_since_ns is not None
                    and now_ns - st.none_since_ns < self.cooldown_ns else 0.0)
        up, enter = TOP, self.enter  # the highest level p enters (runs per snapshot: a plain loop)
        while up and p < enter[up] + raise_by:
            up -= 1
        # Two clocks: p must have supported ALERT+ for confirm_s, and the cap (dollar gates) must have
        # allowed it for half that, so flow whose p held while its dollars built up is not held back twice.
        if cur < ALERT <= up and st.armed_ns is None:
            st.armed_ns = now_ns
        up = min(up, cap)
        if cap < ALERT and margin < self.gate_exit:  # the gate clock has p's hysteresis, in dollars
            st.gate_ns = None
        elif cap >= ALERT and st.gate_ns is None:
            st.gate_ns = now_ns
        if cur < ALERT <= up:
            wait = self.confirm_wait_ns(margin)
            if not proven and (now_ns - st.armed_ns < wait or now_ns - st.gate_ns < wait // 2):
                up = min(up, ALERT - 1)
        elif up < ALERT and p < self.exit[ALERT]:  # disarm with the same hysteresis as the level
            st.armed_ns = None
        if up > cur:
            return up
        if cur == 0 or p >= self.exit[cur] or now_ns - st.changed_ns < self.dwell_ns:
            return cur
        return max((lv for lv in range(1, cur) if p >= self.exit[lv]), default=0)

    def apply(self, st: LevelState, p: float, now_ns: int, cap: int = TOP, proven: bool = False,
              margin: float = 0.0) -> int | None:
        """Move `st` to its target; return the previous level if it changed, else None."""
        st.probability = p
        new = self.target(st, p, now_ns, cap, proven, margin)
        if new == st.level:
            return None
        prev = st.level
        st.level = new
        st.changed_ns = now_ns
        if new == 0:
            st.none_since_ns = now_ns
            st.side = ""
        return prev


def market_target(levels: list[int], min_symbols: int) -> int:
    """MARKET level: the level at least `min_symbols` symbols are at together, if that is ALERT+."""
    ranked = sorted(levels, reverse=True)
    if min_symbols < 1 or len(ranked) < min_symbols:
        return 0
    level = ranked[min_symbols - 1]
    return level if level >= ALERT else 0
