"""Deribit's server-driven keepalive through the real ingester: the simulator sends `test_request`
heartbeats, the ingester's reply hook answers `public/test`, and an unanswered client is closed."""
from __future__ import annotations

import orjson
import pytest
from websockets.sync.client import connect

from common.schema import LONG
from ingest.exchanges import deribit
from liqcascade.sim import deribit as sim_deribit
from liqcascade.sim.timeline import SimLiquidation
from tests.integration.sim_harness import Rig

pytestmark = pytest.mark.timeout(20)


@pytest.fixture(autouse=True)
def fast_heartbeats(monkeypatch):
    """The client asks for Deribit's minimum, 10 s; the simulator runs it at 0.3 s."""
    monkeypatch.setattr(sim_deribit, "HEARTBEAT_SCALE", 0.03)


def test_quiet_feed_lives_on_answered_test_requests(tmp_path):
    rig = Rig(tmp_path, "deribit", stale_after_s=1.5).start()
    try:
        rig.sim.stop_ticker()  # a quiet market: only heartbeats arrive, each demanding an answer
        rig.sim.call(lambda: rig.sim.server.expect_pings(None))
        frames = rig.ingester.conn.state.frames
        rig.until(lambda: rig.ingester.conn.state.frames >= frames + 6, timeout=10, what="6 heartbeats")
        rig.broadcast([SimLiquidation("BTCUSDT", LONG, 60_000.0, 0.5)])
        [key] = rig.wait_all_delivered_received(1)
        assert key[:2] == ("BTCUSDT", LONG)
        assert rig.sim.server.stats["heartbeat_disconnects"] == 0
        assert rig.ingester.conn.state.reconnects == 0
        assert rig.ingester.conn.state.stale == 0
    finally:
        assert rig.stop() == 0


def test_client_that_never_answers_test_request_is_closed(tmp_path):
    rig = Rig(tmp_path, "deribit").start()
    try:
        with connect(f"ws://127.0.0.1:{rig.sim.port}/ws/api/v2") as ws:
            ws.send(deribit.subscribe_messages((), "BTCUSDT")[0])  # set_heartbeat, then silence
            assert orjson.loads(ws.recv(timeout=5))["result"] == "ok"
            assert orjson.loads(ws.recv(timeout=5))["params"]["type"] == "test_request"
            rig.until(lambda: rig.sim.server.stats["heartbeat_disconnects"] >= 1, what="the silent client closed")
            rig.until(lambda: ws.protocol.close_rcvd is not None, what="a close frame")
            assert ws.protocol.close_rcvd.code == sim_deribit.HEARTBEAT_CLOSE[0]
        assert rig.sim.server.stats["heartbeat_disconnects"] == 1  # the ingester's own link answered
    finally:
        assert rig.stop() == 0
