"""What every venue module shares: the event union and the errors a parser may raise."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from common.schema import Liquidation, PriceTick
from ingest.symbols import UnknownSymbol

Event = Liquidation | PriceTick


class BadFrame(ValueError):
    """A frame that is neither data we understand nor a known control message; counted and skipped."""


class ReconnectRequested(Exception):
    """The venue announced a disconnect (e.g. OKX 64008 maintenance notice): reconnect ahead of it."""


def positive(value: object, name: str) -> float:
    """Parse a venue's decimal string; non-finite or non-positive is a bad frame, never an event."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadFrame(f"{name} is not a number: {value!r}") from None
    if not (x > 0.0 and math.isfinite(x)):
        raise BadFrame(f"{name} must be finite and positive: {value!r}")
    return x


def ms_to_ns(value: object, name: str = "ts") -> int:
    try:
        ms = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise BadFrame(f"{name} is not an integer ms timestamp: {value!r}") from None
    if ms <= 0:
        raise BadFrame(f"{name} must be positive: {value!r}")
    return ms * 1_000_000


class Report(NamedTuple):
    """Events of one batch frame plus one message per skipped (bad) item of that batch."""

    events: list[Event]
    skipped: list[str]


def events_or_raise(report: Report) -> list[Event]:
    """Batch policy shared by the venues: good items pass; a frame whose every item is bad is a bad frame."""
    if report.skipped and not report.events:
        raise BadFrame("; ".join(report.skipped[:3]))
    return report.events


def load_object(frame: str | bytes) -> dict[str, Any]:
    """The frame as a JSON object, or BadFrame: every venue's first step."""
    try:
        msg = orjson.loads(frame)
    except orjson.JSONDecodeError:
        raise BadFrame("not JSON") from None
    if not isinstance(msg, dict):
        raise BadFrame("not a JSON object")
    return msg


def symbol_of(normalize: Callable[[str], tuple[str, float]], native: object) -> tuple[str, float]:
    """A venue's instrument name -> (canonical symbol, multiplier) via `normalize`, or BadFrame."""
    if not isinstance(native, str):
        raise BadFrame(f"bad symbol {native!r}")
    try:
        return normalize(native)
    except UnknownSymbol:
        raise BadFrame(f"unknown symbol format {native!r}") from None
