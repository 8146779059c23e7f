"""Live view of signals from Redis pub/sub or the ZMQ PUB socket: filtered, colored, or JSON lines."""
from __future__ import annotations

import logging
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import click
import orjson
import redis
import zmq

from common import topics
from common.config import Config
from common.lifecycle import StopFlag
from common.schema import LEVEL_RANK, Signal
from common.sockets import make_socket
from common.wire import WireError, decode

log = logging.getLogger(__name__)

REDIS_CHANNEL = "cascade:signals"
DEFAULT_HWM = 1000  # libzmq's own default: a terminal view needs no deep queue
POLL_S = 0.2  # how often a quiet source checks the stop flag
INDENT = "    "
COLORS: dict[str, dict[str, Any]] = {
    "NONE": {"fg": "green"}, "WATCH": {"fg": "cyan"}, "ALERT": {"fg": "yellow", "bold": True},
    "CRITICAL": {"fg": "red", "bold": True}, "EXTREME": {"fg": "magenta", "bold": True, "reverse": True},
}


def pub_messages(cfg: Config, stop: StopFlag, prefix: bytes, hwm: int = 0) -> Iterator[Any]:
    """Every message on the signals process's PUB socket under `prefix`, until `stop` (bad frames skipped)."""
    ctx = zmq.Context()
    sock = make_socket(ctx, zmq.SUB, cfg.endpoint("pub"), bind=False, hwm=hwm or DEFAULT_HWM, subscribe=(prefix,),
                       max_msg_bytes=cfg.pipeline.max_message_bytes, security=cfg.security)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        while not stop.is_set():
            if not sock.poll(int(POLL_S * 1000)):
                continue
            try:
                _, _, _, msgs = decode(sock.recv_multipart())
            except WireError as exc:
                log.warning("tail: bad frame skipped: %s", exc)
                continue
            yield from msgs
    finally:
        sock.close()
        ctx.term()


def from_zmq(cfg: Config, stop: StopFlag) -> Iterator[dict[str, Any]]:
    """Signals from the signals process's PUB socket (SUB prefix `signal.`)."""
    for msg in pub_messages(cfg, stop, topics.SIGNAL + b"."):
        if isinstance(msg, Signal):
            yield msg.to_json_dict()


def from_redis(cfg: Config, stop: StopFlag, client: Any = None) -> Iterator[dict[str, Any]]:
    """Signals the publisher sends on the `cascade:signals` channel (JSON of Signal.to_json_dict())."""
    if client is None:

        client = redis.Redis.from_url(cfg.redis.url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(REDIS_CHANNEL)
    try:
        while not stop.is_set():
            msg = pubsub.get_message(timeout=POLL_S)
            if not msg or msg.get("type") != "message":
                continue
            try:
                yield orjson.loads(msg["data"])
            except orjson.JSONDecodeError as exc:
                log.warning("tail: bad message on %s skipped: %s", REDIS_CHANNEL, exc)
    finally:
        pubsub.close()


def passes(sig: dict[str, Any], min_level: str) -> bool:
    """At or above the filter level, or a step down from it (so the end of an episode is shown)."""
    floor = LEVEL_RANK[min_level]
    return (LEVEL_RANK.get(sig.get("level", "NONE"), 0) >= floor
            or LEVEL_RANK.get(sig.get("previous_level", "NONE"), 0) >= floor)


def render(sig: dict[str, Any], color: bool = True, width: int | None = None) -> str:
    """A readable signal: time, level, symbol, the change, probability, confidence, side, regime, explanation.

    Without `width`, one line. With it (a terminal, or the `up` view), every line fits `width` columns:
    time, symbol, the change (the level said once), p, confidence, side, regime; then the explanation's
    reasons (its repeat of symbol and level dropped) wrapped below it.
    """
    ts_ms = sig.get("ts", 0)
    clock = time.strftime("%H:%M:%S", time.gmtime(ts_ms / 1000)) + f".{int(ts_ms) % 1000:03d}"
    level = sig.get("level", "?")
    change = "(heartbeat)" if sig.get("heartbeat") else f"{sig.get('previous_level', '?')}->{level}"
    head = f"{clock} {level:<8} {sig.get('symbol', '?'):<12}"
    stats = (f"p={sig.get('probability', 0.0):.2f} conf={sig.get('confidence', 0.0):.2f} "
             f"{sig.get('direction', ''):<5} {sig.get('regime', '')}")
    style = dict(COLORS.get(level, {}))
    if sig.get("heartbeat"):
        style["dim"] = True
    paint = (lambda text, **kw: click.style(text, **kw)) if color else (lambda text, **kw: text)
    if width is None:
        return paint(head, **style) + f" {stats}  {change}  {sig.get('explanation', '')}"
    if sig.get("heartbeat"):
        change = f"{level} heartbeat"
    first = f"{clock[:8]} {sig.get('symbol', '?'):<10} {change:<17}  {stats}"[:width]  # the level said once
    reasons = textwrap.wrap(_reasons(sig), width=width, initial_indent=INDENT, subsequent_indent=INDENT)
    return "\n".join([paint(first, **style), *(paint(line, dim=True) for line in reasons)])


def _reasons(sig: dict[str, Any]) -> str:
    """The explanation without its head ("BTCUSDT ALERT: cascade probability 62%, long side liquidated"),
    which the first line already says, and without the repeated "BTCUSDT: " prefix."""
    text = str(sig.get("explanation", ""))
    symbol, level = sig.get("symbol", ""), sig.get("level", "")
    head, sep, rest = text.partition("; ")
    if sep and head.startswith(f"{symbol} {level}:"):
        text = rest
    return text.removeprefix(f"{symbol}: ")


def json_line(sig: dict[str, Any]) -> str:
    return orjson.dumps(sig).decode()
