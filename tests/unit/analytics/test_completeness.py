"""Venues weigh in confidence by what their feed shows (complete, throttled, sampled, unknown)."""
from __future__ import annotations

import pytest
from analytics_helpers import at, engine, liq

from analytics.feeds import FeedBook
from common.config import AnalyticsConfig
from common.schema import COMPLETENESS_LEVELS, FeedStatus, completeness_of
from ingest.exchanges import EXCHANGES, hyperliquid_node

T = 1_700_000_000_000_000_000


def status(venue: str, completeness: str = "complete", throttled: bool = False) -> FeedStatus:
    return FeedStatus(venue, True, throttled, 0, 1, 0, 1, T, T, completeness=completeness)


def test_coverage_weighs_each_venue_by_its_completeness():
    book = FeedBook(AnalyticsConfig())
    for venue, comp in (("a", "complete"), ("b", "throttled"), ("c", "sampled"), ("d", "unknown")):
        book.seen(venue, comp)
    assert book.coverage(["a"], T) == 1.0
    assert book.coverage(["a", "b", "c", "d"], T) == pytest.approx((1.0 + 0.6 + 0.4 + 0.5) / 4)


def test_a_config_naming_one_level_keeps_the_defaults_of_the_others():
    book = FeedBook(AnalyticsConfig(completeness_weight={"sampled": 0.9}))
    book.seen("c", "sampled")
    assert book.coverage(["c", "a"], T) == pytest.approx((0.9 + 1.0) / 2)


def test_a_status_from_an_older_sender_reads_throttled_from_its_flag():
    book = FeedBook(AnalyticsConfig())
    book.update(status("okx", throttled=True))  # no completeness field: defaulted to complete
    book.update(status("lighter", completeness="complete"))
    assert book.describe("okx", T)[0] == "throttled" and book.venues["okx"].throttled
    assert book.describe("lighter", T)[0] == "complete"


def test_completeness_of_refuses_a_word_that_is_not_a_level():
    assert completeness_of("complete", True) == "throttled"
    assert completeness_of("sampled", False) == "sampled"
    with pytest.raises(ValueError, match="not one of"):
        completeness_of("mostly", False)


def test_every_venue_module_declares_a_completeness_level():
    for venue in [*EXCHANGES.values(), hyperliquid_node]:
        assert venue.COMPLETENESS in COMPLETENESS_LEVELS, venue.NAME
    assert EXCHANGES["hyperliquid"].COMPLETENESS == "sampled"  # watched users' fills, not the venue's tape
    assert hyperliquid_node.COMPLETENESS == "complete"


def test_a_status_between_two_snapshots_of_the_same_second_shows_in_the_second():
    """Snapshots of one `now` share the feeds' description (snapshot.FeedView): a status that arrives in between
    must still show, in that venue's entry, the coverage and the throttled feeds' reading."""
    eng = engine()
    for s in range(20):
        for venue in ("bybit", "okx"):
            eng.update(liq(at(s + 0.5), 10_000.0, venue=venue, symbol="BTCUSDT"))
            eng.update(liq(at(s + 0.5), 10_000.0, venue=venue, symbol="ETHUSDT"))
    now = at(20)
    before = {s.symbol: s for s in eng.snapshots(["BTCUSDT", "ETHUSDT"], now)}
    eng.update_status(FeedStatus("okx", False, True, 0, 1, 0, 1, now, now, completeness="throttled"))
    after = {s.symbol: s for s in eng.snapshots(["BTCUSDT", "ETHUSDT"], now)}
    one = eng.snapshot("ETHUSDT", now)
    for snaps in (after, {"ETHUSDT": one}):
        for snap in snaps.values():
            assert snap.extra["venues"]["okx"]["connected"] is False
            assert snap.extra["venues"]["okx"]["completeness"] == "throttled"
            assert snap.confidence < before[snap.symbol].confidence  # okx no longer counts in coverage
    assert before["BTCUSDT"].extra["venues"]["okx"]["connected"] is True


def test_steady_spans_the_nows_between_the_stale_thresholds():
    """FeedBook.steady: the feeds read the same for every now in (lo, hi], and differently just past either end."""
    book = FeedBook(AnalyticsConfig())
    book.seen("bybit", "complete")  # no status: never stale
    assert book.steady(T) == (float("-inf"), float("inf"))
    book.update(FeedStatus("okx", True, True, 0, 1, 0, 1, T, T, completeness="throttled"))
    lo, hi = book.steady(T)
    assert lo == float("-inf") and T < hi < float("inf")
    venues = sorted(book.venues)
    assert book.describe_all(venues, T) == book.describe_all(venues, int(hi))
    assert book.describe_all(venues, int(hi)) != book.describe_all(venues, int(hi) + 1)  # okx turns stale
    lo2, hi2 = book.steady(int(hi) + 1)
    assert lo2 == hi and hi2 > hi


def test_a_feed_turning_stale_between_snapshots_shows_without_a_new_status():
    """The feeds' description is kept across seconds (snapshot.FeedView) only until a feed turns stale: each
    snapshot equals the one of an engine that describes the feeds anew for every snapshot."""
    def fed():
        eng = engine()
        eng.update_status(FeedStatus("okx", True, True, 0, 1, 0, 1, at(0), at(0), completeness="throttled"))
        for s in range(5):
            for venue in ("bybit", "okx"):
                eng.update(liq(at(s + 0.5), 10_000.0, venue=venue, symbol="BTCUSDT"))
        return eng
    kept, anew = fed(), fed()
    stale_after = AnalyticsConfig().status_stale_s
    seconds = [5, 6, int(stale_after), int(stale_after) + 1, int(stale_after) + 2]
    got = [kept.snapshot("BTCUSDT", at(s)) for s in seconds]
    assert got[0].extra["venues"]["okx"]["stale"] is False
    assert got[-1].extra["venues"]["okx"]["stale"] is True
    for s, snap in zip(seconds, got, strict=True):
        anew.builder._feeds = None  # nothing kept: described at this now
        assert snap == anew.snapshot("BTCUSDT", at(s))
