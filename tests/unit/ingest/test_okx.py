"""OKX v5 parser on the verbatim documented frames and on real BTC-USDT-SWAP liquidation sizes."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from common.schema import LONG, SHORT, PriceTick
from ingest import okx_instruments
from ingest.exchanges import okx
from ingest.exchanges.base import BadFrame, ReconnectRequested
from ingest.okx_instruments import Instrument

DATA = Path(__file__).parents[2] / "data" / "okx"
TS = 1_000


def frame(name: str) -> str:
    return (DATA / name).read_text()


@pytest.fixture(autouse=True)
def instruments() -> Iterator[None]:
    # IOST is not in the bundled table; its ctVal here is a test value, the point is sz x ctVal.
    okx.set_instruments({**okx_instruments.bundled(), "IOST-USDT-SWAP": Instrument(1000.0, "linear", "IOST")})
    yield
    okx.set_instruments(okx_instruments.bundled())


def liq_frame(inst_id: str = "BTC-USDT-SWAP", inst_type: str = "SWAP", **detail: object) -> str:
    d = {"bkLoss": "0", "bkPx": "80000", "ccy": "", "posSide": "net", "side": "sell", "sz": "2",
         "ts": "1692266434010", **detail}
    return orjson.dumps({"arg": {"channel": "liquidation-orders", "instType": "SWAP"},
                         "data": [{"details": [d], "instId": inst_id, "instType": inst_type}]}).decode()


def test_doc_frame_buy_short_is_a_short_with_contracts_times_ctval() -> None:
    [liq] = okx.parse(frame("liquidation_orders_swap.json"), TS)
    assert (liq.exchange, liq.symbol, liq.native_symbol) == ("okx", "IOSTUSDT", "IOST-USDT-SWAP")
    assert liq.side == SHORT
    assert liq.price == 0.007831
    assert liq.qty == pytest.approx(13 * 1000.0)
    assert liq.notional_usd == pytest.approx(13 * 1000.0 * 0.007831)
    assert liq.ts_event == 1692266434010 * 1_000_000 and liq.ts_recv == TS
    assert liq.throttled is True


def csv_rows() -> list[dict[str, str]]:
    with open(DATA / "okx_btc_usdt_swap_liquidations_2026-09-06.csv") as fh:
        return list(csv.DictReader(fh))


def test_real_rows_size_is_contracts_times_0_01_btc() -> None:
    rows = csv_rows()
    assert len(rows) == 100
    for row in rows:
        ms = int(datetime.fromisoformat(row["time"]).replace(tzinfo=UTC).timestamp() * 1000)
        raw = liq_frame(bkPx=row["price"], sz=row["size_contracts"], side=row["side"],
                        posSide=row["pos_side"], ts=str(ms), bkLoss=row["loss"])
        [liq] = okx.parse(raw, TS)
        assert liq.side == row["pos_side"]  # the CSV's pos_side is the liquidated position
        assert liq.qty == pytest.approx(float(row["size_contracts"]) * 0.01)
        assert liq.notional_usd == pytest.approx(float(row["size_contracts"]) * 0.01 * float(row["price"]))
        assert liq.symbol == "BTCUSDT" and liq.ts_event == ms * 1_000_000


def test_real_900_contract_liquidation_is_9_btc_long() -> None:
    row = next(r for r in csv_rows() if r["size_contracts"] == "900.0")
    [liq] = okx.parse(liq_frame(bkPx=row["price"], sz=row["size_contracts"], side=row["side"],
                                posSide=row["pos_side"]), TS)
    assert (liq.side, liq.qty) == (LONG, pytest.approx(9.0))


def test_inverse_swap_notional_is_contracts_times_usd_and_qty_is_notional_over_price() -> None:
    [liq] = okx.parse(liq_frame("BTC-USD-SWAP", sz="30", bkPx="60000"), TS)
    assert liq.symbol == "BTCUSDT" and liq.native_symbol == "BTC-USD-SWAP"
    assert liq.notional_usd == pytest.approx(3000.0)
    assert liq.qty == pytest.approx(0.05)


@pytest.mark.parametrize(("side", "pos_side", "expected"), [
    ("sell", "long", LONG), ("buy", "short", SHORT), ("sell", "net", LONG), ("buy", "net", SHORT),
])
def test_side_is_order_side_inverted_and_pos_side_confirms(side: str, pos_side: str, expected: str) -> None:
    [liq] = okx.parse(liq_frame(side=side, posSide=pos_side), TS)
    assert liq.side == expected


def test_contradicting_pos_side_is_bad() -> None:
    with pytest.raises(BadFrame, match="contradicts"):
        okx.parse(liq_frame(side="sell", posSide="short"), TS)


def test_futures_instruments_are_ignored() -> None:
    assert okx.parse(frame("liquidation_orders_futures.json"), TS) == []


def test_unknown_inst_id_is_bad_never_guessed() -> None:
    with pytest.raises(BadFrame, match="no ctVal"):
        okx.parse(liq_frame("PEPE-USDT-SWAP"), TS)


def test_every_detail_of_every_instrument_is_read_and_bad_ones_skipped() -> None:
    msg = orjson.loads(liq_frame())
    d = msg["data"][0]["details"][0]
    msg["data"][0]["details"] = [d, dict(d, sz="NaN"), dict(d, side="buy", posSide="short")]
    msg["data"].append({"details": [dict(d, sz="1")], "instId": "ETH-USDT-SWAP", "instType": "SWAP"})
    msg["data"].append({"details": [d], "instId": "SHIB-USDT-SWAP", "instType": "SWAP"})
    events, skipped = okx.parse_report(orjson.dumps(msg), TS)
    assert [(e.symbol, e.side, e.qty) for e in events] == [
        ("BTCUSDT", LONG, pytest.approx(0.02)), ("BTCUSDT", SHORT, pytest.approx(0.02)),
        ("ETHUSDT", LONG, pytest.approx(0.1))]
    assert len(skipped) == 2


def test_swap_trades_are_price_ticks_in_coins() -> None:
    raw = frame("trades_spot.json").replace('"BTC-USDT"', '"BTC-USDT-SWAP"').replace('"0.0002"', '"3"')
    [tick] = okx.parse(raw, TS)
    assert tick == PriceTick("okx", "BTCUSDT", 30236.0, pytest.approx(0.03), 1652459224818 * 1_000_000, TS)


def test_spot_trades_are_not_perpetuals() -> None:
    with pytest.raises(BadFrame, match="unknown symbol"):
        okx.parse(frame("trades_spot.json"), TS)


@pytest.mark.parametrize("name", ["subscribe_ack.json", "subscribe_ack_2022.json", "pong.txt"])
def test_control_frames_give_nothing(name: str) -> None:
    assert okx.parse(frame(name), TS) == []


def test_error_event_is_a_bad_frame() -> None:
    with pytest.raises(BadFrame, match="60012"):
        okx.parse(frame("error.json"), TS)


def test_notice_64008_requests_a_reconnect() -> None:
    with pytest.raises(ReconnectRequested, match="64008"):
        okx.parse(frame("notice_64008.json"), TS)


def test_other_notices_are_quiet() -> None:
    assert okx.parse('{"event":"notice","code":"64009","msg":"x"}', TS) == []


@pytest.mark.parametrize("detail", [
    {"sz": "NaN"}, {"sz": "0"}, {"sz": "-1"}, {"bkPx": "0"}, {"bkPx": "nan"}, {"bkPx": None}, {"side": "x"},
    {"ts": "0"}, {"ts": None},
])
def test_invalid_values_are_bad_frames(detail: dict[str, object]) -> None:
    with pytest.raises(BadFrame):
        okx.parse(liq_frame(**detail), TS)


@pytest.mark.parametrize("raw", ["", "ping", "garbage", '{"arg":{"channel":"liquidation-orders"},"data":[{',
                                 "[1]", '{"arg":{"channel":"books"},"data":[]}', '{"event":"login"}',
                                 '{"arg":{"channel":"liquidation-orders","instType":"SWAP"},'
                                 '"data":[{"instId":"BTC-USDT-SWAP","instType":"SWAP"}]}'])
def test_garbage_truncated_and_unknown_are_bad_frames(raw: str) -> None:
    with pytest.raises(BadFrame):
        okx.parse(raw, TS)


def test_subscribe_liquidations_of_all_swaps_and_btc_trades() -> None:
    msg, _context = okx.subscribe_messages(("ETHUSDT",), "BTCUSDT")
    assert orjson.loads(msg)["args"] == [{"channel": "liquidation-orders", "instType": "SWAP"},
                                         {"channel": "trades", "instId": "BTC-USDT-SWAP"}]
    assert okx.KEEPALIVE == ("ping", 25.0) and okx.COMPLETENESS == "throttled"


# --- okx_instruments -------------------------------------------------------------------------

INSTRUMENTS_RESPONSE = {"code": "0", "msg": "", "data": [
    {"instId": "BTC-USDT-SWAP", "instType": "SWAP", "ctVal": "0.01", "ctType": "linear", "ctValCcy": "BTC"},
    {"instId": "PEPE-USDT-SWAP", "instType": "SWAP", "ctVal": "10000000", "ctType": "linear",
     "ctValCcy": "PEPE"},
    {"instId": "BTC-USD-SWAP", "instType": "SWAP", "ctVal": "100", "ctType": "inverse", "ctValCcy": "USD"},
    {"instId": "BAD-USDT-SWAP", "instType": "SWAP", "ctVal": "", "ctType": "linear", "ctValCcy": "BAD"},
]}


def test_bundled_table_has_the_major_swaps() -> None:
    t = okx_instruments.bundled()
    assert {k: (v.ct_val, v.ct_type) for k, v in t.items()} == {
        "BTC-USDT-SWAP": (0.01, "linear"), "ETH-USDT-SWAP": (0.1, "linear"), "SOL-USDT-SWAP": (1.0, "linear"),
        "XRP-USDT-SWAP": (100.0, "linear"), "DOGE-USDT-SWAP": (1000.0, "linear"),
        "BTC-USD-SWAP": (100.0, "inverse"), "ETH-USD-SWAP": (10.0, "inverse")}
    assert t["BTC-USD-SWAP"].ct_val_ccy == "USD"


def test_parse_instruments_skips_unusable_rows() -> None:
    t = okx_instruments.parse_instruments(orjson.dumps(INSTRUMENTS_RESPONSE))
    assert set(t) == {"BTC-USDT-SWAP", "PEPE-USDT-SWAP", "BTC-USD-SWAP"}
    assert t["PEPE-USDT-SWAP"] == Instrument(10_000_000.0, "linear", "PEPE")


@pytest.mark.parametrize("doc", [{"code": "50011", "msg": "rate limit", "data": []},
                                 {"code": "0", "data": []}, b"<html>"])
def test_parse_instruments_rejects_errors(doc: object) -> None:
    with pytest.raises(ValueError):
        okx_instruments.parse_instruments(doc)  # type: ignore[arg-type]


def test_refresh_fetches_caches_and_then_fails_soft_offline(tmp_path: Path) -> None:
    src = tmp_path / "instruments.json"
    src.write_bytes(orjson.dumps(INSTRUMENTS_RESPONSE))
    cache = tmp_path / "cache" / "okx.json"
    table = okx_instruments.refresh(src.as_uri(), cache, timeout=1.0)
    assert table["PEPE-USDT-SWAP"].ct_val == 10_000_000.0 and "ETH-USDT-SWAP" in table
    assert cache.exists()
    offline = okx_instruments.refresh((tmp_path / "missing.json").as_uri(), cache, timeout=1.0)
    assert offline["PEPE-USDT-SWAP"].ct_val == 10_000_000.0  # from the cache
    no_cache = okx_instruments.refresh("http://127.0.0.1:9/none", tmp_path / "nocache.json", timeout=0.5)
    assert no_cache == okx_instruments.bundled()


def test_corrupt_cache_falls_back_to_bundled(tmp_path: Path) -> None:
    cache = tmp_path / "okx.json"
    cache.write_text("{not json")
    assert okx_instruments.load(cache) == okx_instruments.bundled()
