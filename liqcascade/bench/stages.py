"""Per-stage costs measured in this process: venue parsers, analytics engine, signal step, the tape write."""
from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import redis

from analytics.benchmark import flow, measure, wire_batches
from analytics.engine import Engine
from common.config import load_config
from common.schema import FIELD_NAMES, Liquidation, MetricsSnapshot
from common.validate import bad_rows
from ingest import okx_instruments
from publisher.redis_sink.tape_sink import TapeSink
from signals.generator import SignalGenerator

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
# One liquidation frame per venue: recorded where the repo has one, else built in the venue's shape.
FRAMES = {
    "binance": ("force_order_combined_iotx.json",
                '{"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1634653599186,"o":{"s":"IOTXUSDT",'
                '"S":"SELL","o":"LIMIT","f":"IOC","q":"3661","p":"0.06606","ap":"0.06669","X":"FILLED",'
                '"l":"962","z":"3661","T":1634653599180}}}'),
    "bybit": ("all_liquidation_rose.json", None),
    "okx": ("liquidation_orders_swap.json", None),
    "hyperliquid": ("user_fill_liquidation.json", None),
}


def _time_ns(fn: Callable[[], Any], min_s: float = 0.3, min_n: int = 1000) -> float:
    """Mean ns per call over at least `min_n` calls and `min_s` seconds (after a short warm-up)."""
    for _ in range(100):
        fn()
    n, start = 0, time.perf_counter_ns()
    deadline = start + int(min_s * 1e9)
    while n < min_n or time.perf_counter_ns() < deadline:
        for _ in range(100):
            fn()
        n += 100
    return (time.perf_counter_ns() - start) / n


def parse_ns(quick: bool = False) -> dict[str, float]:
    """Mean parse cost per liquidation frame for every venue whose parser and sample frame exist."""
    out: dict[str, float] = {}
    for venue, (name, fallback) in FRAMES.items():
        try:
            mod = importlib.import_module(f"ingest.exchanges.{venue}")
        except ImportError:
            continue
        path = DATA / venue / name
        frame = path.read_text().strip() if path.exists() else fallback
        if frame is None:
            continue
        if venue == "hyperliquid" and hasattr(mod, "set_users"):
            _hyperliquid_users(mod, frame)
        if venue == "okx" and hasattr(mod, "set_instruments"):

            mod.set_instruments(okx_instruments.bundled())  # ctVal table shipped with the package
            frame = frame.replace("IOST-USDT-SWAP", "BTC-USDT-SWAP")  # an instrument that table has
        try:
            events = mod.parse(frame, 1)
        except Exception as exc:  # a parser under construction must not sink the whole bench
            log.warning("bench: %s parser failed on %s: %s", venue, name, exc)
            continue
        if not events:
            log.warning("bench: %s parser found no event in %s; skipped", venue, name)
            continue
        out[venue] = round(_time_ns(lambda p=mod.parse, f=frame: p(f, 1), 0.1 if quick else 0.3), 1)
    return out


def _hyperliquid_users(mod: Any, frame: str) -> None:
    """userFills frames are attributed to a watched user: watch the one in the sample frame."""

    try:
        user = orjson.loads(frame).get("data", {}).get("user")
    except Exception:  # noqa: BLE001 - best effort; the parse below reports what is wrong
        user = None
    if user:
        mod.set_users([user])


def analytics(quick: bool = False) -> dict[str, float]:
    """analytics.benchmark.measure with 500 symbols (the Python floor, update, snapshot and memory figures)."""
    res = measure(500, events=50_000 if quick else 200_000, repeats=1 if quick else 3)
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in res.items()}


def validate_ns(quick: bool = False) -> dict[str, float]:
    """Row validation at decode (common.validate), ns per row: a batch of 256 liquidations, and one
    engine snapshot (nested mappings walked) as signals and the publisher receive it."""
    t0 = 1_700_000_000_000_000_000
    liqs = [["bybit", "BTCUSDT", "BTCUSDT", "long", 60_000.0 + i, 0.01 * (1 + i % 50), 600.0 * (1 + i % 50),
             t0 + i, t0 + i + 1000, False] for i in range(256)]
    eng = Engine(load_config(None, env={}).analytics)
    for i in range(2000):
        ts = t0 + i * 5_000_000
        eng.update(Liquidation(("binance", "bybit", "okx")[i % 3], "BTCUSDT", "BTCUSDT", "long", 60_000.0,
                               0.1, 6_000.0, ts, ts, i % 3 != 1))
    snap = eng.snapshot("BTCUSDT", t0 + 2000 * 5_000_000)
    snap_row = [[getattr(snap, n) for n in FIELD_NAMES[MetricsSnapshot]]]
    min_s = 0.1 if quick else 0.3
    return {"liquidation": round(_time_ns(lambda: bad_rows("liquidation", liqs), min_s, 100) / len(liqs), 1),
            "metrics": round(_time_ns(lambda: bad_rows("metrics", snap_row), min_s), 1)}


def signal_step_us(quick: bool = False) -> float | None:
    """SignalGenerator.on_metrics per snapshot, on real engine snapshots of 50 symbols."""
    cfg = load_config(None, env={})
    eng = Engine(cfg.analytics)
    t0 = 1_700_000_000_000_000_000
    for i in range(5000):
        sym = f"S{i % 50}USDT"
        ts = t0 + i * 2_000_000
        eng.update(Liquidation("binance", sym, sym, "long" if i % 3 else "short", 100.0, 50.0 + i % 900,
                               100.0 * (50.0 + i % 900), ts, ts + 1_000_000, True))
    now = t0 + 5000 * 2_000_000
    snaps = [eng.snapshot(f"S{k}USDT", now) for k in range(50)]
    gen = SignalGenerator(cfg)
    k = [0]

    def step() -> None:
        k[0] += 1
        gen.on_metrics(snaps[k[0] % 50], now + k[0] * 1000)

    return round(_time_ns(step, 0.1 if quick else 0.3) / 1000, 2)


def tape_write_us(redis_url: str, quick: bool = False) -> dict[str, float]:
    """The publisher's tape write per liquidation (`TapeSink`, batches of the configured size) into the bench's
    private Redis, of column batches as the publisher receives them (decoded frames of 1,024): the publisher's CPU
    and the Redis server's, µs per entry."""
    cfg = load_config(overrides={"redis": {"url": redis_url, "liquidations_maxlen": 100_000}}, env={})
    sink, server = TapeSink(cfg.redis), redis.Redis.from_url(redis_url)
    liqs = flow(50, 5_000 if quick else 50_000)
    batches = wire_batches(liqs)

    def server_cpu() -> float:
        info = server.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    try:
        cpu0, srv0 = time.process_time(), server_cpu()
        for batch in batches:
            sink.add(batch)
            sink.flush()
        cpu, srv = time.process_time() - cpu0, server_cpu() - srv0
        if sink.written != len(liqs):
            raise RuntimeError(f"tape stage: {sink.written} of {len(liqs)} entries written")
        return {"publisher_cpu_us": round(1e6 * cpu / len(liqs), 2), "redis_cpu_us": round(1e6 * srv / len(liqs), 2)}
    finally:
        server.delete("liquidations:stream")
        sink.client.close()
        server.close()
