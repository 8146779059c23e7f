"""The liqcascade:health payload: pure, from what the publisher saw and the processes' heartbeats."""
from __future__ import annotations

from common.schema import FeedStatus, Signal
from publisher.redis_sink.health import Health

NS = 1_000_000_000
T = 1_700_000_000 * NS


def test_payload_lists_process_ages_venues_and_ignores_heartbeat_signals():
    h = Health("/nonexistent")
    h.observe([FeedStatus("okx", False, True, 3, 10, 0, 4, T - 5 * NS, T - NS)])
    h.observe([Signal("BTCUSDT", "ALERT", 0.6, 0.8, "long", "NORMAL", "x", T - 2 * NS)])
    h.observe([Signal("BTCUSDT", "ALERT", 0.6, 0.8, "long", "NORMAL", "x", T, heartbeat=True)])
    body = h.payload(T, {"signals": T / NS - 0.5, "ingest.okx": T / NS - 12})
    assert body["ts"] == T // 1_000_000 and body["last_signal_ts"] == (T - 2 * NS) // 1_000_000
    assert body["processes"]["ingest.okx"]["age_s"] == 12.0 and body["processes"]["signals"]["age_s"] == 0.5
    assert body["venues"]["okx"] == {"connected": False, "throttled": True, "reconnects": 3, "status_age_s": 1.0,
                                     "last_frame_age_s": 5.0}
    assert Health("/x").payload(T, {})["last_signal_ts"] is None
