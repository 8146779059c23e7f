"""The chaos run's bad frames through the real `liqcascade ingest` process against the simulator: the process
keeps running, counts them, and later good frames still arrive. And a task that dies takes the process down."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from common.config import load_config
from common.schema import LONG, SHORT
from liqcascade.sim.timeline import SimLiquidation
from liqcascade.sim.venues import sim_urls
from tests.conftest import fixture_text
from tests.integration.pipeline_harness import OutputCollector, child_env, terminate_and_wait
from tests.integration.sim_harness import SimThread, Sink
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(60)
YEAR_2100_MS = 4_102_444_800_000
BEYOND_INT64_NS_MS = 2**64 // 10**6 + 1  # x 1e6 ns no longer fits msgpack's uint64: it killed the flusher


def _edit(rel: str, path: tuple, **fields: object) -> str:
    doc = orjson.loads(fixture_text(rel).replace("IOST-USDT", "BTC-USDT"))
    node = doc
    for key in path:
        node = node[key]
    node.update(fields)
    return orjson.dumps(doc).decode()


# venue -> (fixture, path to the item, side field, qty field, time field)
SHAPES = {
    "binance": ("binance/force_order_btc_1.json", ("o",), "S", "z", "T"),
    "bybit": ("bybit/all_liquidation_rose.json", ("data", 0), "S", "v", "T"),
    "okx": ("okx/liquidation_orders_swap.json", ("data", 0, "details", 0), "side", "sz", "ts"),
    "hyperliquid": ("hyperliquid/user_fill_liquidation.json", ("data", "fills", 0), "side", "sz", "time"),
    "aster": ("aster/force_order_doc_combined.json", ("data", "o"), "S", "z", "T"),
    "lighter": ("lighter/trade_update_liquidation_btc.json", ("liquidation_trades", 0), "is_maker_ask", "size",
                "timestamp"),
    "dydx": ("dydx/trades_batch_deleveraged.json", ("contents", 0, "trades", 0), "side", "size", "createdAt"),
    "gate": ("gate/public_liquidates_doc.json", ("result", 0), "size", "size", "time_ms"),  # side = size's sign
    "bitget": ("bitget/liquidation_public_client.json", ("data", 0), "side", "amount", "ts"),
    "deribit": ("deribit/trades_btc_perpetual_liquidation.json", ("params", "data", 0), "direction", "amount",
                "timestamp"),
    # bitmex: its liquidation rows carry no time (tests/unit/ingest/test_bitmex.py covers its bad values)
}
ISO_TIMES = {"dydx"}  # times written as ISO text: the same hostile instants, in that form


def _when(venue: str, ms: int) -> object:
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") if venue in ISO_TIMES else ms


def bad_frames(venue: str) -> tuple[list[str], str]:
    """Three frames that must be rejected (a list side, 1e160 qty, a time beyond int64 ns) and one dated 2100."""
    rel, path, side, qty, ts = SHAPES[venue]
    rejected = [_edit(rel, path, **{side: []}), _edit(rel, path, **{qty: "1e160"}),
                _edit(rel, path, **{ts: _when(venue, BEYOND_INT64_NS_MS)})]
    return rejected, _edit(rel, path, **{ts: _when(venue, YEAR_2100_MS)})


def write_config(tmp: Path, venue: str, port: int) -> Path:
    url = sim_urls("127.0.0.1", port, [venue])[venue]
    path = tmp / "ingest.toml"
    path.write_text("\n".join([
        'log_level = "INFO"', "[pipeline]", f'ipc_dir = "{tmp}"', "shards = 2", "heartbeat_s = 0.2",
        "[ingest]", "backoff_min_s = 0.05", "backoff_max_s = 0.2", "stale_after_s = 2.0",
        f'okx_ctval_cache = "{tmp / "okx.json"}"', f'urls = {{ {venue} = "{url}" }}']) + "\n")
    return path


class ProcRig:
    """The simulator in a thread, PULL sinks bound where the ingester pushes, `liqcascade ingest VENUE` as a child."""

    def __init__(self, tmp: Path, venue: str, python_prelude: str = "") -> None:
        self.venue = venue
        self.sim = SimThread(venue)
        config = write_config(tmp, venue, self.sim.port)
        self.sink = Sink(load_config(str(config), env={}))
        if python_prelude:  # the real CLI, with a fault injected into the process first
            argv = [sys.executable, "-c", f"{python_prelude}\nfrom liqcascade.cli import main\nmain()", "ingest", venue]
        else:
            argv = [str(Path(sys.executable).parent / "liqcascade"), "ingest", venue]
        self.proc = subprocess.Popen(argv, env=child_env(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = OutputCollector(self.proc)
        self.sim.start_ticker()

    def wait_flowing(self) -> None:
        try:
            wait_until(lambda: self.sim.call(lambda: self.sim.server.subscribed(self.venue)), 20, what="a subscriber")
            n = len(self.sink.prices)
            wait_until(lambda: len(self.sink.prices) > n, 10, what="price ticks through the ingester process")
        except AssertionError:
            raise AssertionError("ingester output:\n" + self.out.text()[-4000:]) from None

    def send(self, frames: list[str]) -> None:
        assert self.sim.call(lambda: self.sim.server.send_frames(frames, self.venue)) == len(frames)

    def broadcast(self, events: list[SimLiquidation]) -> None:
        async def go() -> None:
            for ev in events:
                await self.sim.server.broadcast(ev)
        self.sim.call(go)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.sink.close()
        self.sim.close()


@pytest.mark.parametrize("venue", sorted(SHAPES))
def test_real_bad_frames_through_the_real_process_are_counted_and_good_frames_still_arrive(tmp_path, venue):
    rig = ProcRig(tmp_path, venue)
    try:
        rig.wait_flowing()
        rejected, future = bad_frames(venue)
        rig.send(rejected + [future])
        status = wait_until(lambda: next((s for s in reversed(rig.sink.statuses)
                                          if s.bad_frames >= 3 and s.ts_clamped >= 1), None), 10,
                            what="a FeedStatus counting 3 bad frames and 1 replaced exchange time")
        assert (status.bad_frames, status.ts_clamped, status.connected) == (3, 1, True)
        (dated_2100,) = [ev for ev in rig.sink.liqs if ev.ts_event == ev.ts_recv]
        assert dated_2100.ts_event < YEAR_2100_MS * 10**6 // 2

        good = [SimLiquidation(s, side, 100.0 + i, 0.5 + i) for i, (s, side) in
                enumerate([("BTCUSDT", LONG), ("ETHUSDT", SHORT), ("SOLUSDT", LONG)])]
        rig.broadcast(good)
        wait_until(lambda: len(rig.sim.delivered()) == 3 and rig.sim.delivered() <= set(rig.sink.keys()), 10,
                   what="the good liquidations after the bad frames")
        assert rig.proc.poll() is None, "the ingester died"
        assert terminate_and_wait(rig.proc) < 5.5 and rig.proc.returncode == 0
        text = rig.out.text()
        assert "bad frame #1 skipped" in text and "using receive time" in text
        assert "3 bad frames, 1 exchange times replaced" in text
        assert "Traceback" not in text
    finally:
        rig.close()


CRASH_READER = """
import ingest.dedupe as d
def boom(self, events):
    raise RuntimeError("injected reader failure")
d.Deduper.filter = boom
"""
CRASH_FLUSHER = """
import ingest.router as r
def boom(self, *args):
    raise RuntimeError("injected flusher failure")
r.Router.take = boom
"""


@pytest.mark.parametrize("task, prelude", [("reader", CRASH_READER), ("flusher", CRASH_FLUSHER)])
def test_a_task_that_dies_takes_the_real_process_down_with_a_non_zero_exit(tmp_path, task, prelude):
    rig = ProcRig(tmp_path, "binance", python_prelude=prelude)
    try:
        # a counter, not the live subscriber count: the process may be gone again before a poll sees it
        wait_until(lambda: rig.sim.server.connects["binance"] >= 1, 20, what="the ingester connected")
        # the first price tick reaches the failing code; the process must not stay up as a zombie
        rig.proc.wait(15)
        assert rig.proc.returncode == 1
        text = rig.out.text()
        assert f"{task} task ended (RuntimeError: injected {task} failure); exiting" in text, text[-3000:]
    finally:
        rig.close()
