"""Episodes: one short thread per destination; rules decide who hears what."""
from __future__ import annotations

from dataclasses import replace

from common.config import NotifyDestination
from common.schema import Signal
from publisher.notify.episodes import ESCALATE, LIQUIDATION, OPEN, RESOLVE, Episodes, Window
from tests.unit.publisher.notify_data import demo_liquidations, demo_signals

S = 1_000_000_000


def run(dests: list[NotifyDestination], repeat_s: float = 600.0) -> list[tuple[int, str, str, str]]:
    eps = Episodes(dests, repeat_s)
    out = []
    for sig, window in demo_signals():
        for i, n in eps.on_signal(sig, window):
            out.append((i, n.kind, n.symbol, sig.level))
    return out


def test_the_demo_cascade_is_open_escalate_resolve_and_no_de_escalation_message():
    watch = NotifyDestination(url="json://a/", min_level="WATCH", symbols=("BTCUSDT",))
    assert run([watch]) == [(0, OPEN, "BTCUSDT", "WATCH"), (0, ESCALATE, "BTCUSDT", "EXTREME"),
                            (0, RESOLVE, "BTCUSDT", "NONE")]  # EXTREME -> CRITICAL said nothing


def test_default_rules_start_at_alert_and_each_destination_has_its_own_thread():
    alert = NotifyDestination(url="json://a/")
    shorts = NotifyDestination(url="json://b/", direction="short")
    eth = NotifyDestination(url="json://c/", min_level="CRITICAL", symbols=("ETHUSDT",))
    got = run([alert, shorts, eth])
    assert [g for g in got if g[0] == 0] == [(0, OPEN, "BTCUSDT", "EXTREME"), (0, OPEN, "ETHUSDT", "CRITICAL"),
                                             (0, ESCALATE, "ETHUSDT", "EXTREME"), (0, RESOLVE, "BTCUSDT", "NONE")]
    assert not [g for g in got if g[0] == 1]  # the demo liquidates longs
    assert [g for g in got if g[0] == 2] == [(2, OPEN, "ETHUSDT", "CRITICAL"), (2, ESCALATE, "ETHUSDT", "EXTREME")]


def test_min_usd_is_checked_against_the_last_60_s():
    rich = NotifyDestination(url="json://a/", min_usd=1e12)
    assert run([rich]) == []


def test_resolved_message_carries_peak_duration_and_the_tape_total():
    eps = Episodes([NotifyDestination(url="json://a/")])
    sigs = [s for s, _ in demo_signals() if s.symbol == "BTCUSDT"]
    windows = [w for s, w in demo_signals() if s.symbol == "BTCUSDT"]
    eps.on_signal(sigs[0], windows[0])
    for liq in demo_liquidations():  # the tape during the episode adds to the total
        eps.on_liquidation(liq)
    for sig, w in zip(sigs[1:], windows[1:], strict=True):
        notes = eps.on_signal(sig, w)
    (_, end), = notes
    assert end.kind == RESOLVE and end.peak == "EXTREME"
    assert end.duration_s == (sigs[-1].ts - sigs[0].ts) / S
    btc_tape = sum(liq.notional_usd for liq in demo_liquidations() if liq.symbol == "BTCUSDT")
    assert end.total_usd >= windows[0].usd_60s + btc_tape


def sig(level: str, ts_s: float, heartbeat: bool = False) -> Signal:
    base = demo_signals()[0][0]
    return replace(base, level=level, ts=int(ts_s * S), heartbeat=heartbeat)


def test_the_same_level_is_not_repeated_within_the_interval_even_across_episodes():
    eps = Episodes([NotifyDestination(url="json://a/")], repeat_interval_s=600)
    w = Window(1e6, 2e6, ("binance",))
    kinds = []
    for level, t in [("ALERT", 0), ("ALERT", 5), ("NONE", 60), ("ALERT", 120), ("NONE", 180), ("ALERT", 700)]:
        kinds += [(n.kind, t) for _, n in eps.on_signal(sig(level, t), w)]
    # 120 s: ALERT again inside 10 min: nothing, and so no resolved message for that episode either.
    assert kinds == [(OPEN, 0), (RESOLVE, 60), (OPEN, 700)]


def test_heartbeats_never_message():
    eps = Episodes([NotifyDestination(url="json://a/", min_level="WATCH")])
    w = Window()
    assert [n.kind for _, n in eps.on_signal(sig("ALERT", 0), w)] == [OPEN]
    assert eps.on_signal(sig("EXTREME", 1, heartbeat=True), w) == []
    assert eps.on_signal(sig("NONE", 2, heartbeat=True), w) == []
    assert eps.open["BTCUSDT"].peak == "EXTREME"


def test_single_liquidations_above_the_symbol_minimum():
    big_btc = NotifyDestination(url="json://a/", liquidation_min_usd={"BTCUSDT": 500_000.0})
    everything = NotifyDestination(url="json://b/", liquidation_min_usd_default=1_000_000.0)
    off = NotifyDestination(url="json://c/")
    eps = Episodes([big_btc, everything, off])
    got = [(i, n.kind, n.liquidation.symbol) for liq in demo_liquidations() for i, n in eps.on_liquidation(liq)]
    assert (0, LIQUIDATION, "BTCUSDT") in got and not any(i == 0 and s != "BTCUSDT" for i, _, s in got)
    assert all(liq.notional_usd >= 1e6 for liq in demo_liquidations() if liq.symbol == "ETHUSDT")
    assert (1, LIQUIDATION, "ETHUSDT") in got and not any(i == 2 for i, _, _ in got)
