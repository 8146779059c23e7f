"""`liqcascade bench`: one run of every figure of issue 6, as a table or one JSON object."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import sys
import tempfile
import time
from typing import Any

import click
import numpy as np

from common import progress
from common.logs import setup_logging
from liqcascade.bench import path_work, pipeline, search, stages, targets, transport
from liqcascade.bench import store as store_bench
from liqcascade.bench.private_redis import PrivateRedis, PrivateRedisError
from liqcascade.bench.stats import machine, percentiles_us

log = logging.getLogger(__name__)

DEFAULT_RATES = "1000,10000"  # latency runs: one Binance frame per event, probes
DEFAULT_THROUGHPUT = "50000"  # throughput runs: Bybit allLiquidation batches, then the search above them
QUICK = {"tp_events": 200_000, "tp_batched": 1_000_000, "chain_s": 3.0, "warmup_s": 1.0, "window_s": 3.0}
FULL = {"tp_events": 600_000, "tp_batched": 4_000_000, "chain_s": 10.0, "warmup_s": 2.0, "window_s": 10.0}
# ipc vs TCP vs TCP+CURVE (transport.compare): events one by one (0: not run), batched, chain seconds, rounds
COMPARE = {True: (0, 250_000, 1.0, 1), False: (200_000, 1_000_000, 3.0, 3)}
# The parts of a run, in order; `--only` picks some (a target whose figures were not run reads n/a).
PARTS = ("transport", "compare", "stages", "pipeline", "store")
# Throughput runs after the fixed ones (~20-25 s each): doublings from 50,000 until one fails, then runs that
# resolve the maximum to 5 % (bench.search), at most SEARCH_STEPS in all (2 and 3 in the 2026-12-01 full runs).
SEARCH_STEPS = 5


def collect(rates: list[float], tp_rates: list[float], quick: bool, redis_url: str | None,
            echo: Any, tape_compare: bool = False, only: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """Run every part (or the `only` ones); a part that fails is reported under `errors` and the others
    still run."""
    p = QUICK if quick else FULL
    res: dict[str, Any] = {"machine": {**machine(), "loadavg_start": os.getloadavg()[0]}, "errors": {}}
    if "transport" in only or "compare" in only:
        _transport(res, p, quick, only, echo)
    if "stages" in only:
        echo("stages: parsers, analytics engine, signal step ...")
        res["parse_ns"] = stages.parse_ns(quick)
        try:
            res.update(stages.analytics(quick))
            res["signal_step_us"] = stages.signal_step_us(quick)
            res["validate_ns_per_row"] = stages.validate_ns(quick)
            res["latency_work_us"] = path_work.measure(quick)
            if redis_url:
                res["tape_write_us"] = stages.tape_write_us(redis_url, quick)
        except Exception as exc:  # noqa: BLE001
            log.exception("bench: stage figures failed")
            res["errors"]["stages"] = str(exc)
    res["pipeline"] = {}
    if "pipeline" in only:
        res["pipeline"] = _pipelines(rates, tp_rates, p, redis_url, echo, res["errors"],
                                     0 if quick else SEARCH_STEPS,
                                     tape_compare)
    res["redis"] = "private" if redis_url else None
    if "store" in only:
        try:
            res["store"] = store_bench.measure(quick, echo)
        except Exception as exc:  # noqa: BLE001 - one failed part must not lose the others' figures
            log.exception("bench: store failed")
            res["errors"]["store"] = str(exc)
    _summarize(res)
    res["targets"] = targets.evaluate(res)
    res["machine"]["loadavg_end"] = os.getloadavg()[0]
    if not res["errors"]:
        del res["errors"]
    return res


def _transport(res: dict[str, Any], p: dict[str, float], quick: bool, only: tuple[str, ...], echo: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="liqbench-tp-") as tmp:
        try:
            if "transport" in only:
                echo("transport: PUSH/PULL one by one, batched by 64, 3-hop chain at 1,000 and 10,000/s ...")
                res["transport_events_per_s"] = round(transport.throughput(tmp, 1, p["tp_events"]))
                res["transport_single_frame_events_per_s"] = round(transport.throughput(tmp, 1, p["tp_events"],
                                                                                        wire=False))
                res["transport_batched_events_per_s"] = round(transport.throughput(tmp, 64, p["tp_batched"]))
                res["transport_3hop_latency_us"] = percentiles_us(transport.chain_latency(tmp, 10_000, p["chain_s"]))
                res["transport_3hop_latency_1k_us"] = percentiles_us(transport.chain_latency(tmp, 1_000,
                                                                                             p["chain_s"]))
            if "compare" in only:
                echo("transport: ipc vs TCP vs TCP+CURVE (loopback), interleaved ...")
                res["transport_compare"] = transport.compare(tmp, *COMPARE[quick])
        except Exception as exc:  # noqa: BLE001 - report and go on with the other parts
            log.exception("bench: transport failed")
            res["errors"]["transport"] = str(exc)


def _pipelines(rates: list[float], tp_rates: list[float], p: dict[str, float], redis_url: str | None, echo: Any,
               errors: dict[str, str], search_steps: int, tape_compare: bool = False) -> dict[str, Any]:
    """Latency runs at `rates` (Binance, one frame per event, probes; keyed "1000", "10000"), then
    throughput runs at `tp_rates` (Bybit batches; keyed "bybit-50000") and up to `search_steps` more
    (`bench.search`: doubling while none failed, then between the best sustained and the first failed
    rate, first at what the failed run moved), until the maximum is resolved to 5 %.

    The Python simulator sends at most ~20k Binance frames/s, so higher rates go through Bybit's batched
    tape, which is also how the complete liquidation flow of a venue arrives in reality.
    With `tape_compare`, each fixed rate first runs with the liquidation tape off (keyed "...-notape"):
    the before/after of the tape's relay in one run, under the same machine load.
    """
    runs: dict[str, Any] = {}

    def attempt(rate: float, venue: str, tape: bool = True) -> bool:
        key = (str(int(rate)) if venue == "binance" else f"{venue}-{int(rate)}") + ("" if tape else "-notape")
        echo(f"pipeline at {rate:,.0f} events/s ({venue}{'' if tape else ', tape off'}) ...")
        try:
            raw: list[Any] = []
            sched: dict[str, Any] = {}
            if venue == "binance":  # a latency run: its reference chain right before and right after it
                raw.append(_chain(rate, p["chain_s"], sched))
            runs[key] = pipeline.run(rate, warmup_s=p["warmup_s"], window_s=p["window_s"], redis_url=redis_url,
                                     venue=venue, tape=tape)
            if raw:
                raw.append(_chain(rate, p["chain_s"]))
                runs[key]["raw_3hop_latency_us"] = percentiles_us(np.concatenate(raw))
                runs[key]["raw_3hop_scheduling"] = sched  # the chain before the run
        except pipeline.BenchError as exc:
            log.error("bench: pipeline at %s failed: %s", key, exc)
            errors[f"pipeline_{key}"] = str(exc)[-2000:]
            return False
        except Exception as exc:  # noqa: BLE001 - one failed rate must not hide the others
            log.exception("bench: pipeline at %s failed", key)
            errors[f"pipeline_{key}"] = str(exc)[-2000:]
            return False
        runs[key]["sustained"] = ok = _sustained(runs[key], rate)
        return ok

    for rate in sorted(rates):
        if tape_compare:
            attempt(rate, "binance", tape=False)
        attempt(rate, "binance")
    good, bad, moved = 0.0, None, None  # best sustained, lowest failed and what that failed run moved

    def throughput(rate: float) -> None:
        nonlocal good, bad, moved
        if attempt(rate, "bybit"):
            good = max(good, rate)
        elif bad is None or rate < bad:
            bad, moved = rate, runs.get(f"bybit-{int(rate)}", {}).get("events_per_s")

    for rate in sorted(tp_rates):
        if tape_compare:
            attempt(rate, "bybit", tape=False)
        throughput(rate)
    for _ in range(search_steps if tp_rates else 0):
        probe = search.next_probe(good, bad, moved)
        if probe is None:
            break
        throughput(probe)
    return runs


def _chain(rate: float, seconds: float, sched: dict[str, Any] | None = None) -> Any:
    """The raw 3-hop chain's samples at `rate`, measured beside a pipeline run (see `_pipelines`)."""
    with tempfile.TemporaryDirectory(prefix="liqbench-chain-") as tmp:
        return transport.chain_latency(tmp, rate, seconds, sched=sched)


