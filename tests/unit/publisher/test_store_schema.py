"""The store's pure parts: dedupe keys, minute rollups, times users type."""
from __future__ import annotations

import pytest

from common.config import StoreConfig, load_config
from common.schema import Liquidation
from publisher.store.backend import store_url
from publisher.store.schema import MINUTE_NS, NS, dedupe_key, liq_row, rollup
from publisher.store.timespec import iso, parse_time

NOW = 1_767_225_600 * NS


def test_the_dedupe_key_is_stable_and_tells_events_apart():
    a = Liquidation("bybit", "BTCUSDT", "BTCUSDT", "long", 90000.0, 0.5, 45000.0, NOW, NOW + 5, False)
    assert liq_row(a)[1] == liq_row(a._replace(ts_recv=NOW + 999))[1]  # received twice: one event
    assert liq_row(a)[1] == dedupe_key("bybit", "BTCUSDT", "long", NOW, 90000.0, 0.5)
    others = [a._replace(ts_event=NOW + 1), a._replace(side="short"), a._replace(qty=0.51), a._replace(exchange="okx")]
    assert len({liq_row(m)[1] for m in [a, *others]}) == 5


def test_rollup_sums_counts_and_keeps_the_largest_per_minute_symbol_venue_side():
    rows = [(NOW + 1, "BTCUSDT", "bybit", "long", 10.0), (NOW + 59 * NS, "BTCUSDT", "bybit", "long", 30.0),
            (NOW + 60 * NS, "BTCUSDT", "bybit", "long", 5.0), (NOW + 2, "BTCUSDT", "bybit", "short", 7.0)]
    assert sorted(rollup(rows)) == [(NOW, "BTCUSDT", "bybit", "long", 40.0, 2, 30.0),
                                    (NOW, "BTCUSDT", "bybit", "short", 7.0, 1, 7.0),
                                    (NOW + MINUTE_NS, "BTCUSDT", "bybit", "long", 5.0, 1, 5.0)]


@pytest.mark.parametrize("text, expect", [
    ("24h", NOW - 24 * 3600 * NS), ("30m", NOW - 1800 * NS), ("7d", NOW - 7 * 86400 * NS), ("90s", NOW - 90 * NS),
    ("now", NOW), ("2025-01-01T00:00:00Z", 1_735_689_600 * NS), ("2025-01-01", 1_735_689_600 * NS),
    ("2025-01-01T01:00:00+01:00", 1_735_689_600 * NS), ("2025-01-01T00:00:00.250Z", 1_735_689_600 * NS + 250_000_000),
])
def test_times_users_type(text, expect):
    assert parse_time(text, NOW) == expect


def test_a_bad_time_says_what_is_accepted():
    with pytest.raises(ValueError, match="24h"):
        parse_time("yesterday", NOW)


def test_iso_output():
    assert iso(NOW + 5_000_000) == "2026-01-01T00:00:00.005Z"


def test_default_store_is_a_duckdb_file_under_the_data_dir_and_store_url_overrides():
    assert store_url(StoreConfig(data_dir="/var/lib/lc")) == "duckdb:///var/lib/lc/history.duckdb"
    cfg = load_config(env={"STORE_URL": "postgresql://u@db/liq"})
    assert cfg.store.url == "postgresql://u@db/liq" and cfg.store.retention_days == 90.0
