"""`liqcascade analyze`: run the engine over normalized JSON lines in event time, print snapshots."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import click
import orjson

from analytics.engine import Engine
from analytics.replay import read_events
from common.config import AnalyticsConfig, get_config
from common.input_files import read_lines
from common.schema import Liquidation, as_dict

log = logging.getLogger(__name__)

NS = 1_000_000_000


def analyze(events: Iterable[Liquidation | dict[str, Any]], cfg: AnalyticsConfig,
            every_ns: int) -> Iterator[dict[str, Any]]:
    """Snapshot dicts of every active symbol at each multiple of `every_ns` of event time.

    A tick at T includes every event with ts_event <= T; after the input ends one last tick covers
    the final events. Idle stretches with no active symbol are skipped, not ticked through.
    """
    eng = Engine(cfg)
    next_tick: int | None = None
    for ev in events:
        if not isinstance(ev, Liquidation):
            continue
        ts = ev.ts_event
        if next_tick is None:
            next_tick = -(-ts // every_ns) * every_ns
        while ts > next_tick:
            yield from _tick(eng, next_tick)
            next_tick += every_ns
            if not eng.active_symbols(next_tick) and ts > next_tick:
                next_tick = -(-ts // every_ns) * every_ns  # jump the idle gap
                eng.expire(next_tick)
        eng.update(ev)
    if next_tick is not None:
        yield from _tick(eng, next_tick)


def _tick(eng: Engine, now: int) -> Iterator[dict[str, Any]]:
    for symbol in eng.active_symbols(now):
        yield as_dict(eng.snapshot(symbol, now))


@click.command("analyze")
@click.argument("file", required=False, default="-")
@click.option("--every", "every_s", type=float, default=1.0, show_default=True,
              help="Event-time seconds between snapshots.")
@click.pass_context
def analyze_command(ctx: click.Context, file: str, every_s: float) -> None:
    """Read normalized liquidation JSON lines (FILE or stdin) and print one JSON snapshot per active
    symbol every SECONDS of event time."""
    if every_s <= 0:
        raise click.BadParameter("must be positive", param_hint="--every")

    cfg = get_config(ctx, process="analyze")
    for snap in analyze(read_events(read_lines(file)), cfg.analytics, int(round(every_s * NS))):
        click.echo(orjson.dumps(snap).decode())
