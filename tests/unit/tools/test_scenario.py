"""Scenario writer: Hawkes simulation and labels consistent with the stream."""
from __future__ import annotations

import random

import orjson

from liqcascade.tools.scenario import NS, build, hawkes


def test_hawkes_mean_count_matches_branching_theory():
    rng = random.Random(3)
    mu, alpha, beta, t = 0.5, 0.6, 1.0, 2000.0
    n = len(hawkes(rng, mu, alpha, beta, 0.0, t))
    expected = mu * t / (1 - alpha / beta)  # stationary rate mu / (1 - branching)
    assert abs(n - expected) / expected < 0.15


def test_cascade_labels_are_consistent_with_the_stream(tmp_path):
    data, labels_path = build("cascades", seed=5, count=4).write(tmp_path)
    rows = [orjson.loads(line) for line in data.read_bytes().splitlines()]
    labels = orjson.loads(labels_path.read_bytes())
    assert len(labels) == 4
    ts = [r.get("ts_event", r.get("ts")) for r in rows]
    assert ts == sorted(ts)
    liqs = [r for r in rows if r["type"] == "liquidation"]
    for lb in labels:
        inside = [r for r in liqs if r["symbol"] == lb["symbol"] and lb["start_ns"] <= r["ts_event"] <= lb["end_ns"]]
        assert {r["exchange"] for r in inside} <= set(lb["venues"]) | {"binance", "bybit", "okx"}
        assert {r["exchange"] for r in inside if r["notional_usd"] > 100_000} <= set(lb["venues"])
        same = sum(r["notional_usd"] for r in inside if r["side"] == lb["side"])
        assert same == lb["usd_visible"] or abs(same - lb["usd_visible"]) < 1.0
        assert lb["usd_visible"] <= lb["usd"] and 20e6 <= lb["usd"] <= 200e6
        assert 0 < (lb["end_ns"] - lb["start_ns"]) / NS <= 60
        assert 2 <= len(lb["venues"]) <= 3 and lb["kind"] == "cascade"
    # long cascades come with a falling BTC price
    prices = {r["ts_event"] // NS: r["price"] for r in rows if r["type"] == "price"}
    for lb in labels:
        p0, p1 = prices[lb["start_ns"] // NS - 1], prices[lb["end_ns"] // NS]
        assert (p1 < p0) == (lb["side"] == "long")


def test_throttled_venues_keep_one_event_per_symbol_per_second(tmp_path):
    data, _ = build("cascades", seed=2, count=2).write(tmp_path)
    seen: dict[tuple[str, str, int], int] = {}
    for line in data.read_bytes().splitlines():
        r = orjson.loads(line)
        if r["type"] == "liquidation":
            key = (r["exchange"], r["symbol"], r["ts_event"] // NS)
            seen[key] = seen.get(key, 0) + 1
            assert r["throttled"] == (r["exchange"] in ("binance", "okx"))
    assert max(n for (v, _, _), n in seen.items() if v != "bybit") == 1
    assert max(n for (v, _, _), n in seen.items() if v == "bybit") > 1


def test_whale_and_dropout_labels(tmp_path):
    wdata, wl = build("whales", seed=1, count=6).write(tmp_path)
    whales = orjson.loads(wl.read_bytes())
    assert len(whales) == 3 and all(w["kind"] == "whale" and w["usd"] >= 2e6 for w in whales)
    rows = [orjson.loads(line) for line in wdata.read_bytes().splitlines()]
    for w in whales:
        assert any(r.get("ts_event") == w["start_ns"] and r.get("notional_usd") == w["usd"] for r in rows)
    ddata, dl = build("dropout", seed=1, count=4).write(tmp_path)
    drop = orjson.loads(dl.read_bytes())[0]
    rows = [orjson.loads(line) for line in ddata.read_bytes().splitlines()]
    down = [r for r in rows if r["type"] == "status" and r["exchange"] == drop["dropped"] and not r["connected"]]
    assert down and drop["start_ns"] < down[0]["ts"] < drop["end_ns"]
    late = [r for r in rows if r["type"] == "liquidation" and r["exchange"] == drop["dropped"]
            and r["symbol"] == drop["symbol"] and down[0]["ts"] <= r["ts_event"] <= drop["end_ns"]
            and r["notional_usd"] > 100_000]
    assert late == []


def test_same_seed_same_bytes(tmp_path):
    a, _ = build("whales", seed=9, count=2).write(tmp_path / "a")
    b, _ = build("whales", seed=9, count=2).write(tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
