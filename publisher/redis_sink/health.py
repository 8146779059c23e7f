"""The `liqcascade:health` key: per-process heartbeats, venues and the last signal, with a short TTL.

A reader that finds no key knows the pipeline (or at least its publisher) is gone; one that finds it sees
which process went quiet. Heartbeats come from the processes' metric files (common.metrics), so they
cover the processes on the publisher's host.
"""
from __future__ import annotations

import logging
from typing import Any

import orjson
import redis

from common import metrics
from common.schema import FeedStatus, Signal

log = logging.getLogger(__name__)

KEY = "liqcascade:health"
TTL_S = 10  # several missed writes before the key disappears
EVERY_NS = 1_000_000_000
NS = 1_000_000_000
HEARTBEAT = "liqcascade_process_heartbeat_timestamp_seconds"


class Health:
    """Watches what the publisher receives (feed status, signals) and writes the key once a second."""

    def __init__(self, ipc_dir: str) -> None:
        self.ipc_dir = ipc_dir
        self.venues: dict[str, FeedStatus] = {}
        self.last_signal_ns = 0
        self._next_ns = 0

    def observe(self, msgs: list[Any]) -> None:
        for m in msgs:
            if isinstance(m, FeedStatus):
                self.venues[m.exchange] = m
            elif isinstance(m, Signal) and not m.heartbeat:
                self.last_signal_ns = max(self.last_signal_ns, m.ts)

    def payload(self, now_ns: int, heartbeats: dict[str, float]) -> dict[str, Any]:
        """Pure: the key's JSON (times in ms, ages in s)."""
        return {
            "ts": now_ns // 1_000_000,
            "processes": {name: {"heartbeat": int(ts * 1000), "age_s": round(now_ns / NS - ts, 3)}
                          for name, ts in sorted(heartbeats.items())},
            "venues": {v: {"connected": st.connected, "throttled": st.throttled, "reconnects": st.reconnects,
                           "status_age_s": round((now_ns - st.ts) / NS, 3),
                           "last_frame_age_s": round((now_ns - st.last_frame_ns) / NS, 3) if st.last_frame_ns
                           else None}
                       for v, st in sorted(self.venues.items())},
            "last_signal_ts": self.last_signal_ns // 1_000_000 or None,
        }

    def write(self, client: redis.Redis, now_ns: int) -> bool:
        """At most once a second; the caller skips it while Redis is down (a write would block on the timeout)."""
        if now_ns < self._next_ns:
            return False
        self._next_ns = now_ns + EVERY_NS
        beats = {dict(labels).get("process", "?"): ts
                 for labels, ts in metrics.gauge_values(self.ipc_dir, HEARTBEAT).items()}
        try:
            client.set(KEY, orjson.dumps(self.payload(now_ns, beats)), ex=TTL_S)
            return True
        except (redis.RedisError, OSError) as exc:
            log.debug("publisher: health key not written: %s", exc)
            return False
