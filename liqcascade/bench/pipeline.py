"""The real pipeline at a fixed offered rate: simulator -> ingester -> 2 shards -> signals -> publisher.

Every process is the real `liqcascade` subcommand with a temporary config (`bench.procs`). Two kinds
of run, both counted the same way:

* latency (`venue="binance"`): the simulator replays a generated file (`exchange-sim --file`), one
  Binance frame per event: load on 20 symbols plus sparse *probe* symbols, each hit at most every
  0.2 s, so every probe event triggers its own snapshot (analytics rate-limits a symbol to one per
  min_emit_interval_s and gives busy symbols no extra periodic one). The bench watches the signal
  generator's PUB socket: each MetricsSnapshot carries `ts_trigger_recv`, the ingester's receive
  time of the newest liquidation behind it, so for a probe (SUB receive time - ts_trigger_recv) is
  that event's latency through ingester -> analytics -> signals -> subscriber, three ipc hops like
  the raw chain. Over all snapshots the same difference is the *freshness* (it includes the
  deliberate rate-limit deferral).
* throughput (`venue="bybit"`): `exchange-sim --scenario steady` over THROUGHPUT_SYMBOLS symbols
  through Bybit's `allLiquidation` protocol, the complete tape, which batches each topic's events
  every 500 ms as the real venue does; the slow-client cutoff is off, so a pipeline that cannot keep
  up shows as a lower rate, not as a disconnect. The simulator pre-renders this finite flow (every
  frame generated and encoded before its clock starts), so it offers far more than the pipeline takes.
  Latency here is freshness only (batches of 500 ms).

Counts come from the ingester's FeedStatus (events pushed to the shards) and the processes' own stop
lines (analytics liquidations, gaps, drops).
"""
from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from common.config import load_config
from liqcascade.bench.procs import SHARDS, BenchError, Pipeline
from liqcascade.bench.stats import PROBE, Observation, Watcher, cpu_seconds, percentiles_us, sched_delta, sched_stats

log = logging.getLogger(__name__)

__all__ = ["BenchError", "run"]

PROBE_SYMBOLS = 40
PROBE_RATE = 200.0  # probe events/s at most: 40 symbols, each every 0.2 s > min_emit_interval_s
LOAD_SYMBOLS = 20
THROUGHPUT_SYMBOLS = 100  # Bybit topics of the throughput runs: 100 frames per 500 ms window
LEAD_S = 1.5  # silence at the head of the flow while the ingester (re)connects


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


def _ints(pattern: str, text: str) -> list[int]:
    return [int(m) for m in re.findall(pattern, text)]


def run(rate: float, *, warmup_s: float, window_s: float, redis_url: str | None, venue: str = "binance",
        ready_timeout_s: float = 30.0, tape: bool = True) -> dict[str, Any]:
    """One run at an offered `rate` (a latency run on binance, a throughput run on bybit), with the
    liquidation tape on (the default config) or off; its figures."""
    with tempfile.TemporaryDirectory(prefix="liqbench-") as tmp:
        seconds = warmup_s + window_s + 1.0
        if venue == "bybit":
            symbols = tuple(f"SYM{i}USDT" for i in range(THROUGHPUT_SYMBOLS))
            sent = int(rate * seconds)
            flow_args = ["--scenario", "steady", "--rate", str(rate), "--symbols", str(THROUGHPUT_SYMBOLS),
                         "--duration", str(seconds), "--lead", str(LEAD_S), "--client-queue", "0"]
        else:
            symbols = ()
            flow = Path(tmp) / "flow.jsonl"
            sent = write_flow(flow, rate, seconds)
            flow_args = ["--file", str(flow), "--no-throttle"]
        pipe = Pipeline(Path(tmp), rate, redis_url, venue, symbols, tape)

        cfg = load_config(str(pipe.config), env={})
        watcher = Watcher(cfg.endpoint("pub"), venue)
        try:
            pipe.start()
            res = _measure(pipe, watcher, flow_args, sent, warmup_s, window_s, ready_timeout_s)
            return {"venue": venue, "tape": tape, **res}
        finally:
            pipe.stop()
            watcher.close()