def _sustained(run: dict[str, Any], rate: float) -> bool:
    """Every event sent came through (none lost, none undelivered) at 95 % of the offered rate or more."""
    return (run.get("lost") == 0 and run.get("gaps") == 0 and run.get("events_in") == run.get("events_sent")
            and run.get("events_per_s", 0) >= 0.95 * rate)


def _summarize(res: dict[str, Any]) -> None:
    """The headline keys, from the per-rate runs."""
    runs = {k: r for k, r in res["pipeline"].items() if r.get("tape", True)}  # the default config
    sustained = [r["events_per_s"] for r in runs.values() if r.get("sustained")]
    res["pipeline_events_per_s"] = max(sustained, default=0)
    res["pipeline_lost"] = sum(r["lost"] for r in runs.values() if r.get("lost") is not None)
    res["pipeline_undelivered"] = sum(r["events_sent"] - r["events_in"] for r in runs.values()
                                      if r.get("events_sent") is not None)
    empty = {"p50": 0.0, "p99": 0.0, "p999": 0.0, "n": 0}
    res["latency_us"] = runs.get("10000", {}).get("latency_us", empty)
    res["latency_1k_us"] = runs.get("1000", {}).get("latency_us", empty)
    # The latency targets' reference: the raw chain at the same rate, measured right before and after the
    # pipeline run (pooled), so both see the same machine load; the transport part's chain, measured
    # minutes earlier, only when that is missing.
    for key, rate in (("raw_3hop_latency_us", "10000"), ("raw_3hop_latency_1k_us", "1000")):
        near = runs.get(rate, {}).get("raw_3hop_latency_us")
        if near or res.get("transport_" + key[4:]):
            res[key] = near or res["transport_" + key[4:]]
    res["freshness_us"] = runs.get("10000", {}).get("freshness_us", empty)
    # The least the pipeline's p50 at 1,000/s can be: the raw chain's hops plus the work on the path (`path_work`)
    work, raw = res.get("latency_work_us", {}).get("total"), res.get("raw_3hop_latency_1k_us", {}).get("p50")
    if work and raw:
        res["latency_floor_1k_us"] = round(raw + work, 1)
    compared = {k: (res["pipeline"][k + "-notape"], r) for k, r in runs.items() if k + "-notape" in res["pipeline"]}
    if compared:
        res["tape_cost"] = {k: {"events_per_s": [off["events_per_s"], on["events_per_s"]],
                                "latency_p50_us": [off["latency_us"]["p50"], on["latency_us"]["p50"]],
                                "freshness_p50_us": [off["freshness_us"]["p50"], on["freshness_us"]["p50"]]}
                            for k, (off, on) in compared.items()}


