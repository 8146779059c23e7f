"""The dashboard's aggregation and readiness: pure, driven by an explicit clock."""
from __future__ import annotations

from common import topics
from common.config import load_config
from common.schema import FeedStatus, Liquidation, PriceTick, Regime, Signal
from publisher.dashboard.health import publisher_check, readiness
from publisher.dashboard.state import MINUTE_NS, NS, DashboardState

T0 = 1_800_000_000 * NS - (1_800_000_000 * NS) % MINUTE_NS  # on a minute boundary


def liq(ts_ns: int, usd: float, side: str = "long", venue: str = "bybit", symbol: str = "BTCUSDT") -> Liquidation:
    return Liquidation(venue, symbol, symbol, side, 60_000.0, usd / 60_000.0, usd, ts_ns, ts_ns, venue != "bybit")


def status(venue: str, ts: int, connected: bool = True) -> FeedStatus:
    return FeedStatus(venue, connected, venue == "binance", 2, 100, 1, 10, ts - NS // 2, ts)


def signal(ts: int, level: str = "ALERT", heartbeat: bool = False, symbol: str = "BTCUSDT") -> Signal:
    return Signal(symbol, level, 0.6, 0.8, "long", "NORMAL", f"{symbol}: $5M of longs", ts, "WATCH", heartbeat,
                  components={"factors": {"velocity": {"raw": 9.0, "score": 1.0, "weight": 0.35,
                                                       "contribution": 0.35}}})


def make(start: int = T0, **dash: float) -> DashboardState:
    cfg = load_config(overrides={"dashboard": dash} if dash else None, env={})
    return DashboardState(cfg, start)


def test_totals_split_sides_per_window_and_keep_the_largest():
    st = make()
    st.apply(b"liq.bybit.BTCUSDT", [liq(T0 + NS, 1e6), liq(T0 + 2 * NS, 3e6, "short", "okx")], T0 + 3 * NS)
    st.apply(b"liq.bybit.ETHUSDT", [liq(T0 + 2 * 3600 * NS, 5e5, symbol="ETHUSDT")], T0 + 2 * 3600 * NS)
    tot = st.totals(T0 + 2 * 3600 * NS + NS)
    assert tot["1h"]["long_usd"] == 5e5 and tot["1h"]["short_usd"] == 0 and tot["1h"]["count"] == 1
    assert tot["4h"]["long_usd"] == 1.5e6 and tot["4h"]["short_usd"] == 3e6 and tot["4h"]["count"] == 3
    assert tot["4h"]["largest"][:4] == [3e6, "BTCUSDT", "short", "okx"]
    assert tot["1h"]["complete"] and not tot["4h"]["complete"]  # 2 h seen: the 4 h figure says so
    assert tot["4h"]["covered_s"] == 2 * 3600 + 1


def test_minutes_older_than_a_day_are_dropped():
    st = make()
    st.apply(b"liq.bybit.BTCUSDT", [liq(T0, 1e6)], T0)
    later = T0 + 25 * 3600 * NS
    st.apply(b"liq.bybit.BTCUSDT", [liq(later, 2e6)], later)
    assert st.totals(later)["24h"]["long_usd"] == 2e6 and len(st.minutes) == 1


def test_bars_put_longs_above_zero_and_shorts_below_per_minute():
    st = make(start=T0 - 3600 * NS)
    st.apply(b"liq.okx.BTCUSDT", [liq(T0 + NS, 1e6), liq(T0 + 30 * NS, 2e6, "short"),
                                  liq(T0 + MINUTE_NS, 4e5)], T0 + MINUTE_NS)
    bars = st.bars(T0 + MINUTE_NS + NS)
    assert len(bars["t"]) == 60 and bars["t"][-1] == (T0 + MINUTE_NS) // NS
    assert (bars["long"][-2], bars["short"][-2]) == (1e6, -2e6)
    assert (bars["long"][-1], bars["short"][-1]) == (4e5, 0.0)
    fresh = make().bars(T0 + MINUTE_NS)  # a fresh run: 9 minutes before its start, then every minute since
    assert len(fresh["t"]) == 11 and fresh["t"][0] == T0 // NS - 9 * 60


def test_tape_keeps_only_liquidations_at_or_above_the_threshold():
    st = make(tape_min_usd=100_000.0)
    st.apply(b"liq.bybit.BTCUSDT", [liq(T0, 99_999.0), liq(T0, 100_000.0), liq(T0, 5e6, "short")], T0)
    assert [r["usd"] for r in st.tape] == [100_000.0, 5e6]
    delta = st.take_delta(T0)
    assert [r["usd"] for r in delta["tape"]] == [100_000.0, 5e6] and st.take_delta(T0)["tape"] == []


def test_venues_show_flow_and_feed_state_and_go_stale_without_status():
    st = make()
    st.apply(b"status.binance", [status("binance", T0)], T0)
    st.apply(b"status.okx", [status("okx", T0, connected=False)], T0)
    st.apply(b"liq.binance.BTCUSDT", [liq(T0, 1e6, venue="binance")], T0)
    v = st.venues(T0 + NS)
    assert v["binance"]["connected"] and v["binance"]["feed"] == "throttled" and v["binance"]["long_usd"] == 1e6
    assert v["binance"]["last_frame_age_s"] == 0.5 and v["binance"]["reconnects"] == 2
    assert not v["okx"]["connected"] and not v["okx"]["stale"]
    assert st.connected_venues(T0 + NS) == ["binance"]
    late = T0 + 16 * NS  # signals.feed_stale_s = 15
    assert st.venues(late)["binance"]["stale"] and st.connected_venues(late) == []


def test_price_keeps_the_last_trade_of_each_second_and_freshness():
    st = make()
    ticks = [PriceTick("binance", "BTCUSDT", p, 0.1, T0 + i * NS // 4, T0 + i * NS // 4)
             for i, p in enumerate([100.0, 101.0, 102.0, 103.0, 104.0])]
    st.apply(topics.price("BTCUSDT"), ticks, T0 + NS)
    st.apply(topics.price("ETHUSDT"), [PriceTick("binance", "ETHUSDT", 1.0, 1.0, T0, T0)], T0 + NS)
    assert [list(p) for p in st.prices] == [[T0 // NS, 103.0], [T0 // NS + 1, 104.0]]
    assert st.take_delta(T0 + NS)["prices"] == [[T0 // NS, 103.0], [T0 // NS + 1, 104.0]]
    assert st.price_fresh(T0 + 60 * NS) and not st.price_fresh(T0 + 62 * NS)


def test_signal_timeline_skips_heartbeats_and_levels_expire():
    st = make()
    st.apply(b"signal.ALERT.BTCUSDT", [signal(T0)], T0)
    st.apply(b"signal.ALERT.BTCUSDT", [signal(T0 + NS, heartbeat=True)], T0 + NS)
    st.apply(b"signal.EXTREME.ETHUSDT", [signal(T0, "EXTREME", symbol="ETHUSDT")], T0 + 20 * NS)
    snap = st.snapshot(T0 + 25 * NS)
    assert [s["symbol"] for s in snap["signals"]] == ["BTCUSDT", "ETHUSDT"]
    assert snap["signals"][0]["explanation"] == "BTCUSDT: $5M of longs"
    assert snap["signals"][0]["components"]["factors"]["velocity"]["contribution"] == 0.35
    assert [lv["symbol"] for lv in snap["levels"]] == ["ETHUSDT", "BTCUSDT"]  # by severity
    assert [lv["symbol"] for lv in st.active_levels(T0 + 40 * NS)] == ["ETHUSDT"]  # BTC silent > 30 s


def test_regime_is_kept():
    st = make()
    st.apply(topics.REGIME, [Regime("HIGH", 1.9, T0, trend="down")], T0)
    assert st.snapshot(T0)["regime"]["regime"] == "HIGH"


def test_ready_needs_a_connected_venue_a_fresh_price_and_a_writing_publisher():
    st = make()
    now = T0 + NS
    r = readiness(st, now, (None, None))
    assert not r.ready and r.reasons == ["no venue connected", "BTCUSDT price missing"]
    st.apply(b"status.bybit", [status("bybit", T0)], T0)
    st.apply(topics.price("BTCUSDT"), [PriceTick("bybit", "BTCUSDT", 1.0, 1.0, T0, T0)], T0)
    assert readiness(st, now, (None, None)).ready  # no publisher: ZMQ only, nothing to write
    assert readiness(st, now, (now / NS - 1, 1.0)).ready
    r = readiness(st, now, (now / NS - 1, 0.0))
    assert not r.ready and r.reasons == ["publisher cannot write to Redis"]


def test_publisher_check_ignores_a_previous_run_and_catches_a_dead_publisher():
    assert publisher_check(90.0, 0.0, now_s=200.0, started_s=100.0)[0]  # before we started: another run
    ok, why = publisher_check(150.0, 1.0, now_s=200.0, started_s=100.0)
    assert not ok and why == "publisher silent for 50 s"


def test_rows_carry_increasing_ids_so_a_browser_drops_repeats():
    st = make()
    st.apply(b"signal.ALERT.BTCUSDT", [signal(T0)], T0)
    st.apply(b"liq.bybit.BTCUSDT", [liq(T0, 1e6)], T0)
    first = st.snapshot(T0)  # a browser connecting now gets these rows, and the next delta repeats them
    delta = st.take_delta(T0)
    assert [r["id"] for r in delta["signals"]] == [r["id"] for r in first["signals"]] == [1]
    assert delta["tape"][0]["id"] == 2
    st.apply(b"signal.CRITICAL.BTCUSDT", [signal(T0 + NS, "CRITICAL")], T0 + NS)
    assert st.take_delta(T0 + NS)["signals"][0]["id"] == 3


def test_active_levels_carry_the_symbols_open_interest_funding_and_estimate():
    from dataclasses import replace

    from common.schema import MetricsSnapshot
    from signals.generator import market_context

    snap = MetricsSnapshot("BTCUSDT", T0, {}, {}, {}, {}, {"bybit": 9.1e5}, 0.0, 1, 0.6, 0.8, "long", {}, "",
                           oi_usd=2.4e9, oi_change_5m_frac=-0.031, funding=-0.0002, basis=-0.0011, est_usd=1.4e7,
                           est_usd_low=1.1e7, est_usd_high=1.9e7)
    sig = replace(signal(T0), components={**signal(T0).components, "market_context": market_context(snap)})
    assert sig.components["market_context"]["observed_usd_10s"] == 9.1e6  # what the feeds showed in 10 s
    d = make()
    d.apply(topics.signal("ALERT", "BTCUSDT"), [sig], T0)
    [row] = d.active_levels(T0)
    assert row["context"]["oi_usd"] == 2.4e9 and row["context"]["oi_change_5m_frac"] == -0.031
    assert row["context"]["funding"] == -0.0002
    d.apply(topics.signal("ALERT", "ETHUSDT"), [signal(T0, symbol="ETHUSDT")], T0)  # no context: None
    assert {r["symbol"]: r["context"] for r in d.active_levels(T0)}["ETHUSDT"] is None
