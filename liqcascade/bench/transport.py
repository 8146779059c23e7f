"""The transport's own limits: raw pyzmq PUSH/PULL of msgpack events over ipc, no pipeline code.

Frames look like the wire's ([topic, msgpack seq, msgpack body of rows]) and every body is packed by
the sender and unpacked by the receiver, so the figures include msgpack but nothing of liqcascade.
The same runs over TCP and TCP+CURVE on loopback (`compare`) give what those cost against ipc.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import socket
import tempfile
import time
from collections.abc import Callable

import msgpack
import numpy as np
import zmq

from liqcascade.bench.stats import percentiles_us, sched_delta, sched_stats

log = logging.getLogger(__name__)

# One Liquidation row, as common.wire.encode lays it out (fields in declaration order).
ROW = ["binance", "BTCUSDT", "BTCUSDT", "long", 60_000.5, 0.25, 15_000.125, 1_700_000_000_000_000_000,
       1_700_000_000_000_500_000, True]
END = b"end"
_CTX = mp.get_context("spawn")  # children start clean: no inherited ZMQ context
Curve = tuple[bytes, bytes, bytes, bytes] | None  # server public, server secret, client public, client secret
KINDS = {"tcp": "tcp", "curve": "tcp+curve"}  # compared with ipc; labels for the table


def _endpoint(kind: str, ipc_dir: str, name: str) -> str:
    if kind == "ipc":
        return f"ipc://{ipc_dir}/{name}.ipc"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def _keys(kind: str) -> Curve:
    """A fresh server and client key pair for CURVE runs (the binding side is the server, as in the pipeline)."""
    if kind != "curve":
        return None
    server, client = zmq.curve_keypair(), zmq.curve_keypair()
    return server[0], server[1], client[0], client[1]


def _secure(sock: zmq.Socket, curve: Curve, server: bool) -> zmq.Socket:
    if curve is not None:
        if server:
            sock.curve_secretkey = curve[1]
            sock.curve_server = True
        else:
            sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = curve[0], curve[2], curve[3]
    return sock


def _sink(endpoint: str, expect: int, out: mp.Queue, curve: Curve = None) -> None:
    """PULL and unpack until `expect` events arrived; report (events, seconds first->last)."""
    ctx = zmq.Context()
    sock = _secure(ctx.socket(zmq.PULL), curve, server=True)
    sock.setsockopt(zmq.RCVHWM, 100_000)
    sock.bind(endpoint)
    out.put("ready")
    n, t0 = 0, 0
    unpack = msgpack.unpackb
    while n < expect:
        frames = sock.recv_multipart()
        if n == 0:
            t0 = time.perf_counter_ns()
        if len(frames) == 3:
            unpack(frames[1])
        n += len(unpack(frames[-1])[2])
    out.put((n, (time.perf_counter_ns() - t0) / 1e9))
    sock.close(linger=0)
    ctx.term()


def _source(endpoint: str, total: int, batch: int, wire: bool, curve: Curve = None) -> None:
    ctx = zmq.Context()
    sock = _secure(ctx.socket(zmq.PUSH), curve, server=False)
    sock.setsockopt(zmq.SNDHWM, 100_000)
    sock.connect(endpoint)
    pack = msgpack.Packer(use_bin_type=True).pack
    rows = [ROW] * batch
    for seq in range(1, total // batch + 1):
        if wire:
            sock.send_multipart([b"liq.shard0", pack(("bench", seq)), pack((1, "liquidation", rows))])
        else:
            sock.send(pack((1, "liquidation", rows)))
    sock.close(linger=5000)
    ctx.term()


def throughput(ipc_dir: str, batch: int, total: int, wire: bool = True, timeout_s: float = 60.0,
               kind: str = "ipc") -> float:
    """Events/s from one process to another, `batch` events per message, over `kind` (ipc, tcp, curve).

    wire=True sends the wire's three frames [topic, seq, body]; False one frame (the body only).
    """
    endpoint = _endpoint(kind, ipc_dir, f"bench-tp-{batch}-{int(wire)}")
    curve = _keys(kind)
    total -= total % batch
    out: mp.Queue = _CTX.Queue()
    sink = _CTX.Process(target=_sink, args=(endpoint, total, out, curve), daemon=True)
    source = _CTX.Process(target=_source, args=(endpoint, total, batch, wire, curve), daemon=True)
    with _children(sink, source):
        sink.start()
        out.get(timeout=timeout_s)
        source.start()
        n, secs = out.get(timeout=timeout_s)
    return n / secs if secs > 0 else 0.0


# -- the raw 3-hop chain ---------------------------------------------------------------------------
def _relay(src: str, dst: str, ready: mp.Queue, curve: Curve = None) -> None:
    """PULL -> unpack -> repack -> PUSH: what a stage does to a frame, minus its work."""
    ctx = zmq.Context()
    pull, push = _secure(ctx.socket(zmq.PULL), curve, server=True), _secure(ctx.socket(zmq.PUSH), curve, server=False)
    pull.bind(src)
    push.connect(dst)
    ready.put("ready")
    pack = msgpack.Packer(use_bin_type=True).pack
    while True:
        topic, head, body = pull.recv_multipart()
        if topic == END:
            push.send_multipart([END, head, body])
            break
        push.send_multipart([topic, head, pack(msgpack.unpackb(body))])
    pull.close(linger=0)
    push.close(linger=2000)
    ctx.term()


def _chain_sink(src: str, out: mp.Queue, curve: Curve = None) -> None:
    ctx = zmq.Context()
    pull = _secure(ctx.socket(zmq.PULL), curve, server=True)
    pull.bind(src)
    out.put("ready")
    lat: list[int] = []
    while True:
        topic, _, body = pull.recv_multipart()
        now = time.perf_counter_ns()  # CLOCK_MONOTONIC: the same clock in every process
        if topic == END:
            break
        lat.append(now - msgpack.unpackb(body)[2][0][8])
    out.put(np.asarray(lat, dtype=np.int64).tobytes())
    pull.close(linger=0)
    ctx.term()


def _paced_source(dst: str, rate: float, seconds: float, curve: Curve = None) -> None:
    """One event per message at `rate`, stamped with perf_counter_ns just before the send."""
    ctx = zmq.Context()
    push = _secure(ctx.socket(zmq.PUSH), curve, server=False)
    push.connect(dst)
    pack = msgpack.Packer(use_bin_type=True).pack
    row = list(ROW)
    total = int(rate * seconds)
    start = time.perf_counter()
    for i in range(1, total + 1):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0.0002:  # sleep most of the gap; the kernel wakes us a little late
            time.sleep(delay - 0.0001)
        while time.perf_counter() < due:
            pass
        row[8] = time.perf_counter_ns()
        push.send_multipart([b"liq.shard0", pack(("bench", i)), pack((1, "liquidation", [row]))])
    push.send_multipart([END, b"", b""])
    push.close(linger=2000)
    ctx.term()


def chain_latency(ipc_dir: str, rate: float = 10_000.0, seconds: float = 5.0, hops: int = 3,
                  timeout_s: float = 60.0, kind: str = "ipc", sched: dict | None = None) -> np.ndarray:
    """Latency samples (ns) through `hops` hops (ipc, tcp or curve) of `hops + 1` processes at a paced `rate`.

    With `sched` (a dict), the relays' and the sink's scheduling figures over the middle of the run go
    into it (`stats.sched_delta`), to compare with the pipeline's processes at the same load.
    """
    eps = [_endpoint(kind, ipc_dir, f"bench-chain-{k}") for k in range(hops)]
    curve = _keys(kind)
    out: mp.Queue = _CTX.Queue()
    procs = [_CTX.Process(target=_chain_sink, args=(eps[-1], out, curve), daemon=True)]
    procs += [_CTX.Process(target=_relay, args=(eps[k], eps[k + 1], out, curve), daemon=True)
              for k in range(hops - 1)]
    source = _CTX.Process(target=_paced_source, args=(eps[0], rate, seconds, curve), daemon=True)
    with _children(*procs, source):
        for p in procs:
            p.start()
        for _ in procs:
            out.get(timeout=timeout_s)
        source.start()
        if sched is not None:
            names = {"sink": procs[0].pid, **{f"relay-{k + 1}": p.pid for k, p in enumerate(procs[1:])}}
            a, t0 = {n: sched_stats(pid) for n, pid in names.items()}, time.monotonic()
            time.sleep(seconds * 0.8)
            b, t1 = {n: sched_stats(pid) for n, pid in names.items()}, time.monotonic()
            sched.update(sched_delta(a, b, t1 - t0))
        raw = out.get(timeout=seconds + timeout_s)
    return np.frombuffer(raw, dtype=np.int64)


def compare(ipc_dir: str, tp_events: int, tp_batched: int, chain_s: float, rounds: int = 1) -> dict:
    """The same runs over ipc, TCP and TCP+CURVE (loopback), interleaved round by round so all three see the
    same machine load; medians of the rounds' throughputs, percentiles of all their latency samples, and
    the ratios of TCP and TCP+CURVE to ipc.

    Loopback has no wire, so this is the cost of the TCP stack and of CURVE's encryption, not of a network.
    """
    tp: dict[str, list[float]] = {k: [] for k in ("ipc", *KINDS)}
    batched: dict[str, list[float]] = {k: [] for k in tp}
    lat: dict[str, list[np.ndarray]] = {k: [] for k in tp}
    for _ in range(rounds):
        for kind in tp:
            if tp_events:  # 0: batched only (what every pipeline hop ships), to keep --quick short
                tp[kind].append(throughput(ipc_dir, 1, tp_events, kind=kind))
            batched[kind].append(throughput(ipc_dir, 64, tp_batched, kind=kind))
            lat[kind].append(chain_latency(ipc_dir, 10_000, chain_s, kind=kind))
    out: dict = {"rounds": rounds}
    for kind in tp:
        out[kind] = {"events_per_s": round(float(np.median(tp[kind]))) if tp[kind] else 0,
                     "batched_events_per_s": round(float(np.median(batched[kind]))),
                     "3hop_latency_us": percentiles_us(np.concatenate(lat[kind]))}
    ipc = out["ipc"]
    for kind in KINDS:
        r = out[kind]
        r["vs_ipc"] = {k: round(r[k] / ipc[k], 3) if ipc[k] else None for k in ("events_per_s", "batched_events_per_s")}
        r["vs_ipc"].update({f"latency_{p}": round(r["3hop_latency_us"][p] / ipc["3hop_latency_us"][p], 3)
                            if ipc["3hop_latency_us"][p] else None for p in ("p50", "p99")})
    return out


def table_rows(res: dict) -> list[str]:
    """`liqcascade bench` table lines for `compare`'s figures (ratios to its own ipc runs in parentheses)."""
    cmp = res.get("transport_compare")
    if not cmp:
        return []
    ipc = cmp["ipc"]
    rows = [f"ipc vs tcp   interleaved, {cmp['rounds']} round(s): ipc {_one(ipc, '')}{ipc['batched_events_per_s']:,} "
            f"batched by 64; 3 hops p50 {ipc['3hop_latency_us']['p50'] / 1000:.2f} ms, "
            f"p99 {ipc['3hop_latency_us']['p99'] / 1000:.2f} ms"]
    for kind, label in KINDS.items():
        r = cmp[kind]
        v, lat = r["vs_ipc"], r["3hop_latency_us"]
        ratio = f" ({v['events_per_s']}x ipc)"
        rows.append(f"{label:<12} {_one(r, ratio)}{r['batched_events_per_s']:,} batched "
                    f"by 64 ({v['batched_events_per_s']}x ipc); 3 hops p50 {lat['p50'] / 1000:.2f} ms "
                    f"({v['latency_p50']}x), p99 {lat['p99'] / 1000:.2f} ms ({v['latency_p99']}x)")
    return rows


