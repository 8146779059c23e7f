"""Click commands: `liqcascade backtest`, `liqcascade scenario`, `liqcascade tail`."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import click
import orjson

from common.config import get_config
from common.lifecycle import StopFlag
from common.schema import LEVELS
from liqcascade.tools.backtest import run_file, score, summary
from liqcascade.tools.scenario import KINDS, SPLITS, build, write_suite
from publisher.tail import from_redis, from_zmq, json_line, passes, render
from signals.generator import MARKET

log = logging.getLogger(__name__)


def _clock(ts_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts_ns / 1e9)) + f".{ts_ns // 1_000_000 % 1000:03d}"


def _fmt(x: Any, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def score_table(sc: dict[str, Any]) -> list[str]:
    """The short terminal table of a scored backtest."""
    lines = [f"{'level':<9} {'entries':>7} {'true':>5} {'precision':>9} {'recall':>7}"]
    for lv, row in sc["levels"].items():
        lines.append(f"{lv:<9} {row['entries']:>7} {row['true']:>5} {_fmt(row['precision']):>9} "
                     f"{_fmt(row['recall']):>7}")
    d = sc["delay_s"]
    lines += [
        f"target cascades: {sc['targets']} of {sc['cascades']}; recall at ALERT+: {_fmt(sc['recall_alert'])}",
        f"onset -> first ALERT: median {_fmt(d['median'], '.2f')} s, p90 {_fmt(d['p90'], '.2f')} s, "
        f"max {_fmt(d['max'], '.2f')} s (n={d['n']})",
        f"false ALERTs: {sc['false_alerts']} in {sc['hours']:.2f} h = {_fmt(sc['false_alerts_per_hour'])}/h, "
        f"{_fmt(sc['false_alerts_per_symbol_day'])}/symbol/day",
        f"lone whales reaching ALERT: {sc['whale_alerts']} of {sc['whales']}",
    ]
    return lines


@click.command("backtest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object: signals, summary (and score).")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False), help="Labels JSON to score against.")
@click.option("--heartbeats", is_flag=True, help="Also list heartbeat signals.")
@click.pass_context
def backtest_command(ctx: click.Context, file: str, as_json: bool, labels: str | None, heartbeats: bool) -> None:
    """Replay normalized JSON lines (.jsonl or .gz) through analytics and signals in event time."""

    cfg = get_config(ctx, process="backtest")
    rep = run_file(cfg, file)
    shown = [s for s in rep.signals if heartbeats or not s.heartbeat]
    summ = summary(rep)
    sc = None
    if labels:
        sc = score(rep.signals, orjson.loads(Path(labels).read_bytes()), summ["span_s"], len(rep.symbols))
    if as_json:
        out: dict[str, Any] = {
            "signals": [{"ts": s.ts, "symbol": s.symbol, "level": s.level, "previous_level": s.previous_level,
                         "probability": s.probability, "confidence": s.confidence, "direction": s.direction,
                         "regime": s.regime, "heartbeat": s.heartbeat} for s in shown],
            "summary": summ}
        if sc is not None:
            out["score"] = sc
        click.echo(orjson.dumps(out).decode())
        return
    for s in shown:
        mark = "  (heartbeat)" if s.heartbeat else ""
        click.echo(f"{_clock(s.ts)} {s.symbol:<10} {s.previous_level:>8} -> {s.level:<8} p={s.probability:.2f} "
                   f"{s.direction:<5} {s.regime}{mark}")
    click.echo(f"{summ['events']} liquidations, {summ['prices']} prices, {len(summ['symbols'])} symbol(s), "
               f"{summ['span_s'] / 3600:.2f} h; {summ['level_changes']} level change(s) "
               f"({summ['market_changes']} {MARKET}); entries "
               + ", ".join(f"{lv} {n}" for lv, n in summ["entries"].items()))
    if sc is not None:
        for line in score_table(sc):
            click.echo(line)


@click.command("scenario")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output directory (one split).")
@click.option("--suite", "suite_dir", type=click.Path(file_okay=False),
              help="Write every kind for both splits under DIR/train and DIR/heldout (and DIR/suite.json).")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--split", type=click.Choice(list(SPLITS)), default="train", show_default=True,
              help="Parameter draws: held-out streams come from an RNG disjoint from training.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(list(KINDS)),
              help="Scenario kind(s) to write (repeatable); default: all.")
@click.option("--hours", type=float, help="Length of the calm, volatile, chop and baseline streams "
              "[default: 24 h; baseline 12 h].")
@click.option("--count", type=int, help="Injected events per event-based stream [default: 20; dropout 10].")
@click.pass_context
def scenario_command(ctx: click.Context, out_dir: str | None, suite_dir: str | None, seed: int, split: str,
                     kinds: tuple[str, ...], hours: float | None, count: int | None) -> None:
    """Write labeled synthetic streams (Hawkes process) for `liqcascade backtest --labels` / `--suite`."""

    get_config(ctx, process="scenario")
    if (out_dir is None) == (suite_dir is None):
        raise click.UsageError("give exactly one of --out DIR or --suite DIR")
    if suite_dir is not None:
        written = write_suite(Path(suite_dir), seed, hours, count, kinds or KINDS)
        click.echo(f"{len(written)} streams under {suite_dir}/{{{','.join(SPLITS)}}} ({suite_dir}/suite.json)")
        return
    for kind in kinds or KINDS:
        data, labels = build(kind, seed, hours, count, split).write(Path(out_dir))
        click.echo(f"{data}  {labels}")


@click.command("tail")
@click.option("--source", type=click.Choice(["redis", "zmq"]), default="redis", show_default=True)
@click.option("--level", "min_level", type=click.Choice(list(LEVELS)), default="WATCH", show_default=True,
              help="Show signals at or above this level (and the step down that ends them).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def tail_command(ctx: click.Context, source: str, min_level: str, as_json: bool) -> None:
    """Follow cascade signals live; Ctrl-C or SIGTERM stops."""

    cfg = get_config(ctx, process="tail")
    stop = StopFlag().install()
    stream = from_zmq(cfg, stop) if source == "zmq" else from_redis(cfg, stop)
    try:
        for sig in stream:
            if passes(sig, min_level):
                click.echo(json_line(sig) if as_json else render(sig))
    except KeyboardInterrupt:  # a second Ctrl-C while a handler is being installed
        pass
    except Exception as exc:  # redis down, bad endpoint: say so, do not dump a traceback
        raise click.ClickException(f"tail from {source}: {exc}") from exc
