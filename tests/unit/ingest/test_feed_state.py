"""What an operator sees while a venue is unreachable: attempts and failures counted apart, few log lines,
one state line per venue; and a demo that reaches no OKX endpoint."""
from __future__ import annotations

import logging

import pytest

from common.config import load_config
from ingest import okx_instruments
from ingest.connection import ConnectionState, _worth_logging
from ingest.exchanges import okx
from ingest.state_line import state_line
from ingest.venue_setup import is_venue_host, prepare, warn_unlisted_okx


def test_failures_are_logged_less_often_as_the_streak_grows():
    logged = [n for n in range(1, 1001) if _worth_logging(n)]
    assert logged == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


def test_state_line_down_says_how_long_how_many_attempts_and_why():
    st = ConnectionState(attempts=10, failures=10, down_since=100.0, fail_streak=10,
                         last_error="[Errno 111] Connect call failed")
    line = state_line("okx", st, events=0, bad=0, ts_clamped=0, now=400.0, now_ns=0)
    assert line == ("okx: DOWN 5m00s, 10 failed attempt(s) in a row ([Errno 111] Connect call failed); "
                    "0 events, 0 bad frames; 10 attempts, 10 failed, 0 reconnects")
    assert "\n" not in line


def test_state_line_up():
    st = ConnectionState(connected=True, attempts=3, failures=1, reconnects=1, connected_since=0.0,
                         last_frame_ns=9_800_000_000)
    line = state_line("binance", st, events=12, bad=2, ts_clamped=1, now=3725.0, now_ns=10_000_000_000)
    assert line == ("binance: UP 1h02m, last frame 0.2 s ago; 12 events, 2 bad frames (1 exchange times replaced); "
                    "3 attempts, 1 failed, 1 reconnects")


@pytest.mark.parametrize("url, real", [
    ("wss://ws.okx.com/ws/v5/public", True), ("wss://wsaws.okx.com:8443/ws/v5/public", True),
    ("ws://127.0.0.1:9100/ws/v5/public", False), ("ws://localhost:9100/ws/v5/public", False),
    ("wss://notokx.com/ws", False),
])
def test_only_the_venue_own_host_counts_as_the_venue(url, real):
    assert is_venue_host(url, okx.URL) is real


def test_okx_against_the_simulator_never_fetches_instruments(tmp_path, monkeypatch, caplog):
    def no_internet(**kw):
        raise AssertionError("fetched OKX instruments during a simulator run")
    monkeypatch.setattr(okx_instruments, "refresh", no_internet)
    cfg = load_config(overrides={"ingest": {"urls": {"okx": "ws://127.0.0.1:9100/ws/v5/public"},
                                            "okx_ctval_cache": str(tmp_path / "c.json"),
                                            "symbols": "BTCUSDT,NOPEUSDT"}}, env={})
    with caplog.at_level(logging.INFO):
        prepare(okx, cfg)
    assert "BTCUSDT" in okx.listed()
    assert "no instruments fetch" in caplog.text
    warned = [r.getMessage() for r in caplog.records if "not listed" in r.getMessage()]
    assert len(warned) == 1 and "NOPEUSDT" in warned[0] and "okx" in warned[0]


def test_unlisted_tracked_symbols_are_named_once_each(caplog):
    with caplog.at_level(logging.WARNING):
        missing = warn_unlisted_okx(("BTCUSDT", "ADAUSDT", "NOPEUSDT"), frozenset({"BTCUSDT", "ETHUSDT"}))
    assert missing == ["ADAUSDT", "NOPEUSDT"]
    assert len(caplog.records) == 2


def test_the_okx_default_url_is_the_port_443_one():
    assert okx.URL == "wss://ws.okx.com/ws/v5/public"


def test_ingest_config_has_the_time_window_and_state_line_period():
    ing = load_config(env={}).ingest
    assert (ing.ts_past_s, ing.ts_future_s, ing.state_log_s) == (3600.0, 60.0, 60.0)
    assert load_config(overrides={"ingest": {"ts_future_s": 5}}, env={}).ingest.ts_future_s == 5.0


def test_lighter_market_table_is_fetched_from_lighter_only_and_unknown_symbols_are_named(monkeypatch, caplog):
    from ingest import lighter_markets
    from ingest.exchanges import lighter
    fetched: list[str] = []
    monkeypatch.setattr(lighter, "_markets", lighter.lighter_markets.bundled())  # restored after the test
    monkeypatch.setattr(lighter_markets, "refresh", lambda: fetched.append("live") or {**lighter_markets.bundled(),
                                                                                     4097: "NEWCOIN"})
    sim = load_config(overrides={"ingest": {"urls": {"lighter": "ws://127.0.0.1:9100/lighter/stream"},
                                            "symbols": "BTCUSDT,NOPEUSDT"}}, env={})
    with caplog.at_level(logging.INFO):
        prepare(lighter, sim)
    assert fetched == [] and "no fetch" in caplog.text and "NEWCOINUSDT" not in lighter.market_ids()
    assert [r.getMessage() for r in caplog.records if "NOPEUSDT" in r.getMessage()]
    prepare(lighter, load_config(overrides={"ingest": {"symbols": "BTCUSDT"}}, env={}))
    assert fetched == ["live"] and lighter.market_ids()["NEWCOINUSDT"] == 4097
