"""Each venue's feed state (connection, completeness, staleness) from FeedStatus messages and events."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from common.config import AnalyticsConfig
from common.schema import FeedStatus, completeness_of

NS = 1_000_000_000


@dataclass(slots=True)
class VenueFeed:
    """What analytics knows of one venue's feed. `status_ns` 0: no FeedStatus seen (replay, tests)."""

    connected: bool = True
    completeness: str = "complete"
    status_ns: int = 0
    last_frame_ns: int = 0

    @property
    def throttled(self) -> bool:
        return self.completeness == "throttled"


class FeedBook:
    """Venue -> feed state, shared by all symbols of a shard.

    A venue counts in venue coverage by what its feed shows (`completeness_weight`): throttled venues
    (Binance, OKX, Aster: at most one event per symbol per second) undercount exactly when a cascade
    intensifies, sampled ones (watched users' fills) see a subset, unknown ones cannot say; a
    disconnected or stale venue counts nothing. Without any FeedStatus (replay), a venue seen in the
    data is assumed connected.
    """

    def __init__(self, cfg: AnalyticsConfig) -> None:
        self.venues: dict[str, VenueFeed] = {}
        self.version = 0  # bumped by every `seen` and `update`: what a reader caches stays valid while it holds
        self.status_stale_ns = int(cfg.status_stale_s * NS)
        self.frame_stale_ns = int(cfg.frame_stale_s * NS)
        # a config naming only some levels keeps the defaults of the others
        self.weight = {**AnalyticsConfig().completeness_weight, **cfg.completeness_weight}

    def seen(self, venue: str, completeness: str) -> None:
        self.version += 1
        feed = self.venues.get(venue)
        if feed is None:
            feed = self.venues[venue] = VenueFeed()
        if completeness != "complete":
            feed.completeness = completeness

    def update(self, st: FeedStatus) -> None:
        self.version += 1
        feed = self.venues.get(st.exchange)
        if feed is None:
            feed = self.venues[st.exchange] = VenueFeed()
        if st.ts < feed.status_ns:
            return  # an older status overtaken by a newer one
        feed.connected = bool(st.connected)
        comp = completeness_of(st.completeness, bool(st.throttled))
        if comp != "complete":
            feed.completeness = comp
        feed.status_ns = int(st.ts)
        feed.last_frame_ns = max(feed.last_frame_ns, int(st.last_frame_ns))

    def throttled(self) -> frozenset[str]:
        """The venues whose feed is throttled."""
        return frozenset(v for v, f in self.venues.items() if f.throttled)

    def stale(self, venue: str, now: int) -> bool:
        """No status for status_stale_s (the ingester went quiet), or no frame for frame_stale_s."""
        feed = self.venues.get(venue)
        return feed is not None and self._stale(feed, now)

    def _stale(self, feed: VenueFeed, now: int) -> bool:
        if feed.status_ns == 0:
            return False
        if now - feed.status_ns > self.status_stale_ns:
            return True
        return feed.connected and feed.last_frame_ns > 0 and now - feed.last_frame_ns > self.frame_stale_ns

    def steady(self, now: int) -> tuple[float, float]:
        """(lo, hi): every feed's `_stale` is the same for all t with lo < t <= hi as at `now` (while `version`
        holds). Staleness is `t > T` for a few thresholds T per feed, so a description stays valid between the
        nearest thresholds around `now`: a reader need not describe the feeds again each second."""
        lo, hi = -math.inf, math.inf
        status, frame = self.status_stale_ns, self.frame_stale_ns
        for feed in self.venues.values():
            if feed.status_ns == 0:  # no status seen: never stale
                continue
            marks = [feed.status_ns + status]
            if feed.connected and feed.last_frame_ns > 0:
                marks.append(feed.last_frame_ns + frame)
            for t in marks:
                if now > t:
                    lo = max(lo, t)
                else:
                    hi = min(hi, t)
        return lo, hi

    def describe(self, venue: str, now: int) -> tuple[str, bool, bool]:
        """(completeness, connected, stale) of a venue; unknown venues are complete and connected."""
        feed = self.venues.get(venue) or VenueFeed()
        return feed.completeness, feed.connected, self.stale(venue, now)

    def describe_all(self, venues: Iterable[str], now: int) -> dict[str, tuple[str, bool, bool]]:
        """`describe` of each of `venues`, in one pass (per snapshot)."""
        out = {}
        get, stale = self.venues.get, self._stale
        for v in venues:
            feed = get(v) or VenueFeed()  # unknown venues are complete and connected, as in `describe`
            out[v] = (feed.completeness, feed.connected, stale(feed, now))
        return out

    def coverage(self, venues: list[str], now: int) -> float:
        """Mean quality over venues: the completeness weight if healthy, 0 if down or stale."""
        return self.coverage_of([self.describe(venue, now) for venue in venues])

    def coverage_of(self, described: Iterable[tuple[str, bool, bool]]) -> float:
        """`coverage` from venues already described as (completeness, connected, stale)."""
        total, n = 0.0, 0
        for completeness, connected, stale in described:
            n += 1
            if connected and not stale:
                total += self.weight.get(completeness, 0.0)
        return total / n if n else 0.0
