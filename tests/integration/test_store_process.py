"""`liqcascade store` as a worker on a real PUB socket: what it records, and PostgreSQL going away mid-run."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import click
import pytest
import zmq

from common import topics
from common.config import StoreConfig, load_config
from common.schema import Liquidation, Signal
from common.wire import SeqStamper
from publisher.store import queries as q
from publisher.store.backend import StoreUnavailable, open_backend
from publisher.store.commands import open_for_reading
from publisher.store.process import StoreWorker
from publisher.store.schema import NS
from publisher.store.writer import StoreWriter
from tests.integration.store_fixtures import OwnPostgres
from tests.polling import wait_until
from tests.redis_server import free_port

T0 = 1_767_225_600 * NS
ALL = q.Filter(T0 - 86_400 * NS, T0 + 86_400 * NS)


def liq(k: int, side: str = "long", exchange: str = "bybit") -> Liquidation:
    return Liquidation(exchange, "BTCUSDT", "BTCUSDT", side, 90_000.0, 0.5, 45_000.0, T0 + k * NS // 10, T0, False)


def sig(ts: int, level: str, heartbeat: bool = False) -> Signal:
    return Signal("BTCUSDT", level, 0.6, 0.8, "long", "NORMAL", f"BTCUSDT {level}", ts, "NONE", heartbeat,
                  components={"velocity": {"score": 0.7}})


class Tape:
    """The signal generator's PUB socket, as the relay publishes on it."""

    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.bind(endpoint)
        self.stamper = SeqStamper("signals")

    def send(self, topic: bytes, msgs: list) -> None:
        self.pub.send_multipart(self.stamper.stamp(topic, msgs))

    def close(self) -> None:
        self.pub.close(0)
        self.ctx.term()


def start_worker(tmp_path: Path, url: str, **store: object) -> tuple[StoreWorker, threading.Thread, Tape]:
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path / "ipc")},
                                 "store": {"url": url, "flush_s": 0.05, "backoff_max_s": 0.2, **store}}, env={})
    os.makedirs(tmp_path / "ipc", exist_ok=True)
    tape = Tape(cfg.endpoint("pub"))
    worker = StoreWorker(cfg)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return worker, thread, tape


def stop_worker(worker: StoreWorker, thread: threading.Thread, tape: Tape) -> None:
    worker.stop.set()
    thread.join(5)
    tape.close()
    assert not thread.is_alive(), "store worker did not stop within 5 s"


def count(url: str) -> int:
    try:
        return q.export_count(open_backend(url, hold=False), ALL)
    except StoreUnavailable:
        return -1


def publish_until_subscribed(worker: StoreWorker, tape: Tape) -> None:
    """PUB drops what is sent before the SUB's subscription arrives: send a probe until one is written."""
    def probe() -> bool:
        tape.send(topics.liquidation("bybit", "BTCUSDT"), [liq(0)])
        return worker.writer.written > 0
    wait_until(probe, 10, what="the store to receive from the PUB socket")


def test_records_the_tape_and_level_changes_not_heartbeats(tmp_path, store_url):
    worker, thread, tape = start_worker(tmp_path, store_url)
    try:
        publish_until_subscribed(worker, tape)
        for k in range(1, 200, 20):
            tape.send(topics.liquidation("bybit", "BTCUSDT"), [liq(j, "short" if j % 2 else "long")
                                                               for j in range(k, k + 20)])
        tape.send(topics.signal("ALERT", "BTCUSDT"), [sig(T0 + 5, "ALERT")])
        tape.send(topics.signal("ALERT", "BTCUSDT"), [sig(T0 + 6, "ALERT", heartbeat=True)])
        tape.send(topics.metrics("BTCUSDT"), [sig(T0 + 7, "WATCH")])  # not subscribed: never stored
        wait_until(lambda: worker.writer.written >= 201 and worker.writer.signals_written >= 1, 10,
                   what="200 liquidations and the level change written")
    finally:
        stop_worker(worker, thread, tape)
    db = open_backend(store_url, hold=False)
    assert q.export_count(db, ALL) == 201  # 200 + the probe, whose repeats share one dedupe key
    assert [s["level"] for s in q.signals(db, ALL)] == ["ALERT"]
    sides = {r["side"]: r["count"] for r in q.totals(db, ALL, ("side",))}
    assert sides == {"long": 101, "short": 100}


def test_a_full_buffer_drops_the_oldest_and_counts_them(tmp_path):

    w = StoreWriter(open_backend(f"postgresql://postgres@127.0.0.1:{free_port()}/none"),
                    StoreConfig(buffer=10, backoff_max_s=0.1))
    w.add([liq(k) for k in range(25)])
    assert w.flush() == 0 and w.up is False
    assert (w.pending(), w.dropped) == (10, 15)


@pytest.fixture
def own_postgres():
    root = Path(tempfile.mkdtemp(prefix="liqcascade-pg-"))
    os.chmod(root, 0o755)
    pg = OwnPostgres(root / "pg").init()
    pg.start()
    yield pg
    pg.ensure_stopped()
    shutil.rmtree(root, ignore_errors=True)


def test_postgres_stopped_mid_run_loses_nothing(tmp_path, own_postgres):
    """The database goes away while liquidations keep coming: the writer buffers and retries, the pipeline's
    socket keeps being drained, and after the restart every row is there exactly once."""
    url = own_postgres.url
    worker, thread, tape = start_worker(tmp_path, url)
    try:
        publish_until_subscribed(worker, tape)
        tape.send(topics.liquidation("bybit", "BTCUSDT"), [liq(k) for k in range(1, 100)])
        wait_until(lambda: count(url) == 100, 15, what="the first 100 rows")
        own_postgres.stop()
        tape.send(topics.liquidation("okx", "BTCUSDT"), [liq(k, exchange="okx") for k in range(100, 400)])
        wait_until(lambda: worker.writer.up is False and worker.writer.pending() == 300, 15,
                   what="the writer to see the database down and hold the rows")
        tape.send(topics.liquidation("okx", "BTCUSDT"), [liq(k, exchange="okx") for k in range(400, 500)])
        wait_until(lambda: worker.writer.pending() == 400, 10, what="the receive loop to keep taking rows")
        own_postgres.start()
        wait_until(lambda: count(url) == 500, 30, what="the buffered rows written after the restart")
    finally:
        stop_worker(worker, thread, tape)
    assert worker.writer.dropped == 0 and worker.writer.failures >= 1
    by_ex = {r["exchange"]: r["count"] for r in q.totals(open_backend(url), ALL, ("exchange",))}
    assert by_ex == {"bybit": 100, "okx": 400}


def test_history_waits_out_a_duckdb_writer_then_reads(tmp_path):
    """DuckDB lets one process write a file or several read it: a reader waits (bounded) while another
    process holds the file, says so in one line if it never frees, and reads once it does."""
    path = tmp_path / "history.duckdb"
    url = f"duckdb:///{str(path).lstrip('/')}"
    w = open_backend(url)
    w.write_batch([], [])
    w.close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read(); c.close()", str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        cfg = load_config(overrides={"store": {"url": url}}, env={})
        with pytest.raises(click.ClickException, match="store unavailable: .*lock"):
            open_for_reading(cfg, wait_s=0.3)
        holder.stdin.close()  # the writer finishes while a reader is waiting
        db = open_for_reading(cfg, wait_s=10)
        assert q.export_count(db, ALL) == 0
        db.close()
    finally:
        holder.kill()
        holder.wait(5)
