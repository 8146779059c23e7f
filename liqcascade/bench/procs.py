"""The bench's child processes: a temporary config, the real `liqcascade` subcommands, always stopped."""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SHARDS = 2
STOP_GRACE_S = 6.0  # the processes promise to exit within 5 s of SIGTERM
SIM_PATHS = {"binance": "/market", "bybit": "/v5/public/linear"}


class BenchError(RuntimeError):
    """The pipeline did not start or did not behave; the message carries the processes' log tails."""


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: Path

    def tail(self, n: int = 15) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-n:]
        except OSError:
            return ""
        return "\n".join(f"  [{self.name}] {line}" for line in lines)


def write_config(workdir: Path, sim_port: int, redis_url: str | None, venue: str,
                 symbols: tuple[str, ...] = ()) -> Path:
    """A TOML config for every child: private ipc dir, the simulator's URL for `venue`, Redis or none."""
    lines = [
        'log_level = "INFO"',
        "[pipeline]", f'ipc_dir = "{workdir / "ipc"}"', f"shards = {SHARDS}",
        "[redis]", f'url = "{redis_url or "redis://127.0.0.1:1/0"}"',  # never the user's Redis
        f"enabled = {'true' if redis_url else 'false'}",
        "[ingest]", f'exchanges = ["{venue}"]', "symbols = [" + ", ".join(f'"{s}"' for s in symbols) + "]",
        f'urls = {{ {venue} = "ws://127.0.0.1:{sim_port}{SIM_PATHS[venue]}" }}',
        "backoff_min_s = 0.05", "backoff_max_s = 0.5",
    ]
    path = workdir / "liqcascade.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def child_env(config: Path) -> dict[str, str]:
    env = dict(os.environ, LIQCASCADE_CONFIG=str(config), PYTHONUNBUFFERED="1")
    for var in ("REDIS_URL", "TRACKED_SYMBOLS", "LOG_LEVEL", "LIQCASCADE_IPC_DIR"):
        env.pop(var, None)  # the temp config decides, not the user's shell
    return env


def free_port() -> int:

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pipeline:
    """Starts the children of one run and always stops them (SIGTERM, then SIGKILL)."""

    def __init__(self, workdir: Path, rate: float, redis_url: str | None, venue: str = "binance",
                 symbols: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        self.rate = rate
        self.redis_url = redis_url
        self.venue = venue
        self.port = free_port()
        self.config = write_config(workdir, self.port, redis_url, venue, symbols)
        self.env = child_env(self.config)
        self.children: dict[str, Child] = {}

    def spawn(self, name: str, *argv: str) -> Child:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "liqcascade", *argv], env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        child = self.children[name] = Child(name, proc, log_path)
        return child

    def start(self) -> None:
        """The pipeline; the ingester retries the simulator's URL until `start_sim` runs it."""
        for k in range(SHARDS):
            self.spawn(f"analytics-{k}", "analytics", "--shard", str(k), "--shards", str(SHARDS))
        self.spawn("signals", "signals")
        if self.redis_url:
            self.spawn("publisher", "publish")
        self.spawn("ingest", "ingest", self.venue, "--shards", str(SHARDS))

    def start_sim(self, *flow_args: str) -> None:
        """The simulator serving this run's venue; `flow_args` choose what it plays."""
        self.spawn("sim", "exchange-sim", "--port", str(self.port), "--venues", self.venue, *flow_args)

    def check_alive(self) -> None:
        for c in self.children.values():
            code = c.proc.poll()
            if code is not None and not (c.name == "sim" and code == 0):  # a finite flow ends
                raise BenchError(f"{c.name} exited with status {code}:\n{c.tail()}")

    def stop(self, *names: str) -> None:
        """SIGTERM the named children (default: all, in pipeline order) and wait; SIGKILL on timeout."""
        order = names or ("sim", "ingest", *[f"analytics-{k}" for k in range(SHARDS)], "signals", "publisher")
        procs = [self.children[n] for n in order if n in self.children]
        for c in procs:
            if c.proc.poll() is None:
                c.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for c in procs:
            try:
                c.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("bench: %s still running %.0f s after SIGTERM; killing it", c.name, STOP_GRACE_S)
                c.proc.kill()
                c.proc.wait(2.0)

    def pids(self) -> dict[str, int]:
        return {n: c.proc.pid for n, c in self.children.items() if c.proc.poll() is None}

    def log_text(self, name: str) -> str:
        c = self.children.get(name)
        return c.log_path.read_text(errors="replace") if c else ""

    def tails(self) -> str:
        return "\n".join(c.tail() for c in self.children.values())
