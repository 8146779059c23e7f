"""`liqcascade store`: SUB to the signal generator's PUB socket, write liquidations and level changes to the store."""
from __future__ import annotations

import logging
import sys
from typing import Any

import click
import zmq

from common import topics
from common.config import Config, get_config
from common.schema import Liquidation, Signal
from common.worker import Worker
from publisher.store.backend import StoreError, open_backend, store_url
from publisher.store.writer import StoreWriter

log = logging.getLogger(__name__)

STOP_FLUSH_S = 3.0  # within honcho's 5 s: the base drains the socket (<= 1 s) first


class StoreWorker(Worker):
    """The receive loop only hands messages to the writer; the writer thread talks to the database."""

    name = "store"

    def __init__(self, cfg: Config, url: str | None = None, **kw: Any) -> None:
        super().__init__(cfg, **kw)
        self.url = url or store_url(cfg.store)
        # DuckDB: open the file per write, so `liqcascade history` can read it between writes.
        self.writer = StoreWriter(open_backend(self.url, hold=False,
                                               partitions_ahead_days=cfg.store.partitions_ahead_days), cfg.store)

    def on_start(self) -> None:
        sock = self.socket(zmq.SUB, self.cfg.endpoint("pub"), bind=False,
                           subscribe=(topics.LIQ + b".", topics.SIGNAL + b"."))
        self.add_input(sock, self._on_message)
        self.writer.start()
        if not self.cfg.ingest.liquidation_tape:
            log.warning("store: ingest.liquidation_tape is off: only signal level changes will be recorded")
        log.info("store: recording liquidations and signal level changes to %s", self.writer.backend.where)

    def _on_message(self, topic: bytes, msgs: list[Any], now_ns: int) -> None:
        if msgs and type(msgs[0]) is Liquidation:
            self.writer.add(msgs)
        elif msgs and type(msgs[0]) is Signal:
            changes = [m for m in msgs if not m.heartbeat]
            if changes:
                self.writer.add(changes)

    def on_stop(self) -> None:
        self.writer.stop(STOP_FLUSH_S)


@click.command("store")
@click.option("--url", default=None, help="duckdb:///path or postgresql://... (also $STORE_URL, [store] url).")
@click.pass_context
def command(ctx: click.Context, url: str | None) -> None:
    """Record every liquidation, signal level change and per-minute rollup in the history store."""
    cfg = get_config(ctx, {"store": {"url": url}}, process="store")
    try:
        worker = StoreWorker(cfg)
    except StoreError as exc:
        raise click.UsageError(str(exc)) from None
    sys.exit(worker.run())
