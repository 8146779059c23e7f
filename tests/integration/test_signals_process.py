"""SignalsProcess in a thread with real ipc sockets (signals_rig): metrics in -> signals, regime, status out."""
from __future__ import annotations

import time
from pathlib import Path

from common import topics
from common.config import load_config
from common.schema import FeedStatus, MetricsSnapshot, PriceTick, Regime, Signal
from signals import outbox
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
