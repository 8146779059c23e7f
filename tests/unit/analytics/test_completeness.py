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
