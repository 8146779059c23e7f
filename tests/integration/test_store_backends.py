"""The history store, the same tests on DuckDB and on PostgreSQL: idempotency, rollups, queries, retention."""
from __future__ import annotations

import csv
import dataclasses
import random

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from common import topics
from common.config import StoreConfig, load_config
from common.schema import Liquidation, Signal
from liqcascade.cli import main
from publisher.dashboard.history import StoredTotals
from publisher.dashboard.state import WINDOWS_S, DashboardState
from publisher.store import queries as q
from publisher.store.backend import open_backend
from publisher.store.export import export
from publisher.store.schema import DAY_NS, MINUTE_NS, NS
from publisher.store.writer import StoreWriter

T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z


def liq(ts: int, usd: float, side: str = "long", exchange: str = "bybit", symbol: str = "BTCUSDT",
        throttled: bool = False) -> Liquidation:
    price = 100_000.0
    return Liquidation(exchange, symbol, symbol, side, price, usd / price, usd, ts, ts + 1000, throttled)


def stream(n: int = 600, seed: int = 7) -> list[Liquidation]:
    """n liquidations over ~20 minutes on three venues, two symbols, both sides."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        ex = rnd.choice(["binance", "bybit", "okx"])
        usd = round(rnd.uniform(1e3, 2e6), 2)
        out.append(liq(T0 + i * 2 * NS + rnd.randrange(NS), usd, rnd.choice(["long", "short"]), ex,
                       rnd.choice(["BTCUSDT", "ETHUSDT"]), ex != "bybit"))
    return out


def write(url: str, msgs: list) -> StoreWriter:
    w = StoreWriter(open_backend(url), StoreConfig(batch=250))
    w.add(msgs)
    assert w.flush() == len(msgs)
    return w


def reader(url: str):
    return open_backend(url, hold=False)


ALL = q.Filter(T0 - DAY_NS, T0 + DAY_NS)


def test_a_replayed_batch_adds_nothing_twice_rows_or_rollups(store_url):
    msgs = stream()
    w = write(store_url, msgs)
    assert (w.written, w.duplicates) == (600, 0)
    before = q.bars(reader(store_url), ALL, "1m")
    w.add(msgs[100:400] + msgs[:5])
    w.flush()
    assert (w.written, w.duplicates) == (600, 305)
    db = reader(store_url)
    assert q.export_count(db, ALL) == 600
    assert q.bars(db, ALL, "1m") == before


def test_minute_rollups_match_the_raw_rows(store_url):
    msgs = stream()
    write(store_url, msgs)
    _, rows = reader(store_url).query("SELECT minute, symbol, exchange, side, usd, count, largest FROM rollups")
    expect: dict[tuple, list] = {}
    for m in msgs:
        k = (m.ts_event - m.ts_event % MINUTE_NS, m.symbol, m.exchange, m.side)
        e = expect.setdefault(k, [0.0, 0, 0.0])
        e[0] += m.notional_usd
        e[1] += 1
        e[2] = max(e[2], m.notional_usd)
    got = {r[:4]: [r[4], r[5], r[6]] for r in rows}
    assert set(got) == set(expect)
    for k, (usd, count, largest) in expect.items():
        assert got[k][0] == pytest.approx(usd) and got[k][1] == count and got[k][2] == largest


def test_totals_group_and_filter_with_a_completeness_note(store_url):
    write(store_url, [liq(T0, 1e6, "long", "binance", throttled=True), liq(T0 + NS, 2e6, "long", "bybit"),
                      liq(T0 + 2 * NS, 5e5, "short", "bybit"), liq(T0 + 3 * NS, 3e6, "short", "okx", "ETHUSDT", True)])
    db = reader(store_url)
    by_side = {r["side"]: (r["usd"], r["count"]) for r in q.totals(db, ALL, ("side",))}
    assert by_side == {"long": (3e6, 2), "short": (3.5e6, 2)}
    rows = q.totals(db, q.Filter(T0, T0 + 3 * NS, exchanges=("bybit",)), ("exchange", "side"))
    assert [(r["exchange"], r["side"], r["usd"], r["count"]) for r in rows] == [
        ("bybit", "long", 2e6, 1), ("bybit", "short", 5e5, 1)]
    assert q.totals(db, q.Filter(T0, T0 + DAY_NS, symbols=("ETHUSDT",)), ())[0]["usd"] == 3e6
    assert q.throttled_venues(db, ALL) == ["binance", "okx"]
    assert "binance, okx" in q.completeness_note(q.throttled_venues(db, ALL))


def test_bars_split_long_and_short_per_interval(store_url):
    write(store_url, [liq(T0 + 10 * NS, 1e6, "long"), liq(T0 + 70 * NS, 2e6, "short"),
                      liq(T0 + 3700 * NS, 4e6, "long"), liq(T0 + 3710 * NS, 1e5, "short")])
    db = reader(store_url)
    one_m = q.bars(db, ALL, "1m")
    assert [(b["bar"], b["long_usd"], b["short_usd"]) for b in one_m] == [
        (T0, 1e6, 0.0), (T0 + 60 * NS, 0.0, 2e6), (T0 + 3660 * NS, 4e6, 1e5)]
    hourly = q.bars(db, ALL, "1h")
    assert [(b["bar"], b["long_usd"], b["short_usd"], b["count"]) for b in hourly] == [
        (T0, 1e6, 2e6, 2), (T0 + 3600 * NS, 4e6, 1e5, 2)]
    assert q.bars(db, ALL, "1d")[0]["largest"] == 4e6


def test_largest_and_signals(store_url):
    sig = Signal("BTCUSDT", "ALERT", 0.62, 0.8, "long", "HIGH", "BTCUSDT: $9.1M of longs liquidated in 10 s", T0 + 5,
                 "WATCH", components={"velocity": {"score": 0.9}})
    write(store_url, [liq(T0 + k * NS, 1e5 * k) for k in range(1, 20)] + [sig])
    db = reader(store_url)
    assert [r["notional_usd"] for r in q.largest(db, ALL, 3)] == [1.9e6, 1.8e6, 1.7e6]
    (s,) = q.signals(db, ALL)
    assert (s["previous_level"], s["level"], s["regime"]) == ("WATCH", "ALERT", "HIGH")
    assert s["explanation"].startswith("BTCUSDT: $9.1M") and '"velocity"' in s["components"]


def test_retention_removes_what_is_older_than_the_cutoff(store_url):
    old = [liq(T0 - 3 * DAY_NS + k * NS, 1e4) for k in range(5)]
    new = [liq(T0 + k * NS, 2e4) for k in range(5)]
    w = write(store_url, old + new)
    w.retention(T0 + DAY_NS)  # with a 90-day default nothing is that old
    assert q.export_count(reader(store_url), q.Filter(0, T0 + DAY_NS)) == 10
    w = StoreWriter(w.backend, StoreConfig(retention_days=1.5))
    w.retention(T0 + DAY_NS)
    db = reader(store_url)
    assert q.export_count(db, q.Filter(0, T0 + DAY_NS)) == 5
    assert q.bars(db, q.Filter(0, T0 + DAY_NS), "1d")[0]["bar"] == T0
    if store_url.startswith("postgresql"):  # the old day went as a whole partition
        _, parts = db.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                            "WHERE i.inhparent = 'liquidations'::regclass")
        names = {r[0] for r in parts}
        assert "liquidations_p20251229" not in names and "liquidations_p20260101" in names


def test_export_parquet_and_csv_round_trip(store_url, tmp_path):
    msgs = stream(50)
    write(store_url, msgs)
    db = reader(store_url)
    assert export(db, ALL, "parquet", str(tmp_path / "x.parquet")) == 50
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.num_rows == 50 and sum(table.column("notional_usd").to_pylist()) == pytest.approx(
        sum(m.notional_usd for m in msgs))
    assert export(db, ALL, "csv", str(tmp_path / "x.csv")) == 50
    with open(tmp_path / "x.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 50 and rows[0]["ts_event"] == str(min(m.ts_event for m in msgs))


def test_history_cli_totals_json_rows(store_url):
    write(store_url, [liq(T0, 1e6, "long", "binance", throttled=True), liq(T0 + NS, 2e6, "short", "bybit")])
    res = CliRunner().invoke(main, ["history", "totals", "--url", store_url, "--since", "2025-12-31T00:00:00Z",
                                    "--until", "2026-01-02", "--by", "exchange,side", "--json"])
    assert res.exit_code == 0, res.output
    rows = orjson.loads(res.stdout)
    assert rows == [{"exchange": "bybit", "side": "short", "usd": 2e6, "count": 1},
                    {"exchange": "binance", "side": "long", "usd": 1e6, "count": 1}]
    assert "throttled" in res.stderr


def test_tardis_import_twice_adds_nothing(store_url, tmp_path):
    path = tmp_path / "bybit_liquidations_2026-01-01.csv"
    path.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                    "bybit,BTCUSDT,1767225600000000,1767225600100000,,sell,90000,2\n"
                    "bybit,BTCUSD,1767225601000000,1767225601100000,,buy,90000,45000\n")
    for added in (2, 0):
        res = CliRunner().invoke(main, ["--log-level", "WARNING", "import", "tardis", str(path), "--url", store_url])
        assert res.exit_code == 0, res.output
        assert f"{added} new" in res.stderr
    rows = q.totals(reader(store_url), ALL, ("side",))
    assert {r["side"]: r["usd"] for r in rows} == {"long": 180_000.0, "short": 45_000.0}


def test_backtest_store_replays_a_period_like_the_file(store_url, tmp_path):
    """A cascade imported once into the store and once as JSON lines: `backtest --store` over its period gives
    the same signals as `backtest FILE`."""
    lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    t_us = 1_767_225_600_000_000
    for k in range(400):  # calm, then 40 s of accelerating long liquidations on BTCUSDT
        t = t_us + k * 250_000
        amount = 0.05 if k < 200 else 0.05 * (1 + (k - 200) / 8)
        lines.append(f"bybit,BTCUSDT,{t},{t + 9000},,sell,90000,{amount:.4f}")
    src = tmp_path / "bybit.csv"
    src.write_text("\n".join(lines) + "\n")
    runner = CliRunner(env={"STORE_URL": store_url})
    res = runner.invoke(main, ["--log-level", "WARNING", "import", "tardis", str(src), "--jsonl",
                               str(tmp_path / "c.jsonl")])
    assert res.exit_code == 0, res.output
    from_file = runner.invoke(main, ["--log-level", "WARNING", "backtest", str(tmp_path / "c.jsonl"), "--json"])
    from_store = runner.invoke(main, ["--log-level", "WARNING", "backtest", "--store", "--since",
                                      "2025-12-31T23:00:00Z", "--until", "2026-01-01T01:00:00Z", "--json"])
    assert from_file.exit_code == 0 and from_store.exit_code == 0, from_store.output
    a, b = orjson.loads(from_file.stdout), orjson.loads(from_store.stdout)
    assert a["summary"]["events"] == b["summary"]["events"] == 400
    assert any(s["level"] in ("ALERT", "CRITICAL", "EXTREME") for s in a["signals"])
    assert a["signals"] == b["signals"]


def test_the_dashboard_reads_whole_windows_from_the_store(store_url):
    msgs = [liq(T0 + 10 * NS, 2e6), liq(T0 + 20 * NS, 5e5, "short", "okx", throttled=True),
            liq(T0 - 3 * 3600 * NS, 7e6)]  # 3 h before: in the 4 h and 24 h windows only
    write(store_url, msgs).backend.close()  # the store process holds its file only while writing
    cfg = load_config(None, env={})
    cfg = dataclasses.replace(cfg, store=dataclasses.replace(cfg.store, url=store_url))
    start, now = T0 + 30 * NS, T0 + 60 * NS  # the dashboard started after all three
    stored = StoredTotals(cfg)
    stored.refresh(WINDOWS_S, now, start)
    one, four = stored.latest["1h"], stored.latest["4h"]
    assert (one["long_usd"], one["short_usd"], one["count"]) == (2e6, 5e5, 2)
    assert one["largest"][:4] == [2e6, "BTCUSDT", "long", "bybit"]
    assert (four["long_usd"], four["count"], four["largest"][0]) == (9e6, 3, 7e6)
    state = DashboardState(cfg, start)
    state.stored_totals = stored.latest
    state.apply(topics.liquidation("bybit", "BTCUSDT"), [liq(T0 + 40 * NS, 1e6)], now)  # live, after the start
    day = state.totals(now)["24h"]
    assert (day["long_usd"], day["count"], day["complete"]) == (1e7, 4, True)  # before + since start, once each
    stored.refresh(WINDOWS_S, now, T0 + 15 * NS)  # a later start: only what lies before it comes from the store
    assert stored.latest["1h"]["count"] == 1
