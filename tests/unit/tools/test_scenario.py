"""Scenario streams: each class has the properties it claims, labels cover the injections, seeds and splits."""
from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from liqcascade.cli import main
from liqcascade.tools.scenario import KINDS, NS, POSITIVE_KINDS, T0, build, hawkes

SMALL = {"hours": 1.0, "count": 4}


def rows_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def written(kind: str, tmp: Path, seed: int = 1, split: str = "train", **kw: Any):
    kw = {**SMALL, **kw}
    data, labels = build(kind, seed, kw["hours"], kw["count"], split).write(tmp)
    return rows_of(data), orjson.loads(labels.read_bytes())


def liqs(rows):
    return [r for r in rows if r["type"] == "liquidation"]


def btc_at(rows) -> dict[int, float]:
    return {r["ts_event"] // NS: r["price"] for r in rows if r["type"] == "price"}


def test_hawkes_mean_count_matches_branching_theory():
    rng = random.Random(3)
    mu, alpha, beta, t = 0.5, 0.6, 1.0, 2000.0
    n = len(hawkes(rng, mu, alpha, beta, 0.0, t))
    expected = mu * t / (1 - alpha / beta)  # stationary rate mu / (1 - branching)
    assert abs(n - expected) / expected < 0.15


@pytest.mark.parametrize("kind", KINDS)
def test_throttled_venues_never_exceed_one_event_per_symbol_second(kind, tmp_path):
    rows, labels = written(kind, tmp_path)
    seen = Counter((r["exchange"], r["symbol"], r["ts_event"] // NS) for r in liqs(rows) if "ts_recv" not in r
                   or r["ts_recv"] == r["ts_event"])
    copies = 2 if kind == "duplicates" else 1
    assert max((n for (v, _, _), n in seen.items() if v in ("binance", "okx")), default=0) <= copies
    assert all(r["throttled"] == (r["exchange"] in ("binance", "okx")) for r in liqs(rows))
    ts = [r.get("ts_recv") or r.get("ts_event") or r["ts"] for r in rows]
    assert ts == sorted(ts)
    for lb in labels:
        assert lb["class"] == lb["kind"] and lb["positive"] == (kind in POSITIVE_KINDS or lb["class"] == "cascade")


@pytest.mark.parametrize("kind", POSITIVE_KINDS)
def test_labels_cover_the_injected_cascades(kind):
    st = build(kind, 2, count=4)  # the truth, before throttling and sampling
    assert st.labels and all(lb["positive"] for lb in st.labels)
    for lb in st.labels:
        usd = sum(d["notional_usd"] for d in st.liqs if d["symbol"] == lb["symbol"] and d["side"] == lb["side"]
                  and lb["start_ns"] <= d["ts_event"] <= lb["end_ns"])
        assert usd >= (0.5 if kind == "dropout" else 0.85) * lb["usd"], lb


def test_cascade_class_is_20m_within_60s_on_two_venues_with_the_price(tmp_path):
    rows, labels = written("cascades", tmp_path, seed=5)
    prices = btc_at(rows)
    for lb in labels:
        assert lb["class"] == "cascade" and 20e6 <= lb["usd"] <= 200e6 and len(lb["venues"]) >= 2
        assert 0 < (lb["end_ns"] - lb["start_ns"]) / NS <= 60 and lb["usd_visible"] <= lb["usd"]
        p0, p1 = prices[lb["start_ns"] // NS - 1], prices[lb["end_ns"] // NS]
        assert (p1 < p0) == (lb["side"] == "long")  # longs go into a falling price


def test_squeeze_is_shorts_into_a_rising_price_and_grind_is_slow(tmp_path):
    rows, labels = written("squeeze", tmp_path)
    prices = btc_at(rows)
    for lb in labels:
        assert lb["side"] == "short" and prices[lb["end_ns"] // NS] > prices[lb["start_ns"] // NS - 1] * 1.005
    _, grind = written("grind", tmp_path)
    assert all(200 <= (lb["end_ns"] - lb["start_ns"]) / NS <= 360 and 25e6 <= lb["usd"] <= 40e6 for lb in grind)
    _, flash = written("flash", tmp_path)
    assert all((lb["end_ns"] - lb["start_ns"]) / NS <= 10 for lb in flash)


def test_throttled_only_is_saturated_on_binance_okx_with_rising_usd_per_event(tmp_path):
    rows, labels = written("throttled_only", tmp_path, count=6)
    events = liqs(rows)
    modes, rises = set(), []
    for lb in labels:
        modes.add(lb["mode"])
        inside = [r for r in events if r["symbol"] == lb["symbol"] and lb["start_ns"] <= r["ts_event"] <= lb["end_ns"]]
        assert not [r for r in inside if r["exchange"] in ("bybit", "hyperliquid") and r["notional_usd"] > 100_000]
        seconds = range(lb["start_ns"] // NS + 1, lb["end_ns"] // NS)
        for venue in ("binance", "okx"):
            busy = {r["ts_event"] // NS for r in inside if r["exchange"] == venue}
            assert len(busy & set(seconds)) >= 0.8 * len(seconds)  # an event nearly every second
        usd = [math.log(r["notional_usd"]) for r in inside if r["side"] == lb["side"]]
        third = len(usd) // 3
        rises.append(statistics.mean(usd[-third:]) - statistics.mean(usd[:third]))
        if lb["mode"] == "absent":
            downs = [r for r in rows if r["type"] == "status" and not r["connected"]
                     and lb["start_ns"] - 60 * NS <= r["ts"] <= lb["end_ns"]]
            assert {r["exchange"] for r in downs} == {"bybit", "hyperliquid"}
    assert modes == {"quiet", "absent"}
    assert min(rises) > 0 and statistics.mean(rises) > math.log(2)  # USD per event rises along the burst


def test_single_venue_and_alt_classes(tmp_path):
    rows, labels = written("single_venue", tmp_path)
    for lb in labels:
        big = [r for r in liqs(rows) if r["symbol"] == lb["symbol"] and r["notional_usd"] > 200_000
               and lb["start_ns"] <= r["ts_event"] <= lb["end_ns"]]
        assert lb["venues"] == ["bybit"] and {r["exchange"] for r in big} == {"bybit"}
    _, alts = written("alt", tmp_path)
    assert all(lb["symbol"] not in ("BTCUSDT", "ETHUSDT") and 3e6 <= lb["usd"] <= 15e6 for lb in alts)


def test_second_wave_follows_a_first_cascade(tmp_path):
    _, labels = written("second_wave", tmp_path)
    first = [lb for lb in labels if lb["class"] == "cascade"]
    second = [lb for lb in labels if lb["class"] == "second_wave"]
    assert len(first) == len(second) == 4
    for a, b in zip(first, second, strict=True):
        assert a["symbol"] == b["symbol"] and 30 <= (b["start_ns"] - a["end_ns"]) / NS <= 300


def test_whale_pieces_are_one_venue_and_side_within_a_second(tmp_path):
    rows, labels = written("split_whales", tmp_path, count=8)
    for lb in labels:
        pieces = [r for r in liqs(rows) if r["symbol"] == lb["symbol"] and r["notional_usd"] > 100_000
                  and lb["start_ns"] <= r["ts_event"] <= lb["end_ns"]]
        assert 1 <= len(pieces) <= 3 and (lb["end_ns"] - lb["start_ns"]) / NS < 1.0
        assert {(r["exchange"], r["side"]) for r in pieces} == {(lb["venues"][0], lb["side"])}
        prices = [r["price"] for r in pieces]
        assert max(prices) / min(prices) - 1 < 3e-4
        if lb["venues"] == ["bybit"]:  # a complete feed shows every piece
            assert len(pieces) >= 2
    _, pairs = written("whale_pairs", tmp_path)
    for lb in pairs:
        assert len(lb["venues"]) == 2 and 15 <= (lb["end_ns"] - lb["start_ns"]) / NS <= 25


def test_duplicates_deliver_every_event_twice(tmp_path):
    rows, _ = written("duplicates", tmp_path)
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for r in liqs(rows):
        by_key[(r["exchange"], r["symbol"], r["side"], r["ts_event"], r["qty"], r["price"])].append(r)
    assert by_key and all(len(v) == 2 for v in by_key.values())
    kinds = Counter()
    for a, b in by_key.values():
        late = (b.get("ts_recv", b["ts_event"]) - b["ts_event"]) / NS
        kinds["identical" if a == b else "late"] += 1
        assert a == b or 0.1 <= late <= 0.6
    assert kinds["identical"] > 0 and kinds["late"] > 0


def test_price_spike_moves_one_percent_with_little_liquidated(tmp_path):
    rows, labels = written("spikes", tmp_path)
    prices = btc_at(rows)
    by_start = defaultdict(list)
    for lb in labels:
        assert not lb["positive"] and lb["class"] == "spike"
        by_start[lb["start_ns"] // (300 * NS)].append(lb)
    for group in by_start.values():
        assert {lb["symbol"] for lb in group} == {"BTCUSDT", "ETHUSDT"}
        assert 1e6 <= sum(lb["usd"] for lb in group) <= 2e6
        btc = next(lb for lb in group if lb["symbol"] == "BTCUSDT")
        assert 10 <= (btc["end_ns"] - btc["start_ns"]) / NS <= 40
        lo = btc["start_ns"] // NS - 2
        move = prices[lo + 45] / prices[lo] - 1
        assert 0.006 <= abs(move) <= 0.014 and (move < 0) == (btc["side"] == "long")


def realized_vol(prices: list[float]) -> float:
    r = [math.log(b / a) for a, b in zip(prices, prices[1:], strict=False)]
    return statistics.pstdev(r) * math.sqrt(365 * 86400)


def test_chop_is_volatile_with_two_sided_flow_and_swing_clusters(tmp_path):
    rows, labels = written("chop", tmp_path, hours=2.0)
    assert realized_vol([r["price"] for r in rows if r["type"] == "price"]) > 1.0
    sides = Counter(r["side"] for r in liqs(rows))
    assert min(sides.values()) > 0.35 * sum(sides.values())
    assert len(labels) >= 15  # a swing every 2-6 minutes
    assert all(0.3 <= abs(lb["move_pct"]) <= 0.6 and 0.5e6 <= lb["usd"] <= 2e6 for lb in labels)
    _, calm = written("calm", tmp_path, hours=2.0)
    assert len(liqs(rows)) > 2.5 * len(liqs(rows_of(tmp_path / "calm.jsonl")))


def test_dense_chop_packs_each_cluster_into_seconds_and_stays_out_of_the_suite(tmp_path):
    """The stress stream: chop's swings and dollars, each one-sided cluster within 2-5 s (plain chop's spans its
    10-60 s swing); written only when named, never judged with the suite."""
    rows, labels = written("dense_chop", tmp_path, hours=2.0)
    assert len(labels) >= 15 and all(0.5e6 <= lb["usd"] <= 2e6 for lb in labels)
    assert {lb["class"] for lb in labels} == {"chop_swing"}
    assert max((lb["end_ns"] - lb["start_ns"]) / NS for lb in labels) <= 5.0
    _, plain = written("chop", tmp_path, hours=2.0)
    assert statistics.median((lb["end_ns"] - lb["start_ns"]) / NS for lb in plain) > 8.0
    assert "dense_chop" not in KINDS
    res = CliRunner().invoke(main, ["scenario", "--out", str(tmp_path / "cli"), "--hours", "0.2",
                                    "--kind", "dense_chop"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cli" / "dense_chop.labels.json").exists()


def test_dense_chop_takes_the_seconds_its_clusters_are_packed_into(tmp_path):
    """`--cluster-s 5-10`: the README's compact-chop figures come from this command, not a script."""
    res = CliRunner().invoke(main, ["scenario", "--out", str(tmp_path), "--hours", "2", "--kind", "dense_chop",
                                    "--cluster-s", "5-10"])
    assert res.exit_code == 0, res.output
    spans = [(lb["end_ns"] - lb["start_ns"]) / NS
             for lb in json.loads((tmp_path / "dense_chop.labels.json").read_text())]
    assert len(spans) >= 15 and max(spans) <= 10.0 and statistics.median(spans) > 5.0
    for bad, said in ((["--kind", "dense_chop", "--cluster-s", "10-5"], "0 < LO <= HI"),
                      (["--kind", "dense_chop", "--cluster-s", "five"], "LO-HI seconds"),
                      (["--kind", "chop", "--cluster-s", "5-10"], "dense_chop alone")):
        res = CliRunner().invoke(main, ["scenario", "--out", str(tmp_path / "bad"), *bad])
        assert res.exit_code == 2 and said in res.output and "Traceback" not in res.output


def test_baseline_rises_in_flow_and_volatility(tmp_path):
    rows, labels = written("baseline", tmp_path, hours=4.0)
    assert labels == []
    hour = 3600 * NS
    first = [r for r in rows if r.get("ts_event", 0) < T0 * NS + hour]
    last = [r for r in rows if r.get("ts_event", 0) >= T0 * NS + 3 * hour]
    assert len(liqs(last)) > 2.0 * len(liqs(first))
    vol = [realized_vol([r["price"] for r in part if r["type"] == "price"]) for part in (first, last)]
    assert vol[1] > 1.8 * vol[0]


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path):
    a, _ = build("whale_pairs", seed=9, count=2).write(tmp_path / "a")
    b, _ = build("whale_pairs", seed=9, count=2).write(tmp_path / "b")
    c, _ = build("whale_pairs", seed=10, count=2).write(tmp_path / "c")
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("kind", ["cascades", "throttled_only", "chop", "split_whales"])
def test_heldout_draws_are_disjoint_from_training(kind):
    train = build(kind, 1, hours=1.0, count=6, split="train")
    held = build(kind, 1, hours=1.0, count=6, split="heldout")
    key = {(lb["start_ns"], round(lb["usd"])) for lb in train.labels}
    assert key and not key & {(lb["start_ns"], round(lb["usd"])) for lb in held.labels}
    assert {(d["ts_event"], d["notional_usd"]) for d in train.liqs}.isdisjoint(
        {(d["ts_event"], d["notional_usd"]) for d in held.liqs})


def test_scenario_cli_writes_a_suite_with_both_splits(tmp_path):
    res = CliRunner().invoke(main, ["scenario", "--suite", str(tmp_path), "--hours", "0.2", "--count", "1",
                                    "--kind", "whales", "--kind", "flash"])
    assert res.exit_code == 0, res.output
    manifest = orjson.loads((tmp_path / "suite.json").read_bytes())
    assert [e["kind"] for e in manifest["splits"]["heldout"]] == ["whales", "flash"]
    train, held = (tmp_path / split / "flash.labels.json" for split in ("train", "heldout"))
    assert train.read_bytes() != held.read_bytes()
    bad = CliRunner().invoke(main, ["scenario"])
    assert bad.exit_code != 0 and "exactly one of" in bad.output


def test_hyperliquid_is_a_sample_of_its_flow(tmp_path):
    st = build("cascades", 4, count=6)
    truth = sum(1 for d in st.liqs if d["exchange"] == "hyperliquid")
    rows, _ = written("cascades", tmp_path, seed=4, count=6)
    seen = [r for r in liqs(rows) if r["exchange"] == "hyperliquid"]
    assert truth > 200 and 0.08 * truth < len(seen) < 0.25 * truth
    assert all(r["native_symbol"] == r["symbol"].removesuffix("USDT") and not r["throttled"] for r in seen)


def test_dropout_venue_disconnects_halfway_and_goes_silent(tmp_path):
    rows, labels = written("dropout", tmp_path, seed=1)
    for lb in labels:
        assert lb["class"] == "dropout" and lb["venues"] == ["binance", "bybit", "okx"]
        down = [r for r in rows if r["type"] == "status" and r["exchange"] == lb["dropped"] and not r["connected"]
                and lb["start_ns"] <= r["ts"] <= lb["end_ns"]]
        assert down
        late = [r for r in liqs(rows) if r["exchange"] == lb["dropped"] and down[0]["ts"] <= r["ts_event"]
                <= down[0]["ts"] + 55 * NS]
        assert late == []
