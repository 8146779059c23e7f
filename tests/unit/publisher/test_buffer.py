"""The publisher's buffer under pressure: periodic messages go first, level changes last, drops summarized."""
from __future__ import annotations

import logging

from common.schema import MetricsSnapshot, Regime, Signal
from publisher.redis_sink.buffer import PriorityBuffer


def sig(i: int, heartbeat: bool = False) -> Signal:
    return Signal(f"S{i}", "ALERT", 0.6, 0.7, "long", "NORMAL", "x", i, heartbeat=heartbeat)


def snap(i: int) -> MetricsSnapshot:
    return MetricsSnapshot(f"S{i}", i, {}, {}, {}, {}, {}, 0.0, 0, 0.1, 0.1, "long", {}, "x")


def test_periodic_messages_are_dropped_before_level_changes_and_order_is_kept():
    buf = PriorityBuffer(4)
    msgs = [sig(0), snap(1), sig(2, heartbeat=True), sig(3), Regime("LOW", 0.8, 4), sig(5), sig(6)]
    for m in msgs:
        buf.append(m)
    assert len(buf) == 4
    assert buf.dropped_by_kind == {"metrics": 1, "heartbeat": 1, "regime": 1}
    assert [m for _, m in buf.take(10)] == [msgs[0], msgs[3], msgs[5], msgs[6]]  # every change, in order


def test_only_changes_left_drops_the_oldest_change_and_put_back_keeps_order():
    buf = PriorityBuffer(2)
    for i in range(3):
        buf.append(sig(i))
    assert buf.dropped_by_kind == {"change": 1}
    batch = buf.take(1)
    buf.append(snap(9))
    buf.put_back(batch)
    assert [m.symbol for _, m in buf.take(10)] == ["S1", "S2", "S9"]


def test_drops_are_logged_as_a_summary_at_a_steady_rate(caplog):
    now = [0.0]
    buf = PriorityBuffer(1, monotonic=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="publisher.redis_sink.buffer"):
        for i in range(10_001):  # 10,000 drops within one interval: one line, not one per drop
            buf.append(snap(i))
        now[0] = 10.0
        buf.report()
        buf.report()  # nothing new: nothing logged
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "metrics 1" in lines[0] and "metrics 9999" in lines[1] and "10000 dropped in all" in lines[1]
