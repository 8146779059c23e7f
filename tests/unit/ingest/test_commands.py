"""`liqcascade parse`, `normalize_recorded`, the recording writer and `record` against a local server."""
from __future__ import annotations

import asyncio
import gzip
import zlib
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from common.config import load_config
from ingest.commands import normalize_recorded, parse_command, record
from ingest.exchanges.base import BadFrame
from ingest.recording import HOUR_NS, RecordingWriter

DATA = Path(__file__).parents[2] / "data"
BYBIT_LIQ = (DATA / "bybit" / "all_liquidation_rose.json").read_text()
OKX_LIQ = (DATA / "okx" / "liquidation_orders_swap.json").read_text()
BINANCE_LIQ = ('{"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1634653599186,"o":{"s":"IOTXUSDT",'
               '"S":"SELL","o":"LIMIT","f":"IOC","q":"3661","p":"0.06606","ap":"0.06669","X":"FILLED",'
               '"l":"962","z":"3661","T":1634653599180}}}')
KEYS = ["type", "exchange", "symbol", "native_symbol", "side", "price", "qty", "notional_usd", "ts_event",
        "throttled"]


def one_line(frame: str) -> str:
    return orjson.dumps(orjson.loads(frame)).decode()  # pretty-printed doc frames -> one line


def run(args: list[str], stdin: str | bytes | None = None) -> tuple[int, list[dict], str]:
    result = CliRunner().invoke(parse_command, args, input=stdin)
    out = [orjson.loads(x) for x in result.stdout.splitlines() if x.strip()]
    return result.exit_code, out, result.stderr


def test_parse_stdin_writes_one_json_line_per_liquidation() -> None:
    stdin = "\n".join([one_line(BYBIT_LIQ), '{"success":true,"ret_msg":"pong","op":"ping"}', ""])
    code, out, err = run(["bybit"], stdin)
    assert code == 0 and err == ""
    assert out == [{"type": "liquidation", "exchange": "bybit", "symbol": "ROSEUSDT",
                    "native_symbol": "ROSEUSDT", "side": "short", "price": 0.04499, "qty": 20000.0,
                    "notional_usd": pytest.approx(899.8),
                    "ts_event": 1739502302929 * 1_000_000, "throttled": False}]
    assert list(out[0]) == KEYS


def test_parse_binance_side_and_throttled() -> None:
    code, [liq], _ = run(["binance"], BINANCE_LIQ + "\n")
    assert (liq["side"], liq["qty"], liq["price"], liq["throttled"]) == ("long", 3661.0, 0.06669, True)


def test_bad_frames_warn_and_exit_nonzero_only_when_strict() -> None:
    stdin = one_line(BYBIT_LIQ) + "\n{\"topic\":\"allLiq\n"
    code, out, err = run(["bybit"], stdin)
    assert code == 0 and len(out) == 1 and "warning: line 2" in err
    code, out, _ = run(["bybit", "--strict"], stdin)
    assert code == 1 and len(out) == 1


def test_unknown_exchange_is_a_usage_error() -> None:
    code, _, err = run(["kraken"], "")
    assert code == 2 and "kraken" in err


def test_okx_notice_prints_nothing_and_is_not_an_error() -> None:
    notice = one_line((DATA / "okx" / "notice_64008.json").read_text())
    assert run(["okx", "--strict"], notice + "\n")[:2] == (0, [])


def test_parse_reads_gzip_recordings_with_recorded_ts(tmp_path: Path) -> None:
    path = tmp_path / "okx-20260906T000000Z.jsonl.gz"
    with RecordingWriter(tmp_path, "okx", clock=lambda: 1_000) as w:
        # multi-line raw text is fine inside the JSON string
        w.write(123, OKX_LIQ.replace("IOST-USDT-SWAP", "BTC-USDT-SWAP"))
        w.write(124, "pong")
    path = w.paths[0]
    code, out, err = run(["okx", str(path)])
    assert code == 0 and err == ""
    assert [(d["symbol"], d["side"], d["throttled"]) for d in out] == [("BTCUSDT", "short", True)]
    assert out[0]["qty"] == pytest.approx(0.13)  # 13 contracts x 0.01 BTC


