"""Prometheus metrics of every process, in one module: definitions, multiprocess setup and the hooks stages call.

Each process writes its values to mmap files under `<ipc_dir>/metrics` (prometheus-client multiprocess mode);
the dashboard serves their aggregate on `/metrics`, so one scrape target per host covers the whole pipeline.
Hooks take the cumulative counters stages already keep (FeedStatus, Worker counts, the Redis sink's totals)
and add the difference since the last call, so the hot paths only bump plain ints; hooks are no-ops until
`init` ran (tools, and workers running in test threads, record nothing).

Labels are bounded: `venue` by the exchange registry, `stage`/`process` by the pipeline's processes (one per
shard), `hop` and `queue` by fixed names, `level` by the five levels, and `symbol` by the tracked set (or the
venues' listed perpetuals, a few hundred) — never by anything a message can invent freely.
"""
from __future__ import annotations

import logging
import os
import platform
import struct
import time
from collections.abc import Iterable, Mapping
from typing import Any

from common.schema import LEVEL_RANK, FeedStatus, MetricsSnapshot, Signal

log = logging.getLogger(__name__)
NS = 1_000_000_000
# Frame arrival -> snapshot relayed by signals: sub-millisecond in the bench, seconds when something is wrong.
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
HOPS = {"signals": "signals->publisher", "analytics": "analytics->signals"}  # where a stage's drops happen


def metrics_dir(ipc_dir: str) -> str:
    """Where every process of one pipeline writes its metric files (PROMETHEUS_MULTIPROC_DIR)."""
    return os.path.join(ipc_dir, "metrics")


