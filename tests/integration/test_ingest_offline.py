"""An ingester whose venue is unreachable (no internet): attempts and failures counted apart, a few log lines
instead of one per attempt, and a stop summary that says what happened."""
from __future__ import annotations

import logging
import socket
import threading

import pytest

from common.config import load_config
from ingest.exchanges import binance
from ingest.process import Ingester
from tests.integration.sim_harness import Sink
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(30)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: connecting is refused


def test_unreachable_venue_counts_failures_and_logs_them_sparsely(tmp_path, caplog):
    cfg = load_config(overrides={
        "pipeline": {"ipc_dir": str(tmp_path), "shards": 1, "heartbeat_s": 0.05},
        "ingest": {"urls": {"binance": f"ws://127.0.0.1:{_closed_port()}/market"}, "backoff_min_s": 0.01,
                   "backoff_max_s": 0.02, "state_log_s": 0.2}}, env={})
    sink = Sink(cfg)
    ing = Ingester(cfg, binance)
    rc: list[int] = []
    with caplog.at_level(logging.INFO):
        thread = threading.Thread(target=lambda: rc.append(ing.run()), daemon=True)
        thread.start()
        try:
            wait_until(lambda: ing.conn.state.failures >= 20, 20, what="20 failed attempts")
            wait_until(lambda: "binance: DOWN" in caplog.text, 5, what="a periodic state line")
        finally:
            ing.request_stop()
            thread.join(8)
            sink.close()
    assert rc == [0]
    st = ing.conn.state
    assert st.failures >= 20 and st.failures <= st.attempts <= st.failures + 1 and st.reconnects == 0
    warnings = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert 4 <= len(warnings) <= 6, warnings  # streaks 1, 2, 4, 8, 16 (maybe 32): not one per attempt
    assert "1 failed attempt(s) in a row" in warnings[0]
    summary = [r.getMessage() for r in caplog.records if "stopped;" in r.getMessage()]
    assert f"{st.attempts} connection attempts, {st.failures} failed, 0 reconnects" in summary[0]
    state_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("binance: DOWN")]
    assert state_lines and all("failed attempt(s) in a row" in line for line in state_lines)
