"""The part of the dashboard's 1 h / 4 h / 24 h windows from before it started, from the history store when one
runs: the page then shows whole windows across restarts instead of "since start". The live stream carries
everything since the start, so nothing is counted twice and nothing waits for the store's next write.
Read off the event loop, every `REFRESH_S`."""
from __future__ import annotations

import logging
from typing import Any

from common.config import Config
from common.logs import RateLimitedLog
from common.schema import LONG
from publisher.store import queries as q
from publisher.store.backend import open_backend, store_url

log = logging.getLogger(__name__)

NS = 1_000_000_000
REFRESH_S = 15.0


def read_totals(url: str, windows_s: dict[str, int], now_ns: int, until_ns: int) -> dict[str, dict[str, Any]]:
    """Per window, what lies in [now - span, until): long and short USD, count and the largest liquidation."""
    db = open_backend(url, read_only=True, hold=True)
    try:
        out: dict[str, dict[str, Any]] = {}
        for name, span_s in windows_s.items():
            f = q.Filter(now_ns - span_s * NS, max(until_ns, now_ns - span_s * NS))
            sides = {r["side"]: r for r in q.totals(db, f, ("side",))}
            top = q.largest(db, f, 1)
            big = top[0] if top else None
            out[name] = {
                "long_usd": float(sides.get(LONG, {}).get("usd") or 0.0),
                "short_usd": float(sides.get("short", {}).get("usd") or 0.0),
                "count": int(sum(r["count"] for r in sides.values())),
                "largest": None if big is None else [float(big["notional_usd"]), big["symbol"], big["side"],
                                                     big["exchange"], int(big["ts_event"]) // 1_000_000]}
        return out
    finally:
        db.close()


class StoredTotals:
    """Holds the last totals read from the store (None until one read succeeded, or without a store)."""

    def __init__(self, cfg: Config) -> None:
        self.url = store_url(cfg.store) if cfg.store.enabled else ""
        self.latest: dict[str, dict[str, Any]] | None = None
        self._warn = RateLimitedLog(log, interval_s=300.0)

    def refresh(self, windows_s: dict[str, int], now_ns: int, start_ns: int) -> None:
        """Blocking (run it in a thread): what the store holds before `start_ns`. A store that is locked,
        empty or down keeps the last totals."""
        if not self.url:
            return
        try:
            self.latest = read_totals(self.url, windows_s, now_ns, start_ns)
        except Exception as exc:  # noqa: BLE001 - the live totals stand in; the page must not fail on the store
            self._warn.warning("read", "dashboard: history store not read (%s); showing totals since start",
                               str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
