"""The real pipeline at a fixed offered rate: simulator -> binance ingester -> 2 shards -> signals -> publisher.

Every process is the real `liqcascade` subcommand with a temporary config. At a fixed rate the simulator
replays a generated file (`exchange-sim --file`): load on 20 symbols plus sparse *probe* symbols, each
hit at most every 0.2 s, so every probe event triggers its own snapshot (analytics rate-limits a
symbol to one per min_emit_interval_s). The bench watches the signal generator's PUB socket: each
MetricsSnapshot carries `ts_trigger_recv`, the ingester's receive time of the newest liquidation
behind it, so for a probe (SUB receive time - ts_trigger_recv) is that event's latency through
ingester -> analytics -> signals -> subscriber, three ipc hops like the raw chain. Over all snapshots
the same difference is the *freshness* (it includes the deliberate rate-limit deferral). Counts
come from the processes' own stop lines (ingester events, analytics liquidations, gaps, drops).
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liqcascade.bench.stats import PROBE, Observation, Watcher, cpu_seconds, percentiles_us

log = logging.getLogger(__name__)

SHARDS = 2

PROBE_SYMBOLS = 40
PROBE_RATE = 200.0  # probe events/s at most: 40 symbols, each every 0.2 s > min_emit_interval_s
LOAD_SYMBOLS = 20
LEAD_S = 1.5  # silence at the head of the flow file while the ingester (re)connects
STOP_GRACE_S = 6.0  # the processes promise to exit within 5 s of SIGTERM


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


def write_config(workdir: Path, sim_port: int, redis_url: str | None) -> Path:
    """A TOML config for every child: private ipc dir, the simulator's URL, Redis or none."""
    lines = [
        'log_level = "INFO"',
        "[pipeline]", f'ipc_dir = "{workdir / "ipc"}"', f"shards = {SHARDS}",
        "[redis]", f'url = "{redis_url or "redis://127.0.0.1:6379/0"}"',
        f"enabled = {'true' if redis_url else 'false'}",
        "[ingest]", 'exchanges = ["binance"]', "symbols = []",
        f'urls = {{ binance = "ws://127.0.0.1:{sim_port}/market" }}',
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


def write_flow(path: Path, rate: float, seconds: float) -> int:
    """Normalized JSON lines for `exchange-sim --file`: `rate` events/s for `seconds` after LEAD_S.

    A marker event opens the file (the replay clock starts at the first line); the flow follows
    after LEAD_S of silence. Returns the number of flow events (the marker excluded).
    """
    n = int(rate * seconds)
    probe_every = max(2, int(round(rate / PROBE_RATE)))
    t0 = time.time_ns()
    step = 1e9 / rate
    # The marker is a trade on a stream nobody subscribed to: it starts the clock and is never delivered.
    lines = [f'{{"type":"price","ts_event":{t0},"symbol":"MARKERUSDT","price":100.0,"qty":1.0}}']
    probe = 0
    for i in range(n):
        ts = t0 + int(LEAD_S * 1e9 + i * step)
        if i % probe_every == 0:
            sym, probe = f"{PROBE}{probe % PROBE_SYMBOLS}USDT", probe + 1
        else:
            sym = f"SYM{i % LOAD_SYMBOLS}USDT"
        side = "long" if i % 3 else "short"
        lines.append(f'{{"ts_event":{ts},"symbol":"{sym}","side":"{side}","price":100.0,"qty":{1 + i % 97}.5}}')
    path.write_text("\n".join(lines) + "\n")
    return n


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pipeline:
    """Starts the children of one run and always stops them (SIGTERM, then SIGKILL)."""

    def __init__(self, workdir: Path, rate: float, redis_url: str | None) -> None:
        self.workdir = workdir
        self.rate = rate
        self.redis_url = redis_url
        self.port = free_port()
        self.config = write_config(workdir, self.port, redis_url)
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
        self.spawn("ingest", "ingest", "binance", "--shards", str(SHARDS))

    def start_sim(self, flow: Path) -> None:
        self.spawn("sim", "exchange-sim", "--port", str(self.port), "--venues", "binance", "--file", str(flow),
                   "--no-throttle")

    def check_alive(self) -> None:
        for c in self.children.values():
            code = c.proc.poll()
            if code is not None and not (c.name == "sim" and code == 0):  # a replayed file ends
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


def _ints(pattern: str, text: str) -> list[int]:
    return [int(m) for m in re.findall(pattern, text)]


def run(rate: float, *, warmup_s: float, window_s: float, redis_url: str | None,
        ready_timeout_s: float = 30.0) -> dict[str, Any]:
    """One run at an offered `rate`; returns its figures."""
    with tempfile.TemporaryDirectory(prefix="liqbench-") as tmp:
        pipe = Pipeline(Path(tmp), rate, redis_url)
        from common.config import load_config

        cfg = load_config(str(pipe.config), env={})
        watcher = Watcher(cfg.endpoint("pub"))
        flow = Path(tmp) / "flow.jsonl"
        sent = write_flow(flow, rate, warmup_s + window_s + 1.0)
        try:
            pipe.start()
            return _measure(pipe, watcher, flow, sent, warmup_s, window_s, ready_timeout_s)
        finally:
            pipe.stop()
            watcher.close()


def _measure(pipe: Pipeline, watcher: Watcher, flow: Path, sent: int, warmup_s: float,
             window_s: float, ready_timeout_s: float) -> dict[str, Any]:
    def up(o: Observation) -> bool:  # the ingester's heartbeat came through signals: all are up
        pipe.check_alive()
        return o.status is not None

    if not watcher.pump(ready_timeout_s, up):
        raise BenchError(f"the pipeline did not come up within {ready_timeout_s:.0f} s:\n{pipe.tails()}")
    pipe.start_sim(flow)

    def flowing(o: Observation) -> bool:
        pipe.check_alive()
        return o.status is not None and o.status.connected and o.status.frames > 0

    if not watcher.pump(ready_timeout_s, flowing):
        raise BenchError(f"no events reached the pipeline within {ready_timeout_s:.0f} s:\n{pipe.tails()}")
    watcher.pump(warmup_s)
    pipe.check_alive()
    obs = watcher.obs
    pids = pipe.pids()
    cpu0, t0 = {n: cpu_seconds(p) for n, p in pids.items()}, time.monotonic()
    obs.recording = True
    watcher.pump(window_s)
    obs.recording = False
    cpu1, t1 = {n: cpu_seconds(p) for n, p in pids.items()}, time.monotonic()
    pipe.check_alive()

    # The replay ends by itself (every event sent); then let the ingester's frame count settle and
    # stop the rest in pipeline order.
    sim = pipe.children["sim"].proc
    watcher.pump(LEAD_S + 15.0, lambda o: sim.poll() is not None)
    pipe.stop("sim")
    seen: list[tuple[int, int]] = []

    def settled(o: Observation) -> bool:
        st = o.status
        if st is not None and (not seen or seen[-1][0] != st.ts):
            seen.append((st.ts, st.frames))
        return len(seen) >= 2 and seen[-1][1] == seen[-2][1]

    watcher.pump(5.0, settled)
    final_status = obs.status
    pipe.stop("ingest")
    watcher.pump(0.3)
    if obs.status is not None:
        final_status = obs.status
    pipe.stop()
    return _result(pipe, obs, final_status, pipe.rate, sent, t1 - t0, cpu0, cpu1)


def _rate_in(statuses: list[tuple[int, Any]]) -> float:
    """Frames/s the ingester received during the window, from its first and last heartbeat in it."""
    if len(statuses) < 2:
        return 0.0
    (_, a), (_, b) = statuses[0], statuses[-1]
    secs = (b.ts - a.ts) / 1e9
    return (b.frames - a.frames) / secs if secs > 0 else 0.0


def _result(pipe: Pipeline, obs: Observation, status: Any, rate: float, sent: int, secs: float,
            cpu0: dict[str, float], cpu1: dict[str, float]) -> dict[str, Any]:
    ingest_log = pipe.log_text("ingest")
    shard_logs = [pipe.log_text(f"analytics-{k}") for k in range(SHARDS)]
    pushed = _ints(r"ingest\.binance: stopped; (\d+) events", ingest_log)
    analysed = [_ints(r"liquidations (\d+), statuses", t) for t in shard_logs]
    gaps = sum(sum(_ints(r"stopping \([^)]*\); (\d+) gap", pipe.log_text(n))) for n in pipe.children)
    dropped = sum(_ints(r"dropped_snapshots (\d+)", "\n".join(shard_logs)))
    complete = bool(pushed) and all(analysed)
    frames = status.frames if status is not None else 0
    events_out = sum(a[-1] for a in analysed if a)
    out: dict[str, Any] = {
        "offered_events_per_s": rate,
        "events_per_s": round(_rate_in(obs.statuses)),
        "window_s": round(secs, 2),
        "events_sent": sent,
        "events_in": frames,
        "events_pushed": pushed[-1] if pushed else None,
        "events_out": events_out if complete else None,
        "lost": (frames - events_out) if complete else None,
        "bad_frames": status.bad_frames if status is not None else None,
        "gaps": gaps,
        "dropped_snapshots": dropped,
        "snapshots": obs.snapshots,
        "latency_us": percentiles_us(obs.latency),
        "freshness_us": percentiles_us(obs.freshness),
        "latency_stages_us": {"ingest_to_analytics": percentiles_us(obs.to_analytics),
                              "analytics_to_subscriber": percentiles_us(obs.from_analytics)},
        "cpu_percent": {n: round(100.0 * (cpu1[n] - cpu0[n]) / secs, 1) for n in cpu0 if n in cpu1},
    }
    if not complete:
        log.warning("bench: stop lines missing; counts incomplete:\n%s", pipe.tails())
    return out
