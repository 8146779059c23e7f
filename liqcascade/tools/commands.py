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
from common.input_files import InputError, open_binary
from common.lifecycle import StopFlag
from common.progress import steps
from common.schema import LEVELS
from liqcascade.tools import reliability, scoring, suite_eval
from liqcascade.tools.backtest import run_file, score, summary
from liqcascade.tools.scenario import ALL_KINDS, KINDS, SPLITS, build, write_suite
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


def _labels_report(rep: Any, labels: list[dict[str, Any]], span_s: float) -> dict[str, Any]:
    """Per-class scoring and the reliability table of one replay."""
    res = scoring.score_stream(rep.signals, labels, span_s, len(rep.symbols))
    return {**scoring.finish(res), "reliability": reliability.table(reliability.counts(rep.evaluations, labels))}


def class_lines(rep: dict[str, Any]) -> list[str]:
    lines = [f"{'class':<16} {'n':>4} {'recall':>7} {'median s':>8} {'p90 s':>6} {'max s':>6}"]
    for cls, row in rep["classes"].items():
        d = row["delay_s"]
        lines.append(f"{cls:<16} {row['labels']:>4} {_fmt(row['recall']):>7} {_fmt(d['median'], '.2f'):>8} "
                     f"{_fmt(d['p90'], '.2f'):>6} {_fmt(d['max'], '.2f'):>6}")
    lines.append(f"false ALERT+: {rep['false_alerts']} over {rep['symbol_days']:.3f} symbol-days = "
                 f"{_fmt(rep['false_alerts_per_symbol_day'], '.2f')}/symbol-day")
    for cls, row in rep["negatives"].items():
        lines.append(f"{cls} reaching ALERT: {row['at_alert']} of {row['labels']}")
    return lines + [""] + reliability.lines(rep["reliability"])


def _suite(cfg: Any, suite_dir: str, split: str, jobs: int, as_json: bool) -> None:
    splits = list(SPLITS) if split == "all" else [split]
    reports = {}
    for sp in splits:
        try:
            n = len(suite_eval.streams(Path(suite_dir), sp))
        except (OSError, ValueError, KeyError) as exc:
            raise click.ClickException(f"suite {suite_dir}: {exc}") from exc
        with steps(f"{sp}: replaying", n) as advance:  # a bar on a terminal only
            results = suite_eval.run_suite(cfg, Path(suite_dir), sp, jobs,
                                           lambda kind, step=advance, s=sp: step(description=f"{s}: {kind}"))
        reports[sp] = suite_eval.judge(results)
    if as_json:
        click.echo(orjson.dumps(reports).decode())
    else:
        for sp, report in reports.items():
            click.echo(f"== {sp} ({'PASS' if report['passed'] else 'FAIL'}) ==")
            for line in suite_eval.table_lines(report):
                click.echo(line)
    if not all(r["passed"] for r in reports.values()):
        sys.exit(1)


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
@click.option("--no-dedupe", is_flag=True,
              help="Skip the live ingester's duplicate filter (to see what a duplicate that slips by does).")
@click.option("--suite", "suite_dir", type=click.Path(exists=True, file_okay=False),
              help="Replay every stream of a `scenario --suite` directory and print one pass/fail table "
                   "(exit 1 if a target fails).")
@click.option("--split", type=click.Choice([*SPLITS, "all"]), default="heldout", show_default=True,
              help="With --suite: which split to evaluate.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64),
              help="With --suite: streams replayed in parallel processes.")
