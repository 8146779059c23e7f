"""common.metrics: cumulative totals become counter increments; multiprocess files aggregate across processes."""
from __future__ import annotations

import struct
import subprocess
import sys
import textwrap

from common import metrics


class FakeCounter:
    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, n: float) -> None:
        self.value += n


def test_add_counts_growth_and_a_restart_from_zero():
    c = FakeCounter()
    for total in (5, 5, 12, 3, 4):  # 3 after 12: the stage restarted, its new total counts from zero
        metrics._add(c, ("k",), total)
    assert c.value == 5 + 7 + 3 + 1


def test_hooks_are_noops_before_init():
    assert metrics.M is None
    metrics.heartbeat("x")
    metrics.notified("slack", ok=True)


def test_two_processes_write_one_aggregate(tmp_path):
    code = textwrap.dedent(f"""
        from common import metrics
        from common.schema import FeedStatus
        metrics.init({str(tmp_path)!r}, "ingest.bybit")
        metrics.feed(FeedStatus("bybit", True, False, 1, 10, 2, 7, 1_000_000_000, 3_000_000_000))
        metrics.feed(FeedStatus("bybit", True, False, 1, 25, 2, 9, 1_000_000_000, 4_000_000_000))
        metrics.notified("slack", ok=False)
    """)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    from publisher.dashboard.prom import exposition
    text = exposition(str(tmp_path))[0].decode()
    assert 'liqcascade_ingest_frames_total{venue="bybit"} 50.0' in text
    assert 'liqcascade_ingest_events_total{venue="bybit"} 18.0' in text
    assert 'liqcascade_ingest_last_frame_age_seconds{venue="bybit"} 3.0' in text
    assert 'liqcascade_notifier_failures_total{channel="slack"} 2.0' in text
    assert metrics.gauge_values(str(tmp_path), "liqcascade_ingest_connected") == {(("venue", "bybit"),): 1.0}


def test_a_file_another_process_is_still_creating_does_not_break_the_aggregate(tmp_path):
    """prometheus-client creates a file before sizing it: a reader in that window used to raise on the
    whole merge (struct.error), which stopped the publisher in CI."""
    code = textwrap.dedent(f"""
        from common import metrics
        from common.schema import FeedStatus
        metrics.init({str(tmp_path)!r}, "ingest.bybit")
        metrics.feed(FeedStatus("bybit", True, False, 1, 10, 2, 7, 1_000_000_000, 3_000_000_000))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    (tmp_path / "metrics" / "gauge_mostrecent_999999.db").write_bytes(b"")  # created, not yet sized
    from publisher.dashboard.prom import exposition
    assert 'liqcascade_ingest_frames_total{venue="bybit"} 10.0' in exposition(str(tmp_path))[0].decode()
    assert metrics.gauge_values(str(tmp_path), "liqcascade_ingest_connected") == {(("venue", "bybit"),): 1.0}


def test_a_corrupt_file_leaves_health_readers_running(tmp_path, caplog):
    (tmp_path / "metrics").mkdir()
    entry_claims_more_than_the_file = struct.pack("ii", 64, 0) + struct.pack("i", 1000) + b"k" * 12
    (tmp_path / "metrics" / "gauge_mostrecent_999999.db").write_bytes(entry_claims_more_than_the_file)
    assert metrics.gauge_values(str(tmp_path), "liqcascade_ingest_connected") == {}
    assert "not read" in caplog.text
