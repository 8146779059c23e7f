"""The thin click group: one subcommand per process or tool; Procfile and supervisord call these."""
from __future__ import annotations

import importlib
import json
import sys

import click

from common.config import get_config, to_mapping

# name -> "module:attribute" of a click command, imported only when that subcommand runs, so
# `liqcascade analytics` does not import websockets and `liqcascade ingest` does not import redis.
COMMANDS = {
    "ingest": "ingest.process:command",
    "analytics": "analytics.process:command",
    "signals": "signals.process:command",
    "publish": "publisher.redis_sink.process:command",
    "up": "liqcascade.launcher:command",
    "exchange-sim": "liqcascade.sim.cli:command",
    "parse": "ingest.commands:parse_command",
    "record": "ingest.commands:record_command",
    "analyze": "analytics.commands:analyze_command",
    "backtest": "liqcascade.tools.commands:backtest_command",
    "scenario": "liqcascade.tools.commands:scenario_command",
    "calibrate": "liqcascade.tools.calibrate:calibrate_command",
    "tail": "liqcascade.tools.commands:tail_command",
    "real-data": "liqcascade.tools.real_data_cli:real_data_command",
    "bench": "liqcascade.bench.cli:command",
    "config": "liqcascade.cli:config_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise click.ClickException(f"subcommand {name!r} is not available: {exc}") from exc


@click.group(cls=LazyGroup)
@click.option("--config", "config_path", envvar="LIQCASCADE_CONFIG", type=click.Path(dir_okay=False),
              help="TOML config file (also $LIQCASCADE_CONFIG).")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING (also $LOG_LEVEL).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, log_level: str | None) -> None:
    """Real-time liquidation-cascade detector for crypto perpetual futures."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["log_level"] = log_level


@click.command("config")
@click.pass_context
def config_command(ctx: click.Context) -> None:
    """Print the effective configuration as JSON (defaults, file, env, options merged)."""
    cfg = get_config(ctx)
    click.echo(json.dumps(to_mapping(cfg), indent=2))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
