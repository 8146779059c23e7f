"""The publisher process: PULL from the signal generator, write Redis."""
from __future__ import annotations

import logging
import sys
import time
from typing import Any

import click
import zmq

from common.config import Config, get_config
from common.worker import Worker
from publisher.redis_sink.sink import RedisSink

log = logging.getLogger(__name__)

STOP_FLUSH_S = 2.0


class Publisher(Worker):
    name = "publisher"

    def __init__(self, cfg: Config, **kw: Any) -> None:
        super().__init__(cfg, **kw)
        self.sink = RedisSink(cfg.redis)
        self.tick_s = 0.1  # retry/flush cadence while Redis is down

    def on_start(self) -> None:
        sock = self.socket(zmq.PULL, self.cfg.endpoint("publisher"), bind=True)
        self.add_input(sock, self._on_message)
        log.info("publisher: writing to Redis at %s", self.sink.where())

    def _on_message(self, topic: bytes, msgs: list[Any], now_ns: int) -> None:
        self.sink.add(msgs)

    def on_drained(self, now_ns: int) -> None:
        self.sink.flush()

    def on_tick(self, now_ns: int) -> None:
        if self.sink.buffer:
            self.sink.flush()

    def on_stop(self) -> None:
        deadline = time.monotonic() + STOP_FLUSH_S
        while self.sink.buffer and time.monotonic() < deadline and self.sink.flush():
            pass
        if self.sink.buffer:
            log.warning("publisher: %d message(s) not written at stop (Redis down)", len(self.sink.buffer))
        log.info("publisher: %d written, %d dropped (%d refused by Redis)", self.sink.written, self.sink.dropped,
                 self.sink.refused)
        self.sink.client.close()


@click.command("publish")
@click.option("--redis-url", default=None, help="redis://, rediss:// (TLS), with password and db (also $REDIS_URL).")
@click.pass_context
def command(ctx: click.Context, redis_url: str | None) -> None:
    """Publish signals, keys, history and the catch-up stream to Redis."""

    cfg = get_config(ctx, {"redis": {"url": redis_url}}, process="publisher")
    sys.exit(Publisher(cfg).run())