@click.pass_context
def backtest_command(ctx: click.Context, file: str | None, as_json: bool, labels: str | None, heartbeats: bool,
                     no_dedupe: bool, suite_dir: str | None, split: str, jobs: int, from_store: bool, since: str,
                     until: str) -> None:
    """Replay normalized JSON lines (.jsonl or .gz), a `scenario --suite` directory, or a stored period (--store)
    through analytics and signals in event time."""

    cfg = get_config(ctx, process="backtest")
    if sum((file is not None, suite_dir is not None, from_store)) != 1:
        raise click.UsageError("give exactly one of FILE, --suite DIR and --store (with --since/--until)")
    if suite_dir is not None:
        _suite(cfg, suite_dir, split, jobs, as_json)
        return
    label_list = load_labels(labels) if labels else None  # before the replay: a bad file fails fast
    if from_store:
        rep = replay_store(cfg, since, until)
    else:
        rep = run_file(cfg, file, record=bool(labels), dedupe=not no_dedupe, progress=True)  # a bar on a terminal
    shown = [s for s in rep.signals if heartbeats or not s.heartbeat]
    summ = summary(rep)
    sc = per_class = None
    if label_list is not None:
        sc = score(rep.signals, label_list, summ["span_s"], len(rep.symbols))
        per_class = _labels_report(rep, label_list, summ["span_s"])
    if as_json:
        out: dict[str, Any] = {
            "signals": [{"ts": s.ts, "symbol": s.symbol, "level": s.level, "previous_level": s.previous_level,
                         "probability": s.probability, "confidence": s.confidence, "direction": s.direction,
                         "regime": s.regime, "heartbeat": s.heartbeat} for s in shown],
            "summary": summ}
        if sc is not None:
            out["score"] = sc
            out["per_class"] = per_class
        click.echo(orjson.dumps(out).decode())
        return
    for s in shown:
        mark = "  (heartbeat)" if s.heartbeat else ""
        click.echo(f"{_clock(s.ts)} {s.symbol:<10} {s.previous_level:>8} -> {s.level:<8} p={s.probability:.2f} "
                   f"{s.direction:<5} {s.regime}{mark}")
    click.echo(f"{summ['events']} liquidations ({summ['duplicates_dropped']} duplicates dropped), "
               f"{summ['prices']} prices, {len(summ['symbols'])} symbol(s), "
               f"{summ['span_s'] / 3600:.2f} h; {summ['level_changes']} level change(s) "
               f"({summ['market_changes']} {MARKET}); entries "
               + ", ".join(f"{lv} {n}" for lv, n in summ["entries"].items()))
    if sc is not None and per_class is not None:
        for line in score_table(sc) + [""] + class_lines(per_class):
            click.echo(line)


@click.command("scenario")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output directory (one split).")
@click.option("--suite", "suite_dir", type=click.Path(file_okay=False),
              help="Write every kind for both splits under DIR/train and DIR/heldout (and DIR/suite.json).")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--split", type=click.Choice(list(SPLITS)), default="train", show_default=True,
              help="Parameter draws: held-out streams come from an RNG disjoint from training.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(list(ALL_KINDS)),
              help="Scenario kind(s) to write (repeatable); default: every kind of the suite (a stress kind such "
              "as dense_chop only when named).")
@click.option("--hours", type=float, help="Length of the calm, volatile, chop and baseline streams "
              "[default: 24 h; baseline 12 h].")
@click.option("--count", type=int, help="Injected events per event-based stream [default: 20; dropout 10].")
@click.option("--cluster-s", "cluster_s", callback=lambda _c, _p, v: None if v is None else _seconds_range(v),
              help="dense_chop only: the seconds each cluster is packed into, LO-HI [default: 2-5].")
@click.pass_context
def scenario_command(ctx: click.Context, out_dir: str | None, suite_dir: str | None, seed: int, split: str,
                     kinds: tuple[str, ...], hours: float | None, count: int | None,
                     cluster_s: tuple[float, float] | None) -> None:
    """Write labeled synthetic streams (Hawkes process) for `liqcascade backtest --labels` / `--suite`."""

    get_config(ctx, process="scenario")
    if (out_dir is None) == (suite_dir is None):
        raise click.UsageError("give exactly one of --out DIR or --suite DIR")
    if cluster_s is not None and (suite_dir is not None or set(kinds) != {"dense_chop"}):
        raise click.UsageError("--cluster-s shapes dense_chop alone: use it with --out DIR --kind dense_chop")
    todo = kinds or KINDS
    with steps("scenarios", len(todo) * (len(SPLITS) if suite_dir else 1)) as advance:  # a bar on a terminal only
        if suite_dir is not None:
            written = write_suite(Path(suite_dir), seed, hours, count, todo,
                                  progress=lambda name: advance(description=name))
            click.echo(f"{len(written)} streams under {suite_dir}/{{{','.join(SPLITS)}}} ({suite_dir}/suite.json)")
            return
        for kind in todo:
            advance(0, description=kind)
            data, labels = build(kind, seed, hours, count, split, cluster_s).write(Path(out_dir))
            click.echo(f"{data}  {labels}")
            advance()


def _seconds_range(text: str) -> tuple[float, float]:
    """`LO-HI` seconds, 0 < LO <= HI."""
    try:
        lo, hi = (float(x) for x in text.split("-"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: LO-HI seconds, e.g. 5-10") from None
    if not 0.0 < lo <= hi:
        raise click.BadParameter(f"{text!r}: 0 < LO <= HI")
    return lo, hi


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
