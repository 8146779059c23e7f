"""The thin click group: one subcommand per process or tool; Procfile and supervisord call these."""
from __future__ import annotations

import importlib
import json
import re
import sys
from typing import Any

import click

from common.config import ConfigError, ConfigProblem, get_config, masked
from common.config_validate import LOG_LEVELS
from common.input_files import InputError

# name -> "module:attribute" of a click command, imported only when that subcommand runs, so
# `liqcascade analytics` does not import websockets and `liqcascade ingest` does not import redis.
COMMANDS = {
    "ingest": "ingest.process:command",
    "analytics": "analytics.process:command",
    "signals": "signals.process:command",
    "publish": "publisher.redis_sink.process:command",
    "notify": "publisher.notify.process:command",
    "dashboard": "publisher.dashboard.process:command",
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
    "store": "publisher.store.process:command",
    "history": "publisher.store.commands:history_command",
    "import": "liqcascade.tools.tardis_cli:import_command",
    "keys": "liqcascade.tools.keys:command",
}


SECRET_IN_URL = re.compile(r"://[^/@\s]*:[^/@\s]+@")  # scheme://user:password@host


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

    def invoke(self, ctx: click.Context) -> Any:
        """The one place expected errors become one line and an exit status (click prints `Error: ...`)."""
        try:
            return super().invoke(ctx)
        except ConfigError as exc:  # a config built outside get_config
            raise ConfigProblem(str(exc)) from None
        except OSError as exc:
            if exc.filename is None:
                raise
            raise InputError(f"{exc.filename}: {exc.strerror or exc}") from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=LazyGroup)
@click.option("--config", "config_path", envvar="LIQCASCADE_CONFIG", type=click.Path(dir_okay=False),
              help="TOML config file (also $LIQCASCADE_CONFIG).")
@click.option("--log-level", default=None, type=click.Choice(LOG_LEVELS, case_sensitive=False),
              help="Logging level (also $LOG_LEVEL).")
@click.version_option(package_name="liqcascade", prog_name="liqcascade")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, log_level: str | None) -> None:
    """Real-time liquidation-cascade detector for crypto perpetual futures."""
    ctx.ensure_object(dict)
    if any(SECRET_IN_URL.search(arg) for arg in sys.argv[1:]):
        click.secho("warning: a password on the command line is visible to every user (ps); "
                    "give it in REDIS_URL or the config file instead", fg="yellow", err=True)
    ctx.obj["config_path"] = config_path
    ctx.obj["log_level"] = log_level


@click.command("config")
@click.option("--toml", "as_toml", is_flag=True, help="Print TOML (a config file the loader accepts back).")
@click.pass_context
def config_command(ctx: click.Context, as_toml: bool) -> None:
    """Check and print the effective configuration (defaults, file, env, options merged), credentials masked.

    Every key is validated at load, so this is the way to check a config file before deploying it:
    an error names the key, the value and what is allowed, and exits with status 2.
    """
    cfg = get_config(ctx)
    data = masked(cfg)
    if as_toml:
        import tomli_w  # only this option writes TOML

        if data["redis"]["url"] != cfg.redis.url:
            click.echo("# redis.url: password masked; give it in REDIS_URL (or edit it in here)")
        click.echo(tomli_w.dumps(data), nl=False)
    else:
        click.echo(json.dumps(data, indent=2))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