class _Metrics:
    """The metric objects; built once per process by `init`, after multiprocess mode is on."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(f"liqcascade_{name}", doc, labels, registry=None)

        def gauge(name: str, doc: str, labels: tuple[str, ...], mode: str = "mostrecent") -> Gauge:
            return Gauge(f"liqcascade_{name}", doc, labels, registry=None, multiprocess_mode=mode)

        self.build_info = gauge("build_info", "Version of the running code (always 1).", ("version", "python"), "max")
        self.heartbeat = gauge("process_heartbeat_timestamp_seconds", "Unix time of each process's last heartbeat.",
                               ("process",))
        self.frames = counter("ingest_frames_total", "Websocket frames received.", ("venue",))
        self.bad_frames = counter("ingest_bad_frames_total", "Frames that failed to parse (skipped).", ("venue",))
        self.events = counter("ingest_events_total", "Normalized liquidations sent to analytics.", ("venue",))
        self.reconnects = counter("ingest_reconnects_total", "Connections opened after a lost one.", ("venue",))
        self.connected = gauge("ingest_connected", "1 while the venue's feed is connected.", ("venue",))
        self.last_frame_age = gauge("ingest_last_frame_age_seconds", "Age of the venue's last frame.", ("venue",))
        self.last_frame_ts = gauge("ingest_last_frame_timestamp_seconds", "Unix time of the venue's last frame.",
                                   ("venue",))
        self.messages_in = counter("stage_messages_in_total", "Wire messages (batches) received.", ("stage",))
        self.events_in = counter("stage_events_in_total", "Messages' rows received.", ("stage",))
        self.events_out = counter("stage_events_out_total", "Rows sent downstream.", ("stage",))
        self.gaps = counter("stage_gaps_total", "Messages missed according to sequence numbers.", ("stage",))
        self.stage_bad = counter("stage_bad_frames_total", "Undecodable wire frames dropped.", ("stage",))
        self.dropped = counter("dropped_total", "Messages dropped because the next hop was full or down.", ("hop",))
        self.queue_depth = gauge("queue_depth_messages", "Messages waiting in a process's bounded queue.",
                                 ("queue",))
        self.redis_up = gauge("redis_up", "1 while the publisher's last Redis write succeeded.", ())
        self.redis_errors = counter("redis_write_errors_total", "Failed Redis writes (each retried later).", ())
        self.redis_written = counter("redis_written_total", "Messages written to Redis.", ())
        self.redis_buffer = gauge("redis_buffer_messages", "Messages buffered in the publisher for Redis.", ())
        self.notify_sent = counter("notifier_sent_total", "Notifications delivered.", ("channel",))
        self.notify_failed = counter("notifier_failures_total", "Notifications that failed after retries.",
                                     ("channel",))
        self.level = gauge("signal_level", "Current cascade level per symbol (0 NONE .. 4 EXTREME).", ("symbol",))
        self.signals = counter("signals_total", "Level changes emitted (heartbeats excluded).", ("level",))
        self.latency = Histogram("liqcascade_e2e_latency_seconds",
                                 "Frame arrival at the ingester to the snapshot relayed by signals.",
                                 buckets=LATENCY_BUCKETS_S, registry=None)
        self.dashboard_clients = gauge("dashboard_clients", "Browsers connected to /events.", (), "livesum")


M: _Metrics | None = None
_last: dict[Any, float] = {}  # cumulative value last seen per (metric, labels): counters add the difference
_trigger: dict[str, int] = {}  # last trigger observed per symbol: periodic snapshots repeat it


def init(ipc_dir: str, process: str) -> None:
    """Turn metrics on for this process: multiprocess mode writing under `metrics_dir(ipc_dir)`."""
    global M
    if M is not None:
        return
    path = metrics_dir(ipc_dir)
    os.makedirs(path, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path  # read by prometheus-client when it opens its files
    from prometheus_client import values

    values.ValueClass = values.MultiProcessValue()  # whatever imported prometheus_client first
    M = _Metrics()
    from importlib.metadata import PackageNotFoundError, version
    try:
        ver = version("liqcascade")
    except PackageNotFoundError:  # pragma: no cover - running from a tree without install
        ver = "unknown"
    M.build_info.labels(ver, platform.python_version()).set(1)
    heartbeat(process)


def reset_dir(ipc_dir: str) -> None:
    """Remove the metric files of a previous run (the launcher does it before starting its processes)."""
    path = metrics_dir(ipc_dir)
    if os.path.isdir(path):
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))


def mark_dead(pid: int | None = None) -> None:
    """On exit: drop this process from the `live*` gauges."""
    if M is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def _add(counter: Any, key: tuple, cumulative: float) -> None:
    """Add what `cumulative` grew by since the last call; a reset (restart) counts from zero."""
    last = _last.get(key, 0.0)
    delta = cumulative - last if cumulative >= last else cumulative
    _last[key] = cumulative
    if delta > 0:
        counter.inc(delta)


def heartbeat(process: str) -> None:
    if M is not None:
        M.heartbeat.labels(process).set(time.time())


def feed(status: FeedStatus, pending: int = 0) -> None:
    """An ingester's heartbeat: its FeedStatus totals become per-venue counters and gauges."""
    if M is None:
        return
    v = status.exchange
    for counter, value in ((M.frames, status.frames), (M.bad_frames, status.bad_frames),
                           (M.events, status.events), (M.reconnects, status.reconnects)):
        _add(counter.labels(v), (id(counter), v), value)
    M.connected.labels(v).set(1 if status.connected else 0)
    if status.last_frame_ns:
        M.last_frame_ts.labels(v).set(status.last_frame_ns / NS)
        M.last_frame_age.labels(v).set(max(0.0, (status.ts - status.last_frame_ns) / NS))
    M.queue_depth.labels(f"ingest.{v}").set(pending)
    heartbeat(f"ingest.{v}")


