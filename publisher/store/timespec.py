"""Times users type: relative (`24h`, `30m`, `7d`, `2w`, `90s`, `now`) or ISO 8601 (`2025-01-01T00:00:00Z`)."""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_time(text: str, now_ns: int | None = None) -> int:
    """Nanoseconds since the epoch; a relative span means that long before now. Raises ValueError."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    t = text.strip()
    if t.lower() == "now":
        return now_ns
    m = _RELATIVE.match(t.lower())
    if m:
        return now_ns - int(float(m.group(1)) * _UNIT_S[m.group(2)] * 1_000_000_000)
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise ValueError(f"bad time {text!r}: use a span like 24h, 30m, 7d or ISO 8601 like 2025-01-01T00:00:00Z"
                         ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # times without a zone are UTC, like everything the store holds
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def iso(ts_ns: int) -> str:
    """UTC ISO 8601 with milliseconds."""
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
