"""Click commands: `liqcascade backtest`, `liqcascade scenario`, `liqcascade tail`."""
from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click
import orjson

from common.config import get_config
from common.input_files import InputError, open_binary, read_lines
from common.lifecycle import StopFlag
from common.progress import steps
from common.schema import LEVELS
from liqcascade.tools.backtest import Replay, parse, score, summary
from liqcascade.tools.scenario import KINDS, build
from liqcascade.tools.store_replay import replay_store
from publisher import tape
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


LABEL_KEYS = ("symbol", "start_ns", "end_ns")
CASCADE_LABEL_KEYS = ("usd", "venues")


def load_labels(path: str) -> list[dict[str, Any]]:
    """The labels file `liqcascade scenario` writes: a JSON list of objects; anything else is an InputError."""
    with open_binary(path) as fh:
        text = fh.read()
    if not text.strip():
        raise InputError(f"{path}: empty; expected a JSON list of labels (as `liqcascade scenario` writes)")
    try:
        labels = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc}); expected a JSON list of labels") from None
    if not isinstance(labels, list):
        raise InputError(f"{path}: a JSON {type(labels).__name__}; expected a JSON list of labels")
    for i, lb in enumerate(labels):
        need = LABEL_KEYS + (CASCADE_LABEL_KEYS if isinstance(lb, dict) and lb.get("kind", "cascade")
                             in ("cascade", "dropout") else ())
        missing = [k for k in need if not isinstance(lb, dict) or k not in lb]
        if missing:
            raise InputError(f"{path}: label {i} lacks {', '.join(missing)}; each label is an object with "
                             f"{', '.join(LABEL_KEYS + CASCADE_LABEL_KEYS)}")
    return labels


@click.command("backtest")
@click.argument("file", required=False)
@click.option("--store", "from_store", is_flag=True, help="Replay a period of the history store instead of FILE.")
@click.option("--since", default="24h", show_default=True, help="With --store: start (24h, 7d, ISO 8601).")
@click.option("--until", default="now", show_default=True, help="With --store: end (exclusive).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: signals, summary (and score).")
@click.option("--labels", help="Labels JSON to score against.")
@click.option("--heartbeats", is_flag=True, help="Also list heartbeat signals.")
@click.pass_context
def backtest_command(ctx: click.Context, file: str | None, as_json: bool, labels: str | None, heartbeats: bool,
                     from_store: bool, since: str, until: str) -> None:
    """Replay normalized JSON lines (.jsonl or .gz), or a stored period (--store), through analytics and signals
    in event time."""

    cfg = get_config(ctx, process="backtest")
    if from_store == bool(file):
        raise click.UsageError("give one of FILE and --store (with --since/--until)")
    label_list = load_labels(labels) if labels else None  # before the replay: a bad file fails fast
    if from_store:
        rep = replay_store(cfg, since, until)
    else:
        rep = Replay(cfg)
        rep.run(parse(read_lines(file, progress=True)))  # plain or gzip; a progress bar on a terminal
    shown = [s for s in rep.signals if heartbeats or not s.heartbeat]
    summ = summary(rep)
    sc = None
    if label_list is not None:
        sc = score(rep.signals, label_list, summ["span_s"], len(rep.symbols))
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
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["calm", "volatile", "cascades", "whales",
                                                                   "dropout"]),
              help="Scenario kind(s) to write (repeatable); default: all.")
@click.option("--hours", default=24.0, show_default=True, help="Length of the calm and volatile streams.")
@click.option("--count", default=40, show_default=True,
              help="Cascades (whales: count/2, venue dropouts: count/4).")
@click.pass_context
def scenario_command(ctx: click.Context, out_dir: str, seed: int, kinds: tuple[str, ...], hours: float,
                     count: int) -> None:
    """Write labeled synthetic streams (Hawkes process) for `liqcascade backtest --labels`."""

    get_config(ctx, process="scenario")
    with steps("scenarios", len(kinds or KINDS)) as advance:  # a bar on a terminal only
        for kind in kinds or KINDS:
            advance(0, description=kind)
            data, labels = build(kind, seed, hours, count).write(Path(out_dir))
            click.echo(f"{data}  {labels}")
            advance()


@click.command("tail")
@click.option("--source", type=click.Choice(["redis", "zmq"]), default="redis", show_default=True)
@click.option("--level", "min_level", type=click.Choice(list(LEVELS)), default="WATCH", show_default=True,
              help="Show signals at or above this level (and the step down that ends them).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--heartbeats", is_flag=True, help="Also show the periodic heartbeats (not level changes).")
@click.option("--width", type=click.IntRange(40), default=None,
              help="Fit lines to this many columns (default: the terminal's; one line each when piped).")
@click.option("--color/--no-color", default=None, help="Color by level (default: on a terminal).")
@click.option("--liquidations", is_flag=True, help="Follow the liquidation tape instead of signals.")
@click.option("--min-usd", type=float, default=0.0, help="With --liquidations: only those of at least this notional.")
@click.pass_context
def tail_command(ctx: click.Context, source: str, min_level: str, as_json: bool, heartbeats: bool,
                 width: int | None, color: bool | None, liquidations: bool, min_usd: float) -> None:
    """Follow cascade signals (each level change once, colored by level) or the liquidation tape live;
    Ctrl-C or SIGTERM stops."""

    cfg = get_config(ctx, process="tail")
    if width is None and sys.stdout.isatty():
        width = shutil.get_terminal_size().columns
    stop = StopFlag().install()
    if liquidations:
        return _tail_liquidations(tape.from_zmq(cfg, stop) if source == "zmq" else tape.from_redis(cfg, stop),
                                  source, min_usd, as_json)
    stream = from_zmq(cfg, stop) if source == "zmq" else from_redis(cfg, stop)
    try:
        for sig in stream:
            if passes(sig, min_level) and (heartbeats or not sig.get("heartbeat")):
                click.echo(json_line(sig) if as_json else render(sig, width=width), color=color)
    except KeyboardInterrupt:  # a second Ctrl-C while a handler is being installed
        pass
    except Exception as exc:  # redis down, bad endpoint: say so, do not dump a traceback
        raise click.ClickException(f"tail from {source}: {exc}") from exc


def _tail_liquidations(stream: Any, source: str, min_usd: float, as_json: bool) -> None:
    try:
        for liq in stream:
            if liq.notional_usd >= min_usd:
                click.echo(orjson.dumps(liq._asdict()).decode() if as_json else tape.line(liq))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # redis down, bad endpoint: one line, no traceback
        raise click.ClickException(f"tail --liquidations from {source}: {exc}") from exc
