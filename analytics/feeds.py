"""Each venue's feed state (connection, throttling, staleness) from FeedStatus messages and events."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from common.config import AnalyticsConfig
from common.schema import FeedStatus

NS = 1_000_000_000


@dataclass(slots=True)
class VenueFeed:
    """What analytics knows of one venue's feed. `status_ns` 0: no FeedStatus seen (replay, tests)."""

    connected: bool = True
    throttled: bool = False
    status_ns: int = 0
    last_frame_ns: int = 0


class FeedBook:
    """Venue -> feed state, shared by all symbols of a shard.

    Throttled venues (Binance, OKX: at most one event per symbol per second) undercount exactly when
    a cascade intensifies, so they count less in venue coverage; a disconnected or stale venue counts
    nothing. Without any FeedStatus (replay), a venue seen in the data is assumed connected.
    """

    def __init__(self, cfg: AnalyticsConfig) -> None:
        self.venues: dict[str, VenueFeed] = {}
        self.status_stale_ns = int(cfg.status_stale_s * NS)
        self.frame_stale_ns = int(cfg.frame_stale_s * NS)
        self.throttled_weight = cfg.throttled_weight

    def seen(self, venue: str, throttled: bool) -> None:
        feed = self.venues.get(venue)
        if feed is None:
            feed = self.venues[venue] = VenueFeed()
        if throttled:
            feed.throttled = True

    def update(self, st: FeedStatus) -> None:
        feed = self.venues.get(st.exchange)
        if feed is None:
            feed = self.venues[st.exchange] = VenueFeed()
        if st.ts < feed.status_ns:
            return  # an older status overtaken by a newer one
        feed.connected = bool(st.connected)
        feed.throttled = feed.throttled or bool(st.throttled)
        feed.status_ns = int(st.ts)
        feed.last_frame_ns = max(feed.last_frame_ns, int(st.last_frame_ns))

    def stale(self, venue: str, now: int) -> bool:
        """No status for status_stale_s (the ingester went quiet), or no frame for frame_stale_s."""
        feed = self.venues.get(venue)
        if feed is None or feed.status_ns == 0:
            return False
        if now - feed.status_ns > self.status_stale_ns:
            return True
        return feed.connected and feed.last_frame_ns > 0 and now - feed.last_frame_ns > self.frame_stale_ns

    def describe(self, venue: str, now: int) -> tuple[bool, bool, bool]:
        """(throttled, connected, stale) of a venue; unknown venues are unthrottled and connected."""
        feed = self.venues.get(venue) or VenueFeed()
        return feed.throttled, feed.connected, self.stale(venue, now)

    def coverage(self, venues: list[str], now: int) -> float:
        """Mean quality over venues: 1 healthy, throttled_weight if throttled, 0 if down or stale."""
        return self.coverage_of([self.describe(venue, now) for venue in venues])

    def coverage_of(self, described: Iterable[tuple[bool, bool, bool]]) -> float:
        """`coverage` from venues already described as (throttled, connected, stale)."""
        total, n = 0.0, 0
        for throttled, connected, stale in described:
            n += 1
            if connected and not stale:
                total += self.throttled_weight if throttled else 1.0
        return total / n if n else 0.0
