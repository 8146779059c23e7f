"""Samples and their statistics: what the bench's SUB socket saw, percentiles, CPU from /proc, the machine."""
from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zmq

from common.wire import WireError, decode

_TICKS = os.sysconf("SC_CLK_TCK")
PROBE = "PROBE"  # symbols whose every event triggers its own snapshot (see bench.pipeline)


@dataclass
class Observation:
    """What the bench's SUB socket saw."""

    status: Any = None  # latest FeedStatus of the ingester
    statuses: list[Any] = field(default_factory=list)  # (recv_ns, FeedStatus) while recording
    latency: list[int] = field(default_factory=list)  # probes: recv - ts_trigger_recv, ns
    freshness: list[int] = field(default_factory=list)  # every snapshot: recv - ts_trigger_recv, ns
    probes_seen: set[tuple[str, int]] = field(default_factory=set)
    to_analytics: list[int] = field(default_factory=list)  # snapshot.ts - ts_trigger_recv, ns
    from_analytics: list[int] = field(default_factory=list)  # recv - snapshot.ts, ns
    snapshots: int = 0
    recording: bool = False


class Watcher:
    """SUB to the signal generator's PUB: metrics snapshots (latency) and ingester statuses (counts)."""

    def __init__(self, endpoint: str, venue: str = "binance") -> None:
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, 1_000_000)
        self.sub.subscribe(b"metrics.")
        self.sub.subscribe(b"status." + venue.encode())
        self.sub.connect(endpoint)
        self.obs = Observation()

    def pump(self, seconds: float, until: Any = None) -> bool:
        """Receive for `seconds` or until `until(obs)` is true; returns whether `until` became true."""

        end = time.monotonic() + seconds
        obs = self.obs
        while True:
            if until is not None and until(obs):
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            if not self.sub.poll(min(left, 0.1) * 1000):
                continue
            while True:
                try:
                    frames = self.sub.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                recv_ns = time.time_ns()  # same clock as the ingester's ts_recv
                try:
                    topic, _, _, msgs = decode(frames)
                except WireError:
                    continue
                if topic.startswith(b"status."):
                    obs.status = msgs[-1]
                    if obs.recording:
                        obs.statuses.append((recv_ns, msgs[-1]))
                elif obs.recording:
                    for snap in msgs:
                        obs.snapshots += 1
                        if snap.ts_trigger_recv <= 0:
                            continue
                        obs.freshness.append(recv_ns - snap.ts_trigger_recv)
                        key = (snap.symbol, snap.ts_trigger_recv)
                        if snap.symbol.startswith(PROBE) and key not in obs.probes_seen:
                            obs.probes_seen.add(key)  # later periodic snapshots of it are not latency
                            obs.latency.append(recv_ns - snap.ts_trigger_recv)
                            obs.to_analytics.append(snap.ts - snap.ts_trigger_recv)
                            obs.from_analytics.append(recv_ns - snap.ts)

    def close(self) -> None:
        self.sub.close()
        self.ctx.term()


def percentiles_us(samples_ns: Sequence[int] | np.ndarray) -> dict[str, float]:
    """p50/p99/p999 (and count) of nanosecond samples, in microseconds; zeros when empty."""
    a = np.asarray(samples_ns, dtype=np.float64)
    if a.size == 0:
        return {"p50": 0.0, "p99": 0.0, "p999": 0.0, "n": 0}
    p50, p99, p999 = np.percentile(a, [50.0, 99.0, 99.9]) / 1000.0
    return {"p50": round(float(p50), 1), "p99": round(float(p99), 1), "p999": round(float(p999), 1),
            "n": int(a.size)}


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc/<pid>/stat (0.0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(b")") + 2:].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS  # fields 14 and 15 of stat(5)


def sched_stats(pid: int) -> tuple[int, int, int]:
    """(ns on a CPU, ns runnable but waiting for one, timeslices) summed over a process's threads, from
    /proc/<pid>/task/*/schedstat; zeros for what is gone. A timeslice starts at every wakeup (and after every
    preemption), so waiting ns / timeslices is what a wakeup costs in scheduling delay."""
    total = [0, 0, 0]
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0, 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as fh:
                fields = fh.read().split()
        except OSError:
            continue
        for i in range(3):
            total[i] += int(fields[i])
    return total[0], total[1], total[2]


def sched_delta(a: dict[str, tuple[int, int, int]], b: dict[str, tuple[int, int, int]],
                secs: float) -> dict[str, dict[str, float]]:
    """Per process between two `sched_stats` samples: run-queue wait as % of the wall time, timeslices per
    second, and the mean wait per timeslice in µs."""
    out = {}
    for name in a.keys() & b.keys():
        _, wait, slices = (y - x for x, y in zip(a[name], b[name], strict=True))
        out[name] = {"runq_wait_percent": round(100.0 * wait / 1e9 / secs, 1) if secs > 0 else 0.0,
                     "slices_per_s": round(slices / secs) if secs > 0 else 0,
                     "wait_per_slice_us": round(wait / slices / 1000, 1) if slices > 0 else 0.0}
    return dict(sorted(out.items()))


def machine() -> dict[str, object]:
    """CPU model, core count and Python version, for the record."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count() or 0, "python": platform.python_version(),
            "platform": platform.platform()}