def test_parse_hyperliquid_node_fill_file_dedupes_the_match() -> None:
    path = DATA / "hyperliquid" / "hyperliquid_node_fills_blocks_with_liquidation_2025-10-27.jsonl"
    code, out, _ = run(["hyperliquid", str(path)])
    assert code == 0
    assert [(d["symbol"], d["native_symbol"], d["side"], d["qty"]) for d in out] == [
        ("WLFIUSDT", "WLFI", "short", 890.0)]


def test_recording_of_another_exchange_is_reported() -> None:
    line = orjson.dumps({"ts_recv": 1, "exchange": "bybit", "raw": BYBIT_LIQ}).decode()
    code, out, err = run(["okx", "--strict"], line + "\n")
    assert code == 1 and out == [] and "recorded for 'bybit'" in err


def test_normalize_recorded_line() -> None:
    [d] = normalize_recorded({"ts_recv": 5, "exchange": "bybit", "raw": BYBIT_LIQ})
    assert d["symbol"] == "ROSEUSDT" and d["side"] == "short"
    assert normalize_recorded({"ts_recv": 5, "exchange": "okx", "raw": "pong"}) == []
    with pytest.raises(BadFrame):
        normalize_recorded({"ts_recv": 5, "exchange": "nope", "raw": "x"})
    with pytest.raises(BadFrame):
        normalize_recorded({"ts_recv": 5, "exchange": "bybit", "raw": "garbage"})


# --- RecordingWriter ---------------------------------------------------------------------------

def read_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rb") as fh:
        return [orjson.loads(line) for line in fh]


def test_writer_rotates_by_size_and_by_utc_hour(tmp_path: Path) -> None:
    now = [1_788_000_000 * 10**9]
    w = RecordingWriter(tmp_path, "bybit", rotate_bytes=200, flush_every_s=0.0, clock=lambda: now[0])
    for i in range(50):
        w.write(i, f"frame-{i}-" + "x" * 50)
    now[0] += HOUR_NS
    w.write(99, "next hour")
    w.close()
    w.close()
    assert len(w.paths) >= 3 and len(set(w.paths)) == len(w.paths)
    assert all(p.name.startswith("bybit-") and p.name.endswith(".jsonl.gz") for p in w.paths)
    lines = [x for p in w.paths for x in read_gz(p)]
    assert [x["ts_recv"] for x in lines] == [*range(50), 99]
    assert lines[0] == {"ts_recv": 0, "exchange": "bybit", "raw": "frame-0-" + "x" * 50}
    assert read_gz(w.paths[-1])[-1]["raw"] == "next hour"


def test_flushed_data_is_readable_before_close(tmp_path: Path) -> None:
    w = RecordingWriter(tmp_path, "okx", flush_every_s=0.0, clock=lambda: 10**18)
    w.write(1, "pong")
    data = w.paths[0].read_bytes()  # gzip stream not finished (no trailer) yet
    d = zlib.decompressobj(31).decompress(data)
    assert orjson.loads(d) == {"ts_recv": 1, "exchange": "okx", "raw": "pong"}
    w.close()


# --- record end to end against a local websocket server ----------------------------------------

def test_record_end_to_end_against_local_server(tmp_path: Path) -> None:
    websockets = pytest.importorskip("websockets")

    async def scenario() -> None:
        connections = 0
        second = asyncio.Event()

        async def handler(ws) -> None:  # type: ignore[no-untyped-def]
            nonlocal connections
            connections += 1
            if connections > 1:
                second.set()
                await ws.wait_closed()
                return
            assert orjson.loads(await ws.recv())["op"] == "subscribe"
            await ws.send(one_line(BYBIT_LIQ))
            await ws.send('{"success":true,"ret_msg":"pong","op":"ping"}')
            # closing makes the client reconnect; it only does so after handling both frames

        async with websockets.serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            cfg = load_config(None, {"ingest": {"urls": {"bybit": f"ws://127.0.0.1:{port}"},
                                                "backoff_min_s": 0.01}}, env={})
            stop = asyncio.Event()
            task = asyncio.create_task(record(cfg, ("bybit",), tmp_path, 2**20, stop))
            await asyncio.wait_for(second.wait(), 10)
            stop.set()
            await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    [path] = list(tmp_path.glob("bybit-*.jsonl.gz"))
    lines = read_gz(path)
    assert [x["exchange"] for x in lines] == ["bybit", "bybit"]
    assert normalize_recorded(lines[0])[0]["symbol"] == "ROSEUSDT"
    assert lines[0]["ts_recv"] > 0
