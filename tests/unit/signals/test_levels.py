"""Level state machine: hysteresis, dwell, cooldown, whale cap."""
from __future__ import annotations

from common.schema import LEVELS
from signals.levels import NS, LevelMachine, LevelState, market_target
from tests.unit.signals.helpers import config

ALERT = LEVELS.index("ALERT")
WATCH = LEVELS.index("WATCH")


def machine(**kw):
    kw.setdefault("alert_confirm_s", 0.0)
    return LevelMachine(config(**kw).signals)


def test_escalation_is_immediate_and_may_skip_levels():
    m, st = machine(), LevelState()
    assert m.apply(st, 0.72, 1 * NS) == 0
    assert LEVELS[st.level] == "CRITICAL"


def test_no_flapping_around_an_enter_threshold():
    m, st = machine(min_dwell_s=0.0), LevelState()
    changes = []
    for i, p in enumerate([0.51, 0.49, 0.505, 0.47, 0.51, 0.45, 0.50]):
        if m.apply(st, p, i * NS) is not None:
            changes.append(LEVELS[st.level])
    assert changes == ["ALERT"]  # 0.45 is still above the exit threshold 0.42


def test_step_down_below_exit_goes_to_the_level_p_supports():
    m, st = machine(min_dwell_s=0.0), LevelState()
    m.apply(st, 0.9, 0)
    assert m.apply(st, 0.45, NS) == LEVELS.index("EXTREME")
    assert LEVELS[st.level] == "ALERT"  # 0.45 >= ALERT exit 0.42


def test_dwell_blocks_step_down_until_it_has_passed():
    m, st = machine(min_dwell_s=5.0), LevelState()
    m.apply(st, 0.6, 0)
    assert m.apply(st, 0.0, 4 * NS) is None
    assert LEVELS[st.level] == "ALERT"
    assert m.apply(st, 0.0, 5 * NS) == ALERT
    assert st.level == 0


def test_escalation_restarts_the_dwell_clock():
    m, st = machine(min_dwell_s=5.0), LevelState()
    m.apply(st, 0.6, 0)
    m.apply(st, 0.75, 4 * NS)
    assert m.apply(st, 0.0, 6 * NS) is None
    assert m.apply(st, 0.0, 9 * NS) is not None


def test_cooldown_raises_reentry_bar_by_exit_gap():
    m, st = machine(min_dwell_s=0.0, cooldown_s=30.0, exit_gap=0.08), LevelState()
    m.apply(st, 0.6, 0)
    m.apply(st, 0.0, NS)
    assert st.level == 0 and st.none_since_ns == NS
    assert m.apply(st, 0.35, 10 * NS) is None  # WATCH needs 0.38 during cooldown
    assert m.apply(st, 0.55, 11 * NS) == 0  # a stronger wave still gets through...
    assert LEVELS[st.level] == "WATCH"  # ...at the level it earns with the raised bar (ALERT needs 0.58)


def test_cooldown_ends_after_cooldown_s():
    m, st = machine(min_dwell_s=0.0, cooldown_s=30.0), LevelState()
    m.apply(st, 0.6, 0)
    m.apply(st, 0.0, NS)
    assert m.apply(st, 0.31, 30 * NS) is None
    assert m.apply(st, 0.31, 31 * NS) == 0


def test_cap_limits_escalation_but_never_forces_a_step_down():
    m, st = machine(), LevelState()
    m.apply(st, 0.9, 0, cap=WATCH)
    assert st.level == WATCH
    m.apply(st, 0.9, NS)
    assert LEVELS[st.level] == "EXTREME"
    assert m.apply(st, 0.9, 2 * NS, cap=WATCH) is None


def test_market_target_needs_min_symbols_at_alert_or_higher():
    assert market_target([2, 2, 1], 3) == 0
    assert market_target([4, 3, 2, 0], 3) == 2
    assert market_target([4, 4, 4], 3) == 4
    assert market_target([1, 1, 1], 3) == 0


def test_alert_needs_confirmation_and_watch_meanwhile():
    m, st = machine(alert_confirm_s=1.0), LevelState()
    assert m.apply(st, 0.8, 0) == 0
    assert LEVELS[st.level] == "WATCH"  # armed, not yet confirmed
    assert m.apply(st, 0.45, NS // 2) is None  # a dip inside the ALERT hysteresis keeps it armed
    assert m.apply(st, 0.75, NS) == WATCH
    assert LEVELS[st.level] == "CRITICAL"  # confirmed after 1 s: straight to the level p supports


def test_the_confirmation_wait_shrinks_with_dollars_above_the_gate():
    """At the gate the full wait; at alert_proven_margin x the gate none: a spike of noise that barely
    opens the gate still waits, flow well past it does not pay for the wait in seconds as well."""
    m = machine(alert_confirm_s=2.0, alert_proven_margin=1.5)
    assert m.confirm_wait_ns(0.0) == m.confirm_wait_ns(1.0) == 2 * NS
    assert m.confirm_wait_ns(1.25) == NS
    assert m.confirm_wait_ns(1.5) == m.confirm_wait_ns(3.0) == 0
    st = LevelState()
    assert m.apply(st, 0.6, 0, margin=1.05) == 0 and st.level == WATCH  # just past the gate: waits
    st2 = LevelState()
    assert m.apply(st2, 0.6, 0, margin=1.6) == 0 and st2.level == ALERT  # 1.6x the gate: at once
    st3 = LevelState()
    m.apply(st3, 0.6, 0, margin=1.25)
    assert m.apply(st3, 0.6, NS // 2, margin=1.25) is None  # half way through its 1 s wait
    assert m.apply(st3, 0.6, NS, margin=1.25) == WATCH and st3.level == ALERT


def test_a_one_snapshot_spike_never_alerts():
    m, st = machine(alert_confirm_s=1.0), LevelState()
    m.apply(st, 0.9, 0)
    m.apply(st, 0.2, NS // 2)  # the spike is gone: disarmed
    assert m.apply(st, 0.6, NS) is None and st.level == WATCH
    assert m.apply(st, 0.6, 2 * NS) == WATCH and st.level == ALERT


def test_the_gate_clock_survives_a_brief_dip_and_stops_on_a_real_fall():
    """The gate clock has p's relative hysteresis in dollars (ALERT exit / enter = 0.84 of the gate): a noisy
    dollar estimate dipping just under its gate for one snapshot does not restart the confirmation, flow
    falling well below it does."""
    m = machine(alert_confirm_s=2.0, alert_proven_margin=1.5)
    assert m.gate_exit == (m.enter[ALERT] - 0.08) / m.enter[ALERT]
    dip, fall = LevelState(), LevelState()
    for st, low in ((dip, 0.9), (fall, 0.5)):
        m.apply(st, 0.6, 0, cap=ALERT, margin=1.0)
        m.apply(st, 0.6, NS, cap=WATCH, margin=low)  # under the gate for one snapshot
        m.apply(st, 0.6, int(1.5 * NS), cap=ALERT, margin=1.0)
    assert m.apply(dip, 0.6, 2 * NS, cap=ALERT, margin=1.0) == WATCH and dip.level == ALERT
    # the fall restarted its gate clock at 1.5 s: half the 2 s wait is due only at 2.5 s
    assert m.apply(fall, 0.6, 2 * NS, cap=ALERT, margin=1.0) is None and fall.level == WATCH
    assert m.apply(fall, 0.6, int(2.5 * NS), cap=ALERT, margin=1.0) == WATCH