def _measure(pipe: Pipeline, watcher: Watcher, flow_args: list[str], sent: int, warmup_s: float,
             window_s: float, ready_timeout_s: float) -> dict[str, Any]:
    def up(o: Observation) -> bool:  # the ingester's heartbeat came through signals: all are up
        pipe.check_alive()
        return o.status is not None

    if not watcher.pump(ready_timeout_s, up):
        raise BenchError(f"the pipeline did not come up within {ready_timeout_s:.0f} s:\n{pipe.tails()}")
    pipe.start_sim(*flow_args)

    def flowing(o: Observation) -> bool:
        pipe.check_alive()
        return o.status is not None and o.status.connected and o.status.events > 0

    if not watcher.pump(ready_timeout_s, flowing):
        raise BenchError(f"no events reached the pipeline within {ready_timeout_s:.0f} s:\n{pipe.tails()}")
    watcher.pump(warmup_s)
    pipe.check_alive()
    obs = watcher.obs
    store = _RedisCounts(pipe.redis_url)
    pids = {**pipe.pids(), **store.pid}
    cpu0, t0 = {n: cpu_seconds(p) for n, p in pids.items()}, time.monotonic()
    sched0 = {n: sched_stats(p) for n, p in pids.items()}
    xadd0 = store.xadds()
    obs.recording = True
    watcher.pump(window_s)
    obs.recording = False
    cpu1, t1 = {n: cpu_seconds(p) for n, p in pids.items()}, time.monotonic()
    sched1 = {n: sched_stats(p) for n, p in pids.items()}
    xadd1 = store.xadds()
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
            seen.append((st.ts, st.events))
        return len(seen) >= 2 and seen[-1][1] == seen[-2][1]

    watcher.pump(5.0, settled)
    final_status = obs.status
    pipe.stop("ingest")
    watcher.pump(0.3)
    if obs.status is not None:
        final_status = obs.status
    pipe.stop()
    res = _result(pipe, obs, final_status, pipe.rate, sent, t1 - t0, cpu0, cpu1)
    # Where latency goes on a loaded machine: waiting for a core at each wakeup (see README, Performance).
    res["scheduling"] = sched_delta(sched0, sched1, t1 - t0)
    # The tape entries the publisher wrote (XADDs: liquidations and level changes) during the window: the
    # publisher takes what CPU it gets while behind, so its CPU share alone does not say how much it wrote.
    res["redis_xadd_per_s"] = round((xadd1 - xadd0) / (t1 - t0)) if xadd0 is not None and xadd1 is not None else None
    return res


class _RedisCounts:
    """The private redis-server's pid (its CPU is the pipeline's too) and its XADD count."""

    def __init__(self, url: str | None) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2.0) if url else None
        self.pid: dict[str, int] = {}
        if self.client is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                self.pid = {"redis": int(self.client.info("server")["process_id"])}

    def xadds(self) -> int | None:
        if self.client is None:
            return None
        try:
            return int(self.client.info("commandstats").get("cmdstat_xadd", {}).get("calls", 0))
        except (redis.RedisError, OSError):
            return None


def _rate_in(statuses: list[tuple[int, Any]]) -> float:
    """Events/s the ingester pushed to the shards during the window, from its first and last heartbeat in it."""
    if len(statuses) < 2:
        return 0.0
    (_, a), (_, b) = statuses[0], statuses[-1]
    secs = (b.ts - a.ts) / 1e9
    return (b.events - a.events) / secs if secs > 0 else 0.0


def _result(pipe: Pipeline, obs: Observation, status: Any, rate: float, sent: int, secs: float,
            cpu0: dict[str, float], cpu1: dict[str, float]) -> dict[str, Any]:
    ingest_log = pipe.log_text("ingest")
    shard_logs = [pipe.log_text(f"analytics-{k}") for k in range(SHARDS)]
    pushed = _ints(rf"ingest\.{pipe.venue}: stopped; (\d+) events", ingest_log)
    analysed = [_ints(r"liquidations (\d+), statuses", t) for t in shard_logs]
    gaps = sum(sum(_ints(r"stopping \([^)]*\); (\d+) gap", pipe.log_text(n))) for n in pipe.children)
    dropped = sum(_ints(r"dropped_snapshots (\d+)", "\n".join(shard_logs)))
    batches = sum(_ints(r"batches (\d+)", "\n".join(shard_logs)))
    # the publisher's stop line: the tape's entries written to Redis and dropped (its buffer full)
    tape = re.findall(r"liquidations (\d+) written, (\d+) dropped", pipe.log_text("publisher"))
    complete = bool(pushed) and all(analysed)
    events_in = status.events if status is not None else 0
    events_out = sum(a[-1] for a in analysed if a)
    out: dict[str, Any] = {
        "offered_events_per_s": rate,
        "events_per_s": round(_rate_in(obs.statuses)),
        "window_s": round(secs, 2),
        "events_sent": sent,
        "events_in": events_in,
        "frames_in": status.frames if status is not None else 0,
        "events_pushed": pushed[-1] if pushed else None,
        "events_out": events_out if complete else None,
        "lost": (events_in - events_out) if complete else None,
        "bad_frames": status.bad_frames if status is not None else None,
        "gaps": gaps,
        "dropped_snapshots": dropped,
        "tape_written": int(tape[-1][0]) if tape else None,
        "tape_dropped": int(tape[-1][1]) if tape else None,
        # Engine.update_batch calls of the shards (one per poll round that brought liquidations) and events per call
        "update_batches": batches,
        "events_per_update_batch": round(events_out / batches, 1) if complete and batches else None,
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