def _one(r: dict, ratio: str) -> str:
    """The one-by-one figure, when it was run (--quick runs batched only)."""
    return f"{r['events_per_s']:,} events/s one per message{ratio}, " if r["events_per_s"] else ""


class _children:
    """Context manager: whatever happens, every child is terminated, then killed, then reaped."""

    def __init__(self, *procs: mp.process.BaseProcess) -> None:
        self.procs = procs

    def __enter__(self) -> _children:
        return self

    def __exit__(self, *exc: object) -> None:
        stop_all(self.procs, lambda p: p.terminate(), lambda p: p.kill(), lambda p, t: p.join(t))


def stop_all(procs: tuple, term: Callable, kill: Callable, join: Callable, grace_s: float = 5.0) -> None:
    """SIGTERM every started child, wait up to `grace_s` in all, then SIGKILL the stragglers."""
    started = [p for p in procs if getattr(p, "pid", None)]
    for p in started:
        term(p)
    deadline = time.monotonic() + grace_s
    for p in started:
        join(p, max(0.0, deadline - time.monotonic()))
    for p in started:
        if getattr(p, "exitcode", 0) is None:
            log.warning("bench: child %d ignored SIGTERM; killing it", p.pid)
            kill(p)
            join(p, 2.0)


def _cli() -> None:  # pragma: no cover - manual check: python -m liqcascade.bench.transport


    with tempfile.TemporaryDirectory() as d:
        print("one by one", round(throughput(d, 1, 500_000)))
        print("batched 64", round(throughput(d, 64, 3_000_000)))
        print("3 hops", percentiles_us(chain_latency(d, 10_000, 5)), os.cpu_count())


if __name__ == "__main__":  # pragma: no cover
    _cli()