def _table(res: dict[str, Any]) -> str:
    def pct(d: dict[str, Any] | None) -> str:
        d = d or {}
        return f"p50 {d.get('p50', 0) / 1000:.2f} ms  p99 {d.get('p99', 0) / 1000:.2f} ms  " \
               f"p99.9 {d.get('p999', 0) / 1000:.2f} ms  (n={d.get('n', 0)})"

    m = res["machine"]
    rows = [f"machine      {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
            f"load {m['loadavg_start']:.1f} -> {m.get('loadavg_end', 0):.1f}",
            f"transport    {res.get('transport_events_per_s', 0):,} events/s one per message (wire frames), "
            f"{res.get('transport_single_frame_events_per_s', 0):,} single frame, "
            f"{res.get('transport_batched_events_per_s', 0):,} batched by 64",
            f"raw 3 hops   {pct(res.get('transport_3hop_latency_us'))} at 10,000/s",
            f"raw 3 hops   {pct(res.get('transport_3hop_latency_1k_us'))} at 1,000/s",
            *transport.table_rows(res),
            "parse        " + ", ".join(f"{v} {ns / 1000:.2f} us" for v, ns in res.get("parse_ns", {}).items()),
            f"analytics    update {res.get('analytics_update_ns', 0) / 1000:.2f} us in batches of "
            f"{res.get('update_batch', 0)} ({res.get('analytics_update_one_ns', 0) / 1000:.2f} us one by one; Python "
            f"floor {res.get('python_floor_ns', 0) / 1000:.2f} us), snapshot {res.get('snapshot_us', 0):.1f} us, "
            f"{res.get('memory_bytes_per_symbol', 0) / 1024:.1f} KB/symbol "
            f"({res.get('memory_bytes_per_symbol_11_venues', 0) / 1024:.1f} KB at 11 venues)",
            f"signal step  {res.get('signal_step_us')} us per snapshot",
            "validate     " + ", ".join(f"{k} {v:.0f} ns/row" for k, v in res.get("validate_ns_per_row", {}).items()),
            "tape write   " + ", ".join(f"{k} {v}" for k, v in res.get("tape_write_us", {}).items()) + " (per entry)",
            "path work    " + ", ".join(f"{k} {v}" for k, v in res.get("latency_work_us", {}).items())
            + " us per probe event (CPU on the latency path, no waits)",
            "",
            f"{'offered/s':<12} {'in/s':>8} {'sent':>8} {'in':>8} {'out':>8} {'lost':>5} {'gaps':>5}  "
            "latency (probes)"]
    for key, r in res["pipeline"].items():
        rows.append(f"{key:<12} {r['events_per_s']:>8,} {r['events_sent'] or 0:>8,} {r['events_in']:>8,} "
                    f"{r['events_out'] or 0:>8,} "
                    f"{r['lost'] if r['lost'] is not None else '?':>5} {r['gaps']:>5}  {pct(r['latency_us'])}")
        rows.append(f"{'':<12} freshness {pct(r['freshness_us'])}")
        if r.get("raw_3hop_latency_us"):
            rows.append(f"{'':<12} raw 3 hops beside it {pct(r['raw_3hop_latency_us'])}")
        rows.append(f"{'':<12} cpu % " + ", ".join(f"{n} {v}" for n, v in r["cpu_percent"].items()))
        for label, sched in (("wait/wakeup", r.get("scheduling")), ("raw chain", r.get("raw_3hop_scheduling"))):
            if sched:
                rows.append(f"{'':<12} {label} us " + ", ".join(f"{n} {v['wait_per_slice_us']:.0f}"
                                                              for n, v in sched.items()))
    for key, c in res.get("tape_cost", {}).items():
        rows.append(f"tape {key:<12} off -> on: {c['events_per_s'][0]:,} -> {c['events_per_s'][1]:,} events/s, "
                    f"latency p50 {c['latency_p50_us'][0] / 1000:.2f} -> {c['latency_p50_us'][1] / 1000:.2f} ms, "
                    f"freshness p50 {c['freshness_p50_us'][0] / 1000:.2f} -> {c['freshness_p50_us'][1] / 1000:.2f} ms")
    rows += store_bench.table_rows(res)
    rows += ["", f"max sustained {res['pipeline_events_per_s']:,} events/s lossless; lost "
             f"{res['pipeline_lost']}, undelivered by the simulator {res['pipeline_undelivered']}"]
    rows += targets.table_rows(res.get("targets", {}))
    for part, err in res.get("errors", {}).items():
        rows.append(f"ERROR {part}: {err.splitlines()[0] if err else ''}")
    return "\n".join(rows)


