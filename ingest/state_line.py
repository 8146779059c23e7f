"""One line per venue with its feed state, logged periodically by each ingester instead of a wall of warnings."""
from __future__ import annotations

import time

from ingest.connection import ConnectionState


def _age(seconds: float) -> str:
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def state_line(venue: str, st: ConnectionState, events: int, bad: int, ts_clamped: int,
               now: float | None = None, now_ns: int | None = None) -> str:
    """e.g. `binance: UP 5m12s, last frame 0.2 s ago; 12 events, 0 bad; 3 attempts, 1 failed, 1 reconnect`."""
    now = time.monotonic() if now is None else now
    now_ns = time.time_ns() if now_ns is None else now_ns
    if st.connected:
        head = f"UP {_age(now - st.connected_since)}"
        if st.last_frame_ns:
            head += f", last frame {(now_ns - st.last_frame_ns) / 1e9:.1f} s ago"
    elif st.down_since:
        head = f"DOWN {_age(now - st.down_since)}"
        if st.fail_streak:
            head += f", {st.fail_streak} failed attempt(s) in a row ({st.last_error[:80]})"
    else:
        head = "CONNECTING"
    tail = f" ({ts_clamped} exchange times replaced)" if ts_clamped else ""
    return (f"{venue}: {head}; {events} events, {bad} bad frames{tail}; {st.attempts} attempts, "
            f"{st.failures} failed, {st.reconnects} reconnects")
