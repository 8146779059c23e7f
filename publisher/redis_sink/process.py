"""The publisher process: PULL from the signal generator, write Redis."""
from __future__ import annotations

import logging
import sys
import time
from typing import Any

import click
import zmq

from common import metrics, topics
from common.config import Config, get_config
from common.worker import Worker
from publisher.redis_sink.health import Health
from publisher.redis_sink.sink import RedisSink
from publisher.redis_sink.tape_sink import TapeSink

log = logging.getLogger(__name__)

STOP_FLUSH_S = 2.0
TAPE_PREFIX = topics.LIQ + b"."


class Publisher(Worker):
    name = "publisher"

    def __init__(self, cfg: Config, **kw: Any) -> None:
        super().__init__(cfg, **kw)
        self.sink = RedisSink(cfg.redis)
        # The tape has its own buffer (and connection), so a flood of liquidations never pushes a
        # signal out of the signal buffer while Redis is slow or down.
        self.tape = TapeSink(cfg.redis)
        self.tick_s = 0.1  # retry/flush cadence while Redis is down
        self.health = Health(cfg.pipeline.ipc_dir)  # the liqcascade:health key

    def on_start(self) -> None:
        if self.cfg.redis.liquidations_maxlen <= 0:  # no tape in Redis: its frames are skipped undecoded
            self.skip_prefix = TAPE_PREFIX
        sock = self.socket(zmq.PULL, self.cfg.endpoint("publisher"), bind=True)
        self.add_input(sock, self._on_message)
        log.info("publisher: writing to Redis at %s", self.sink.where())

    def _on_message(self, topic: bytes, msgs: list[Any], now_ns: int) -> None:
        (self.tape if topic.startswith(TAPE_PREFIX) else self.sink).add(msgs)
        if topic.startswith((topics.STATUS, topics.SIGNAL)):
            self.health.observe(msgs)

    def on_drained(self, now_ns: int) -> None:
        self.sink.flush()
        self.tape.flush()

    def on_tick(self, now_ns: int) -> None:
        for sink in (self.sink, self.tape):
            if sink.buffer:
                sink.flush()
        metrics.redis_sink(self.sink, self.tape)
        if self.sink.up:
            self.health.write(self.sink.client, now_ns)

    def on_stop(self) -> None:
        deadline = time.monotonic() + STOP_FLUSH_S
        for sink in (self.sink, self.tape):
            while sink.buffer and time.monotonic() < deadline and sink.flush():
                pass
            if sink.buffer:
                log.warning("publisher: %d message(s) not written at stop (Redis down)", len(sink.buffer))
        log.info("publisher: %d written, %d dropped (%d refused by Redis); liquidations %d written, %d dropped",
                 self.sink.written, self.sink.dropped, self.sink.refused, self.tape.written, self.tape.dropped)
        self.sink.client.close()
        self.tape.client.close()


@click.command("publish")
@click.option("--redis-url", default=None, help="redis://, rediss:// (TLS), with password and db (also $REDIS_URL).")
@click.pass_context
def command(ctx: click.Context, redis_url: str | None) -> None:
    """Publish signals, keys, history and the catch-up stream to Redis."""

    cfg = get_config(ctx, {"redis": {"url": redis_url}}, process="publisher")
    sys.exit(Publisher(cfg).run())