def _rates(text: str, option: str) -> list[float]:
    try:
        return [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise click.BadParameter("comma-separated numbers, e.g. 1000,10000", param_hint=option) from None


def _parts(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise click.BadParameter(f"parts among {', '.join(PARTS)}; got {text!r}", param_hint="--only")
    return parts


@click.command("bench")
@click.option("--quick", is_flag=True, help="Short runs (under a minute): latency at 1,000 and 10,000 events/s, "
              "throughput at 50,000, no search.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--rates", default=DEFAULT_RATES, show_default=True,
              help="Latency runs (Binance frames, probes) at these offered rates in events/s.")
@click.option("--throughput-rates", default=DEFAULT_THROUGHPUT, show_default=True,
              help="Throughput runs (Bybit batched tape) at these rates, then a search above them ('' = none).")
@click.option("--tape-compare", is_flag=True, help="Also run each fixed rate with the liquidation tape off "
              "(keys '...-notape'; `tape_cost` gives off -> on).")
@click.option("--only", default=",".join(PARTS), show_default=True,
              help="Run only these parts (comma-separated), e.g. 'transport,pipeline' for the latency ratios.")
@click.pass_context
def command(ctx: click.Context, quick: bool, as_json: bool, rates: str, throughput_rates: str,
            tape_compare: bool, only: str) -> None:
    """Measure transport limits, the live pipeline at fixed rates and its maximum, and per-stage costs.

    The publisher writes to a private redis-server the bench starts on a free port and kills at the end,
    never to your Redis (REDIS_URL is ignored); without redis-server the publisher is not measured.
    """

    setup_logging((ctx.find_root().obj or {}).get("log_level") or "WARNING", "bench")
    offered = _rates(rates, "--rates")
    tp_offered = _rates(throughput_rates, "--throughput-rates")
    parts = _parts(only)
    started = time.monotonic()

    with contextlib.ExitStack() as stack:
        advance = stack.enter_context(progress.steps("bench"))  # a spinner with the current part on a terminal

        def echo(msg: str) -> None:
            click.echo(msg, err=True)  # above the spinner on a terminal (rich redirects stderr)
            advance(0, description=msg.rstrip(" ."))

        redis_url: str | None = None
        try:
            redis_url = stack.enter_context(PrivateRedis())
            echo(f"redis: a private redis-server at {redis_url} (your Redis is never used)")
        except PrivateRedisError as exc:
            echo(f"redis: {exc}: running without the publisher stage (the bench never uses your Redis)")
        res = collect(offered, tp_offered, quick, redis_url, echo, tape_compare, parts)
    res["duration_s"] = round(time.monotonic() - started, 1)
    res["command"] = shlex.join(["liqcascade", *sys.argv[1:]])
    click.echo(json.dumps(res, indent=2) if as_json else _table(res))
