"""Tailing a Hyperliquid node's fills directory: real block line in, one deduplicated liquidation out."""
from __future__ import annotations

import asyncio
import os
import threading

import pytest
import zmq

from common.config import load_config
from common.sockets import make_socket
from common.wire import decode
from ingest.exchanges import hyperliquid_node
from ingest.node_tail import FileTailer
from ingest.process import Ingester
from tests.conftest import DATA
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(30)


def test_node_fills_tail_yields_new_complete_lines_as_liquidations(tmp_path):
    real_file = DATA / "hyperliquid" / "hyperliquid_node_fills_blocks_with_liquidation_2025-10-27.jsonl"
    real = real_file.read_bytes().strip()
    hourly = tmp_path / "node_fills_by_block" / "hourly" / "20251027"
    hourly.mkdir(parents=True)
    f = hourly / "17"
    f.write_bytes(b'{"block_number":1,"events":[]}\n')  # history before we start: not replayed
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path / "ipc"), "shards": 1}}, env={})
    ctx = zmq.Context()
    pull = make_socket(ctx, zmq.PULL, cfg.endpoint("analytics", 0), bind=True, hwm=1000)
    ing = Ingester(cfg, hyperliquid_node, connection=FileTailer(str(tmp_path)))
    thread = threading.Thread(target=ing.run)
    thread.start()
    try:
        wait_until(lambda: ing.conn.state.connected, 10, what="tailer following the file")
        with open(f, "ab") as fh:
            fh.write(real[:50])  # in two writes, as a node's buffered writes may land
            fh.flush()
            fh.write(real[50:] + b"\n")
        got = []

        def received() -> bool:
            while pull.poll(50):
                topic, _, _, msgs = decode(pull.recv_multipart())
                if topic.startswith(b"liq."):
                    got.extend(msgs)
            return bool(got)
        wait_until(received, 10, what="the liquidation")
        (liq,) = got
        assert (liq.exchange, liq.symbol, liq.side, liq.qty) == ("hyperliquid", "WLFIUSDT", "short", 890.0)
        assert liq.throttled is False
    finally:
        ing.request_stop()
        thread.join(5)
        pull.close(0)
        ctx.term()
    assert not thread.is_alive()


def test_tailer_survives_its_file_being_removed_and_follows_the_next_one(tmp_path):
    """A node prunes old hourly files; the file being followed vanishing must not end the reader."""
    old, new = tmp_path / "16", tmp_path / "17"
    old.write_bytes(b"a\n")
    tailer = FileTailer(str(tmp_path), from_start=True)

    async def run() -> list[bytes]:
        got: list[bytes] = []
        frames = tailer.frames()
        got.append((await anext(frames))[1])
        old.unlink()
        new.write_bytes(b"b\nc\n")
        os.utime(new)
        while len(got) < 3:
            got.append((await asyncio.wait_for(anext(frames), 5))[1])
        await frames.aclose()
        return got

    assert asyncio.run(run()) == [b"a", b"b", b"c"]