def worker(w: Any, hop: str = "") -> None:
    """A worker's tick: its message counts, gaps, bad frames and drops (Worker attributes) as counters."""
    if M is None:
        return
    name = w.name
    for counter, value in ((M.messages_in, w.msgs_in), (M.events_in, w.events_in),
                           (M.events_out, w.events_out), (M.gaps, w.gaps.gaps), (M.stage_bad, w.bad_frames)):
        _add(counter.labels(name), (id(counter), name), value)
    hop = hop or HOPS.get(name.split("-")[0], f"{name}->out")
    _add(M.dropped.labels(hop), (id(M.dropped), hop), w.dropped)
    heartbeat(name)


def redis_sink(*sinks: Any) -> None:
    """The publisher's Redis sinks (signals, tape), summed: up unless one is failing, write errors,
    written, buffered, and dropped because a buffer was full."""
    if M is None:
        return
    buffered = sum(len(s.buffer) for s in sinks)
    M.redis_up.set(1 if all(s.up or not s.failures for s in sinks) else 0)  # a sink that never wrote is not down
    M.redis_buffer.set(buffered)
    M.queue_depth.labels("publisher->redis").set(buffered)
    _add(M.redis_errors, ("redis_errors",), sum(s.failures for s in sinks))
    _add(M.redis_written, ("redis_written",), sum(s.written for s in sinks))
    _add(M.dropped.labels("publisher->redis"), ("dropped", "publisher->redis"), sum(s.dropped for s in sinks))


def notified(channel: str, ok: bool, n: int = 1) -> None:
    """A notifier delivery (or a failure after retries) on one channel (a configured, bounded name)."""
    if M is not None:
        (M.notify_sent if ok else M.notify_failed).labels(channel).inc(n)


def signals(sigs: Iterable[Signal]) -> None:
    """Signals emitted: the level gauge per symbol, and level changes per level."""
    if M is None:
        return
    for s in sigs:
        M.level.labels(s.symbol).set(LEVEL_RANK.get(s.level, 0))
        if not s.heartbeat:
            M.signals.labels(s.level).inc()


def latency(snaps: Iterable[Any], now_ns: int) -> None:
    """End-to-end latency of each snapshot triggered by a new event (periodic ones repeat their trigger)."""
    if M is None:
        return
    for snap in snaps:
        if isinstance(snap, MetricsSnapshot) and snap.ts_trigger_recv and \
                _trigger.get(snap.symbol) != snap.ts_trigger_recv:
            _trigger[snap.symbol] = snap.ts_trigger_recv
            M.latency.observe(max(0.0, (now_ns - snap.ts_trigger_recv) / NS))


def dashboard_clients(n: int) -> None:
    if M is not None:
        M.dashboard_clients.set(n)


class SizedFilesCollector:
    """The multiprocess aggregate of the metric files under `path`, skipping files still being created.

    prometheus-client creates a process's file before sizing it, so a reader can find it at 0 bytes; its own
    collector then raises on the whole merge (prometheus/client_python#1199, open as of 2026-12-01), which
    stopped the publisher's health write in CI. A file shorter than its 8-byte header holds no sample yet.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Any:
        import glob

        from prometheus_client.multiprocess import MultiProcessCollector

        files = [f for f in glob.glob(os.path.join(self.path, "*.db")) if _sized(f)]
        return MultiProcessCollector.merge(files, accumulate=True)


def _sized(file: str) -> bool:
    try:
        return os.path.getsize(file) >= 8
    except OSError:  # removed since the glob (a dead process's live* gauge)
        return False


def gauge_values(ipc_dir: str, name: str) -> Mapping[tuple[tuple[str, str], ...], float]:
    """The aggregated samples of one metric (label pairs -> value), read from the processes' files."""
    path = metrics_dir(ipc_dir)
    if not os.path.isdir(path):
        return {}
    out: dict[tuple[tuple[str, str], ...], float] = {}
    try:
        families = list(SizedFilesCollector(path).collect())
    except (RuntimeError, ValueError, struct.error) as exc:  # a corrupt file: health readers go on without it
        log.warning("metrics: files under %s not read: %s", path, exc)
        return {}
    for family in families:
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out
