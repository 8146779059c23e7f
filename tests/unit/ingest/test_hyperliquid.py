"""Hyperliquid parser: watched-user liquidation fills, node fill files, dedupe and ADL."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from common.schema import LONG, SHORT, PriceTick
from ingest import hyperliquid_fills
from ingest.exchanges import hyperliquid
from ingest.exchanges.base import BadFrame
from ingest.exchanges.hyperliquid import FillDeduper

DATA = Path(__file__).parents[2] / "data" / "hyperliquid"
NODE_FILE = DATA / "hyperliquid_node_fills_blocks_with_liquidation_2025-10-27.jsonl"
TS = 1_000
LIQUIDATED = "0xa59f55114ccb120487c4fb5766cb89b123c13563"
MAKER = "0x622450a3048ae44a5c54e2b54c91b082313e1d23"


def frame(name: str) -> str:
    return (DATA / name).read_text()


def node_pairs() -> list[tuple[str, dict]]:
    return [(u, f) for u, f in orjson.loads(NODE_FILE.read_text())["events"] if "liquidation" in f]


def user_fills(user: str, *fills: dict, snapshot: bool = False) -> str:
    return orjson.dumps({"channel": "userFills",
                         "data": {"isSnapshot": snapshot, "user": user, "fills": list(fills)}}).decode()


@pytest.fixture(autouse=True)
def no_users() -> Iterator[None]:
    yield
    hyperliquid.set_users(())


def test_counterparty_maker_fill_is_inverted_short() -> None:
    [liq] = hyperliquid.parse(frame("user_fill_liquidation.json"), TS)
    assert (liq.exchange, liq.symbol, liq.native_symbol, liq.side) == ("hyperliquid", "BTCUSDT", "BTC", SHORT)
    assert (liq.price, liq.qty) == (66653.0, 0.001)
    assert liq.notional_usd == pytest.approx(66.653)
    assert liq.ts_event == 1781528065899 * 1_000_000 and liq.throttled is False


def test_both_sides_of_one_real_match_give_the_same_liquidation() -> None:
    (own_user, own), (maker_user, maker) = node_pairs()
    [a] = hyperliquid.parse(user_fills(own_user, own), TS)
    [b] = hyperliquid.parse(user_fills(maker_user, maker), TS)
    assert a == b
    assert (a.symbol, a.side, a.price, a.qty) == ("WLFIUSDT", SHORT, 0.15327, 890.0)


def test_own_fill_sold_is_a_long() -> None:
    _, own = node_pairs()[0]
    fill = dict(own, side="A", dir="Close Long")
    [liq] = hyperliquid.parse(user_fills(LIQUIDATED, fill), TS)
    assert liq.side == LONG


def test_owner_unknown_uses_crossed_and_liquidated_dir() -> None:
    (_, own), (_, maker) = node_pairs()
    frame_ = orjson.dumps({"channel": "user", "data": {"fills": [own, maker]}}).decode()
    assert [e.side for e in hyperliquid.parse(frame_, TS)] == [SHORT, SHORT]
    backstop = dict(own, side="A", dir="Liquidated Cross Long", crossed=False)
    [liq] = hyperliquid.parse(orjson.dumps({"channel": "user", "data": {"fills": [backstop]}}), TS)
    assert liq.side == LONG


def test_deduper_keeps_one_event_per_match() -> None:
    (own_user, own), (maker_user, maker) = node_pairs()
    dd = FillDeduper()
    first = dd.filter(hyperliquid.parse_keyed(user_fills(own_user, own), TS))
    again = dd.filter(hyperliquid.parse_keyed(user_fills(maker_user, maker), TS))
    assert len(first) == 1 and again == [] and dd.dropped == 1
    other_slice = dict(maker, tid=1)  # another maker matched by the same liquidation order (same hash)
    assert len(dd.filter(hyperliquid.parse_keyed(user_fills(maker_user, other_slice), TS))) == 1


def test_deduper_is_bounded() -> None:
    dd = FillDeduper(capacity=2)
    for i in range(3):
        assert dd.first((str(i), "u", "BTC"))
    assert dd.first(("0", "u", "BTC"))  # evicted, so new again
    assert len(dd._seen) == 2


def test_snapshot_fills_are_history_not_live() -> None:
    _, own = node_pairs()[0]
    assert hyperliquid.parse(user_fills(LIQUIDATED, own, snapshot=True), TS) == []


def test_ordinary_fills_are_not_liquidations() -> None:
    fill = {k: v for k, v in node_pairs()[0][1].items() if k != "liquidation"}
    assert hyperliquid.parse(user_fills(LIQUIDATED, fill), TS) == []


def test_adl_fill_is_excluded_and_reported_separately() -> None:
    _, own = node_pairs()[1]
    adl = dict(own, dir="Auto-Deleveraging")
    assert hyperliquid.parse(user_fills(MAKER, adl), TS) == []
    result = hyperliquid.parse_fills([(MAKER, adl)], TS)
    assert result.keyed == [] and len(result.adl) == 1
    assert (result.adl[0].symbol, result.adl[0].qty) == ("WLFIUSDT", 890.0)


def test_kpepe_is_per_coin_with_notional_unchanged() -> None:
    _, own = node_pairs()[0]
    [liq] = hyperliquid.parse(user_fills(LIQUIDATED, dict(own, coin="kPEPE", px="0.0125", sz="1000")), TS)
    assert (liq.symbol, liq.native_symbol, liq.qty) == ("PEPEUSDT", "kPEPE", 1_000_000.0)
    assert liq.price == pytest.approx(0.0000125) and liq.notional_usd == pytest.approx(12.5)


@pytest.mark.parametrize("bad", [{"px": "NaN"}, {"px": "0"}, {"sz": "-1"}, {"sz": None}, {"side": "X"},
                                 {"coin": "xyz:CRWV"}, {"coin": "@107"}, {"time": None},
                                 {"liquidation": {"markPx": "1"}}, {"tid": None, "hash": None}])
def test_invalid_liquidation_fills_are_bad_frames(bad: dict) -> None:
    _, own = node_pairs()[0]
    with pytest.raises(BadFrame):
        hyperliquid.parse(user_fills(LIQUIDATED, dict(own, **bad)), TS)


def test_one_bad_fill_is_skipped_when_others_are_good() -> None:
    (_, own), (_, maker) = node_pairs()
    events = hyperliquid.parse(user_fills(LIQUIDATED, dict(own, px="NaN"), dict(maker, tid=5)), TS)
    assert len(events) == 1


def test_trades_are_price_ticks() -> None:
    [tick] = hyperliquid.parse(frame("trades_btc.json"), TS)
    assert tick == PriceTick("hyperliquid", "BTCUSDT", 106296.0, 0.00017, 1751430933565 * 1_000_000, TS)


@pytest.mark.parametrize("name", ["subscription_response.json", "greeting.txt", "pong.json"])
def test_control_frames_give_nothing(name: str) -> None:
    assert hyperliquid.parse(frame(name), TS) == []


def test_error_channel_is_a_bad_frame() -> None:
    with pytest.raises(BadFrame, match="Error parsing JSON"):
        hyperliquid.parse(frame("error.json"), TS)


@pytest.mark.parametrize("raw", ["", "garbage", '{"channel":"userFills","data":{"fills":[{', "[]",
                                 '{"channel":"allMids","data":{}}', '{"channel":"trades","data":[]}'])
def test_garbage_and_truncated_are_bad_frames(raw: str) -> None:
    with pytest.raises(BadFrame):
        hyperliquid.parse(raw, TS)


def test_subscribe_btc_trades_and_each_user() -> None:
    hyperliquid.set_users(["0x2E3D94F0562703B25C83308A05046DDAF9A8DD14", LIQUIDATED])
    msgs = [orjson.loads(m) for m in hyperliquid.subscribe_messages((), "BTCUSDT")]
    assert msgs[0] == {"method": "subscribe", "subscription": {"type": "trades", "coin": "BTC"}}
    assert [m["subscription"]["user"] for m in msgs if "user" in m["subscription"]] == [
        "0x2e3d94f0562703b25c83308a05046ddaf9a8dd14", LIQUIDATED]
    assert len(hyperliquid.subscribe_messages(("BTCUSDT",), "BTCUSDT", users=[])) == 2  # trades + activeAssetCtx


def test_set_users_rejects_bad_addresses_and_more_than_ten() -> None:
    with pytest.raises(ValueError, match="address"):
        hyperliquid.set_users(["0x123"])
    with pytest.raises(ValueError, match="at most 10"):
        hyperliquid.set_users([f"0x{i:040x}" for i in range(11)])


# --- node --write-fills files ---------------------------------------------------------------

def test_real_node_block_gives_one_deduplicated_short_liquidation() -> None:
    block = hyperliquid_fills.parse_line(NODE_FILE.read_bytes().strip(), TS)
    assert block.block_number == 777010856 and block.skipped == [] and block.adl == []
    [liq] = block.liquidations
    assert (liq.symbol, liq.native_symbol, liq.side) == ("WLFIUSDT", "WLFI", SHORT)
    assert (liq.price, liq.qty) == (0.15327, 890.0)
    assert liq.ts_event == 1761584402387 * 1_000_000


def test_node_pair_line_and_shared_deduper_across_lines() -> None:
    (own_user, own), (maker_user, maker) = node_pairs()
    dd = FillDeduper()
    a = hyperliquid_fills.parse_line(orjson.dumps([own_user, own]), TS, dd)
    b = hyperliquid_fills.parse_line(orjson.dumps([maker_user, maker]), TS, dd)
    assert len(a.liquidations) == 1 and b.liquidations == []


def test_node_adl_counter() -> None:
    (own_user, own), (maker_user, maker) = node_pairs()
    events = [[maker_user, dict(maker, dir="Auto-Deleveraging")],
              [own_user, dict(own, dir="Auto-Deleveraging", tid=2)]]
    line = orjson.dumps({"block_number": 1, "events": events})
    block = hyperliquid_fills.parse_line(line, TS)
    counter = hyperliquid_fills.AdlCounter()
    assert counter.add(block.adl) == 2 and block.liquidations == []
    assert counter.total == 2
    assert counter.snapshot() == {
        "WLFIUSDT/short": {"count": 2.0, "notional_usd": pytest.approx(2 * 890 * 0.15327)}}


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2, 3]", b'{"events": 5}'])
def test_bad_node_lines(raw: bytes) -> None:
    with pytest.raises(BadFrame):
        hyperliquid_fills.parse_line(raw, TS)
