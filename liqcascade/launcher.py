"""`liqcascade up`: start the whole pipeline as child processes, show their output, stop them together.

Process supervision (prefixed output, signal forwarding, kill after 5 s) is honcho's Manager, the
same engine `honcho start` runs the Procfile with, extended to restart a stage that dies with backoff
(liqcascade/supervise.py); this module only decides which processes to run.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import shutil
import socket
import sys

import click
import redis

from common import ipc_dir, metrics
from common.config import Config, ConfigProblem, get_config, mask_url
from common.config_validate import VENUES
from liqcascade.supervise import BACKOFF_MIN_S, RestartingManager
from publisher.dashboard.process import url as dashboard_url

log = logging.getLogger(__name__)

MAX_COLUMNS = 100  # the demo view fits this width (narrower when the terminal is)


def redis_reachable(url: str) -> bool:
    """Whether Redis answers; a refused password is not "unreachable": it is said as such (exit 2)."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        return bool(client.ping())
    except redis.AuthenticationError as exc:
        raise ConfigProblem(f"redis.url = {mask_url(url)!r}: Redis refused the credentials ({exc}); "
                            "fix the password in REDIS_URL or the config file") from None
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            raise ConfigProblem(f"redis.url = {mask_url(url)!r}: Redis needs a password ({exc}); "
                                "put it in REDIS_URL (redis://:PASSWORD@host:port/db)") from None
        raise
    except (redis.RedisError, OSError):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def plan(cfg: Config, exchanges: list[str], *, demo: bool, with_redis: bool, sim_port: int,
         tail: bool, speed: float = 1.0, dashboard_port: int = 0) -> list[tuple[str, list[str]]]:
    """The (name, argv) of every child; each argv is a `liqcascade` subcommand."""
    from liqcascade.sim.venues import SIM_VENUES, sim_urls

    procs: list[tuple[str, list[str]]] = []
    urls: dict[str, str] = {}
    if demo:
        sim_venues = [e for e in exchanges if e in SIM_VENUES]
        procs.append(("sim", ["exchange-sim", "--port", str(sim_port), "--venues", ",".join(sim_venues),
                              "--speed", str(speed)]))
        urls = sim_urls("127.0.0.1", sim_port, sim_venues)
    for ex in exchanges:
        argv = ["ingest", ex, "--shards", str(cfg.pipeline.shards)]
        if ex in urls:
            argv += ["--url", urls[ex]]
        procs.append((f"ingest-{ex}", argv))
    for k in range(cfg.pipeline.shards):
        procs.append((f"analytics-{k}", ["analytics", "--shard", str(k), "--shards", str(cfg.pipeline.shards)]))
    procs.append(("signals", ["signals"]))
    procs.append(("dashboard", ["dashboard"] + (["--port", str(dashboard_port)] if dashboard_port else [])))
    if with_redis:
        procs.append(("publisher", ["publish"]))
    if cfg.store.enabled:
        procs.append(("store", ["store"]))
    if cfg.notify.urls or cfg.notify.destinations:
        procs.append(("notify", ["notify"]))
    if tail:
        procs.append(("tail", ["tail", "--source", "zmq", "--width", str(tail_width(procs))]
                      + (["--color"] if sys.stdout.isatty() else [])))
    return procs


def tail_width(procs: list[tuple[str, list[str]]], columns: int = MAX_COLUMNS) -> int:
    """Columns left for the signal view once honcho's prefix ("HH:MM:SS name | ") is printed before it."""
    prefix = len("HH:MM:SS ") + max([len(n) for n, _ in procs] + [len("system"), len("tail")]) + len(" | ")
    return max(40, min(columns, shutil.get_terminal_size((columns, 24)).columns) - prefix)


@click.command("up")
@click.option("--demo", is_flag=True, help="Also start the exchange simulator and feed the pipeline from it.")
@click.option("--exchanges", default=None,
              help="Comma-separated venues (default: ingest.exchanges; every simulated venue with --demo).")
@click.option("--shards", type=int, default=None, help="Analytics shards.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Simulator playback speed (--demo).")
@click.option("--tail/--no-tail", default=None, help="Show signals live (default: on with --demo).")
@click.pass_context
def command(ctx: click.Context, demo: bool, exchanges: str | None, shards: int | None, speed: float,
            tail: bool | None) -> None:
    """Start the whole pipeline; Ctrl-C stops every process cleanly."""

    cfg = get_config(ctx, {"pipeline": {"shards": shards}}, process="up")
    from liqcascade.sim.venues import SIM_VENUES

    default = list(SIM_VENUES) if demo else list(cfg.ingest.exchanges)
    names = [e.strip().lower() for e in exchanges.split(",")] if exchanges else default
    unknown = [n for n in names if n not in VENUES]
    if unknown:
        raise ConfigProblem(f"--exchanges: unknown venue(s) {', '.join(map(repr, unknown))}; "
                            f"allowed: {', '.join(VENUES)}")
    try:
        ipc_dir.check(cfg.pipeline.ipc_dir)
    except ipc_dir.IpcDirError as exc:
        raise click.ClickException(str(exc)) from None
    with_redis = cfg.redis.enabled and redis_reachable(cfg.redis.url)
    if not with_redis:
        click.secho(f"Redis is not reachable at {mask_url(cfg.redis.url)}: running WITHOUT Redis.\n"
                    "Signals are shown here and on ZMQ only; set REDIS_URL or start redis-server for Redis.",
                    fg="yellow", err=True)
    root = ctx.find_root().obj or {}
    base = [sys.executable, "-m", "liqcascade"]
    if root.get("config_path"):
        base += ["--config", root["config_path"]]
    if root.get("log_level"):
        base += ["--log-level", root["log_level"]]
    elif demo and os.environ.get("LOG_LEVEL") is None and cfg.log_level == "INFO":
        base += ["--log-level", "WARNING"]  # the demo view is the signals; stage logs would bury them
        click.secho("Demo: stage logs at WARNING (--log-level INFO shows them all).", err=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    click.secho(f"A stage that exits is restarted after {BACKOFF_MIN_S:.0f} s (doubling on quick failures); "
                "Ctrl-C stops all.", err=True)
    metrics.reset_dir(cfg.pipeline.ipc_dir)  # a fresh run: no metric files of processes gone before
    dash_port = 0  # a taken port must not stop the whole pipeline (honcho stops all when one exits)
    if not port_free(cfg.dashboard.host, cfg.dashboard.port):
        dash_port = free_port()
        click.secho(f"dashboard: port {cfg.dashboard.port} is taken; serving on {dash_port} instead", fg="yellow",
                    err=True)
        cfg = dataclasses.replace(cfg, dashboard=dataclasses.replace(cfg.dashboard, port=dash_port))
    click.secho(f"dashboard: {dashboard_url(cfg)}", fg="green", bold=True, err=True)
    manager = RestartingManager()
    for name, argv in plan(cfg, names, demo=demo, with_redis=with_redis, sim_port=free_port(),
                           tail=demo if tail is None else tail, speed=speed, dashboard_port=dash_port):
        manager.add_process(name, "exec " + shlex.join(base + argv), env=env)  # exec: signals reach python
    manager.loop()
    sys.exit(0 if manager.returncode in (0, 130, 143) else manager.returncode)
