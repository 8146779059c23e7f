"""What a signal rests on: the venues that carry a snapshot's flow and how trustworthy each one's feed is."""
from __future__ import annotations

from typing import Any

from common.schema import FeedStatus, MetricsSnapshot, completeness_of

NS = 1_000_000_000


def data_quality(snap: MetricsSnapshot, feeds: dict[str, FeedStatus], feed_stale_s: float, price: str,
                 now_ns: int) -> dict[str, Any]:
    """The contributing venues and their completeness, the stale or disconnected ones (the snapshot's word and
    each venue's last FeedStatus in `feeds`), the overall quality, and `price` (the BTC feed's state)."""
    venues: dict[str, dict[str, Any]] = snap.extra.get("venues") or {}
    # one pass over the venues (this runs per snapshot): who contributes, who is stale or disconnected
    contributing: list[str] = []
    stale: set[str] = set()
    disconnected: set[str] = set()
    for v, d in venues.items():
        get = d.get
        if get("events") or get("usd_per_s"):
            contributing.append(v)
        if get("stale"):
            stale.add(v)
        if get("connected") is False:
            disconnected.add(v)
    contributing = sorted(contributing) or sorted([v for v, usd in snap.by_venue.items() if usd])
    if contributing:
        completeness = {v: venue_completeness(venues.get(v, {}), feeds.get(v)) for v in contributing}
        complete = [v for v in contributing if completeness[v] == "complete"]
        throttled = [v for v in contributing if completeness[v] == "throttled"]
        partial = [v for v in contributing if completeness[v] in ("sampled", "unknown")]
    else:
        completeness, complete, throttled, partial = {}, [], [], []  # nothing contributes: nothing to sort
    shown = {}
    for v, st in feeds.items():
        age = (now_ns - st.ts) / NS
        shown[v] = {"connected": st.connected, "age_s": round(age, 3), "reconnects": st.reconnects}
        if not st.connected:
            disconnected.add(v)
        elif age > feed_stale_s:
            stale.add(v)
    degraded = len(stale | disconnected) if stale or disconnected else 0
    quality = ("degraded" if degraded else "unknown" if not contributing
               else "partial" if partial else "throttled" if throttled else "complete")
    return {"venues": contributing, "complete": complete, "throttled": throttled, "partial": partial,
            "completeness": completeness, "stale": sorted(stale), "disconnected": sorted(disconnected),
            "degraded_count": degraded, "quality": quality, "price": price, "feeds": shown}


def venue_completeness(snap_info: dict[str, Any], feed: FeedStatus | None) -> str:
    """What a venue's feed shows: the snapshot's word, else its last FeedStatus (an older sender: `throttled`)."""
    if "completeness" in snap_info:
        return str(snap_info["completeness"])
    if snap_info.get("throttled"):
        return "throttled"
    return completeness_of(feed.completeness, feed.throttled) if feed is not None else "complete"
