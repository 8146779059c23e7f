"""What every venue module shares: the event union and the errors a parser may raise."""
from __future__ import annotations

import math

from common.schema import Liquidation, PriceTick

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
