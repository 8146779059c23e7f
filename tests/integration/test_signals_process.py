"""SignalsProcess in a thread with real ipc sockets (signals_rig): metrics in -> signals, regime, status out."""
from __future__ import annotations

import time
from pathlib import Path

import zmq

from common import topics
from common.config import load_config
from common.schema import FeedStatus, MetricsSnapshot, PriceTick, Regime, Signal
from signals import outbox
from signals.process import SignalsProcess
from tests.integration.signals_rig import recv_until, running_signals
from tests.unit.signals.helpers import snap

NS = 1_000_000_000


def test_signals_process_end_to_end(tmp_path: Path) -> None:
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path), "heartbeat_s": 0.2},
                                 "signals": {"alert_confirm_s": 0.0, "restart_grace_s": 0.0,
                                             "calibration": ""},
                                 "redis": {"enabled": False}}, env={})
    with running_signals(cfg, "test") as rig:
        now = time.time_ns()
        rig.join_sub(FeedStatus(exchange="okx", connected=True, throttled=True, reconnects=0, frames=1,
                                bad_frames=0, events=1, last_frame_ns=now, ts=now))
        # 60 s of ticks: a volatility window needs 80 % of its span before it is more than "warming up"
        ticks = [PriceTick(exchange="binance", symbol="BTCUSDT", price=60_000.0 + i / 2, qty=0.1,
                           ts_event=now - (60 - i) * NS, ts_recv=now - (60 - i) * NS) for i in range(60)]
        rig.send(topics.price("BTCUSDT"), ticks)
        s = snap(0.75, now / NS, symbol="ETHUSDT")
        rig.send(topics.metrics("ETHUSDT"), [s])

        def completes(metrics_topic):
            def complete(g):
                tps = [t for t, _ in g]
                return (any(t.startswith(b"signal.") for t in tps) and metrics_topic in tps
                        and tps.count(topics.REGIME) >= 2)
            return complete

        # The PUB gets each snapshot under its symbol's topic; the publisher the latest per symbol, coalesced.
        pub_got = recv_until(rig.sub, completes(b"metrics.ETHUSDT"))
        push_got = recv_until(rig.publisher, completes(outbox.SNAPSHOTS))
        for got, metrics_topic in ((pub_got, b"metrics.ETHUSDT"), (push_got, outbox.SNAPSHOTS)):
            assert completes(metrics_topic)(got), [t for t, _ in got]
            topic, sig = next((t, m) for t, ms in got if t.startswith(b"signal.") for m in ms)
            assert isinstance(sig, Signal) and topic == topics.signal(sig.level, "ETHUSDT")
            # 60 s of a gently rising price: DORMANT (odds x0.5) and a rise against the liquidated longs
            # (odds / 1.5**0.58) turn risk 0.75 into p 0.59: ALERT, not CRITICAL
            assert (sig.regime, sig.level, sig.previous_level) == ("DORMANT", "ALERT", "NONE")
            assert 0.55 < sig.probability < 0.6 and sig.components["price_move_adjustment"] < 0
            assert sig.data_quality["price"] == "ok"
            assert sig.stages["event"] == s.ts_trigger_event and sig.stages["signal"] >= sig.stages["analytics"]
            metrics = next(m for t, ms in got if t == metrics_topic for m in ms)
            assert isinstance(metrics, MetricsSnapshot) and metrics.risk == 0.75
            regime = [m for t, ms in got if t == topics.REGIME for m in ms][-1]  # earlier: before prices
            assert isinstance(regime, Regime) and regime.regime == "DORMANT" and regime.trend == "up"
        assert any(isinstance(m, FeedStatus) for t, ms in push_got if t == b"status.okx" for m in ms)
    assert not rig.thread.is_alive() and rig.proc.rc == 0
    assert rig.proc.gaps.gaps == 0


def test_a_poll_round_forwards_every_snapshot_before_the_signal_work_on_them(tmp_path: Path) -> None:
    """Two snapshots received in one round: both reach the PUB before the signal the first one raises (the
    second does not wait for the first's signal work), and that signal still follows its own snapshot."""
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path)},
                                 "signals": {"alert_confirm_s": 0.0, "restart_grace_s": 0.0, "calibration": ""},
                                 "redis": {"enabled": False}}, env={})
    proc = SignalsProcess(cfg)
    proc.ctx = zmq.Context()
    proc.on_start()
    sub = proc.ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(cfg.endpoint("pub"))
    try:
        now = time.time_ns()
        status = FeedStatus(exchange="okx", connected=True, throttled=True, reconnects=0, frames=1, bad_frames=0,
                            events=1, last_frame_ns=now, ts=now)
        deadline = time.monotonic() + 10
        while not sub.poll(100) and time.monotonic() < deadline:  # PUB/SUB joins late
            proc._on_input(topics.status("okx"), [status], now)
            proc.on_drained(now)
        recv_until(sub, lambda g: False, 0.3)  # the statuses sent while joining
        hot, calm = snap(0.75, now / NS, symbol="ETHUSDT"), snap(0.0, now / NS, symbol="SOLUSDT")
        proc._on_input(topics.metrics("ETHUSDT"), [hot], now)
        proc._on_input(topics.metrics("SOLUSDT"), [calm], now)
        proc.on_drained(now)
        got = [t for t, _ in recv_until(sub, lambda g: any(t.startswith(b"signal.") for t, _ in g), 5.0)]
        assert got[:3] == [b"metrics.ETHUSDT", b"metrics.SOLUSDT", got[2]] and got[2].startswith(b"signal."), got
        assert got[2].endswith(b".ETHUSDT")
    finally:
        sub.close(linger=0)
        for sock in proc._sockets:
            sock.close(linger=0)
        proc.ctx.term()


def test_a_level_change_reaches_the_publisher_after_the_snapshots_behind_it(tmp_path: Path) -> None:
    """The publisher gets the held snapshots before the signal, however long the outbox lingers: it writes
    velocity:<SYMBOL> before it publishes the alert, so a consumer reading the key on the alert finds them."""
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path)},
                                 "signals": {"alert_confirm_s": 0.0, "restart_grace_s": 0.0, "calibration": ""},
                                 "redis": {"enabled": False}}, env={})
    with running_signals(cfg, "test") as rig:
        rig.proc.outbox.linger_s = 60.0  # held snapshots would otherwise reach the publisher a minute later
        now = time.time_ns()
        rig.send(topics.metrics("ETHUSDT"), [snap(0.75, now / NS, symbol="ETHUSDT")])
        got = recv_until(rig.publisher, lambda g: any(t.startswith(b"signal.") for t, _ in g))
        order = [t for t, _ in got if t == outbox.SNAPSHOTS or t.startswith(b"signal.")]
        assert order[:2] == [outbox.SNAPSHOTS, topics.signal(got[-1][1][0].level, "ETHUSDT")], order
    assert not rig.thread.is_alive() and rig.proc.rc == 0
