"""Helpers for end-to-end tests: a private Redis, a config file, and watching signals arrive."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import zmq

from common.wire import decode
from tests.polling import wait_until
from tests.redis_server import RedisServer, free_port

REPO = Path(__file__).resolve().parents[2]
ALERT_OR_HIGHER = ("ALERT", "CRITICAL", "EXTREME")


def write_config(tmp: Path, redis_url: str, urls: dict[str, str] | None = None, shards: int = 2,
                 dashboard_port: int = 0) -> Path:
    lines = ['log_level = "INFO"', "[pipeline]", f'ipc_dir = "{tmp / "ipc"}"', f"shards = {shards}",
             "heartbeat_s = 0.5", "[redis]", f'url = "{redis_url}"',
             "[dashboard]", f"port = {dashboard_port or free_port()}",  # never the shared default 8080
             "[ingest]", "backoff_min_s = 0.05", "backoff_max_s = 0.5"]
    if urls:
        lines.append("urls = { " + ", ".join(f'{k} = "{v}"' for k, v in urls.items()) + " }")
    lines += ["[store]", f'data_dir = "{tmp / "data"}"', "flush_s = 0.2"]  # never the user's own history file
    path = tmp / "liqcascade.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def child_env(config: Path) -> dict[str, str]:
    env = dict(os.environ, LIQCASCADE_CONFIG=str(config), PYTHONUNBUFFERED="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for var in ("REDIS_URL", "TRACKED_SYMBOLS", "LOG_LEVEL", "LIQCASCADE_IPC_DIR"):
        env.pop(var, None)
    return env


class OutputCollector:
    """Reads a child's merged output in a thread so its pipe never fills; keeps every line."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:  # type: ignore[union-attr]
            self.lines.append(raw.decode(errors="replace").rstrip())

    def text(self) -> str:
        return "\n".join(self.lines)


class ZmqSignalWatcher:
    """SUB to the signal generator's PUB endpoint, collecting decoded signals in a thread."""

    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect(endpoint)
        self.sub.subscribe(b"signal.")
        self.received: list[tuple[bytes, object]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.sub.poll(100):
                topic, _, _, msgs = decode(self.sub.recv_multipart())
                self.received.extend((topic, m) for m in msgs)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sub.close()
        self.ctx.term()


class RedisAlertWatcher:
    """Subscribes to cascade:alerts before the pipeline starts, so no alert is missed."""

    def __init__(self, server: RedisServer) -> None:
        self.pubsub = server.client().pubsub()
        self.pubsub.subscribe("cascade:alerts")
        self.alerts: list[dict] = []

    def poll(self) -> list[dict]:
        m = self.pubsub.get_message(timeout=0.05)
        if m and m["type"] == "message":
            self.alerts.append(orjson.loads(m["data"]))
        return self.alerts


def wait_for_alert(redis_watch: RedisAlertWatcher, zmq_watch: ZmqSignalWatcher, symbol: str, side: str,
                   timeout: float, output: OutputCollector) -> dict:
    def found() -> dict | None:
        for a in redis_watch.poll():
            if a["symbol"] == symbol and a["signal"] in ALERT_OR_HIGHER and a["direction"] == side:
                return a
        return None
    try:
        alert = wait_until(found, timeout, what=f"an ALERT+ for {symbol} {side} on cascade:alerts")
    except AssertionError:
        raise AssertionError("no alert; pipeline output:\n" + output.text()[-6000:]) from None
    wait_until(lambda: any(t.startswith(f"signal.{lvl}.{symbol}".encode()) and s.direction == side
                           for t, s in list(zmq_watch.received) for lvl in ALERT_OR_HIGHER),
               10, what=f"the same alert on the raw ZMQ topic signal.<LEVEL>.{symbol}")
    return alert


def assert_redis_contract(server: RedisServer, symbol: str) -> None:
    r = server.client()
    assert r.get(f"velocity:{symbol}:current"), "velocity key missing"
    prob = orjson.loads(r.get(f"cascade:probability:{symbol}"))
    assert 0.0 <= prob["probability"] <= 1.0
    assert r.get("regime:current"), "regime key missing"
    assert r.llen("cascade:signals:history") >= 1
    assert r.xlen("cascade:stream") >= 1


def stop_launcher(proc: subprocess.Popen) -> None:
    """After a failed test: SIGTERM a launcher still running (it stops its processes), SIGKILL only if it does not
    exit; a SIGKILL first would leave its processes running on the machine."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def terminate_and_wait(proc: subprocess.Popen, seconds: float = 8.0) -> float:
    """SIGTERM the launcher; return how long it took to exit (it must be under the 5 s budget + slack)."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"launcher still running {seconds} s after SIGTERM") from None
    return time.monotonic() - t0
