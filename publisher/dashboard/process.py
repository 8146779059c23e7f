"""The dashboard process: uvicorn serving the app; SIGTERM/SIGINT -> streams closed, exit within 5 s."""
from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

import click
import uvicorn

from common import metrics
from common.config import Config, get_config
from publisher.dashboard.app import create_app

log = logging.getLogger(__name__)

GRACEFUL_S = 1.0  # open /events streams are closed after this; well inside the 5 s stop budget


def url(cfg: Config) -> str:
    host = cfg.dashboard.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{cfg.dashboard.port}/"


class Server(uvicorn.Server):
    """uvicorn with the house signal handling: SIGTERM/SIGINT only set the exit flag, and the process then
    returns 0 (uvicorn's own handling re-raises the signal after shutdown, which ends the process with -15)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def stop(_signum: int, _frame: object) -> None:
            self.should_exit = True
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(cfg: Config) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    metrics.init(cfg.pipeline.ipc_dir, "dashboard")
    server: Server | None = None
    app = create_app(cfg, stopping=lambda: server is not None and server.should_exit)
    config = uvicorn.Config(app, host=cfg.dashboard.host, port=cfg.dashboard.port,
                            log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=GRACEFUL_S, log_config=None)
    server = Server(config)
    log.info("dashboard: starting on %s (metrics at %smetrics)", url(cfg), url(cfg))
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits non-zero when it cannot bind, after logging why
        return int(exc.code or 0)
    finally:
        metrics.mark_dead()
    if not server.started:
        log.error("dashboard: could not serve on %s:%d", cfg.dashboard.host, cfg.dashboard.port)
        return 1
    log.info("dashboard: stopped")
    return 0


@click.command("dashboard")
@click.option("--host", default=None, help="Listen address (default dashboard.host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default dashboard.port, 8080).")
@click.pass_context
def command(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the live dashboard, /api/state, /events (SSE), /metrics, /livez and /readyz."""

    cfg = get_config(ctx, {"dashboard": {"host": host, "port": port}}, process="dashboard")
    sys.exit(serve(cfg))
