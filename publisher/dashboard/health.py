"""Readiness: at least one venue connected, the BTC price fresh, and the publisher able to write."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common import metrics
from publisher.dashboard.state import NS, DashboardState

PUBLISHER_STALE_S = 5.0  # the publisher heartbeats its metrics every 0.1 s


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reasons: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)


def publisher_check(heartbeat_s: float | None, redis_up: float | None, now_s: float,
                    started_s: float) -> tuple[bool, str]:
    """The publisher, as its metrics tell it. No heartbeat since the dashboard started: none runs (ZMQ only:
    nothing to write), so it does not hold readiness back; a heartbeat that stopped is a dead publisher."""
    if heartbeat_s is None or heartbeat_s < started_s:
        return True, "no publisher running (signals on ZMQ only)"
    if now_s - heartbeat_s > PUBLISHER_STALE_S:
        return False, f"publisher silent for {now_s - heartbeat_s:.0f} s"
    if not redis_up:
        return False, "publisher cannot write to Redis"
    return True, "publisher writing to Redis"


def readiness(state: DashboardState, now_ns: int, publisher: tuple[float | None, float | None]) -> Readiness:
    """Pure: the dashboard state plus the publisher's (heartbeat unix s, redis_up) from the metrics files."""
    reasons: list[str] = []
    venues = state.connected_venues(now_ns)
    if not venues:
        reasons.append("no venue connected")
    price_ok = state.price_fresh(now_ns)
    if not price_ok:
        age = (now_ns - state.last_price_recv_ns) / NS if state.last_price_recv_ns else None
        reasons.append(f"{state.price_symbol} price " + (f"stale ({age:.0f} s old)" if age is not None else "missing"))
    pub_ok, pub_text = publisher_check(publisher[0], publisher[1], now_ns / NS, state.start_ns / NS)
    if not pub_ok:
        reasons.append(pub_text)
    return Readiness(not reasons, reasons, {"venues_connected": venues, "price_fresh": price_ok,
                                            "publisher": pub_text})


def publisher_metrics(ipc_dir: str) -> tuple[float | None, float | None]:
    """(last publisher heartbeat, redis_up) from the processes' metric files; None when never written."""
    beats = metrics.gauge_values(ipc_dir, "liqcascade_process_heartbeat_timestamp_seconds")
    heartbeat = beats.get((("process", "publisher"),))
    up = metrics.gauge_values(ipc_dir, "liqcascade_redis_up").get((), None)
    return heartbeat, up
