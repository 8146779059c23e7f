"""Tardis liquidation CSV rows: each venue's units and sides, and clear errors for what cannot be read."""
from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from ingest import okx_instruments
from ingest.symbols import UnknownSymbol
from liqcascade.cli import main
from liqcascade.tools.tardis import BadRow, to_liquidation, venues

HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
TABLE = venues(okx_instruments.bundled())


def row(line: str):
    return to_liquidation(line.split(","), TABLE)


@pytest.mark.parametrize("line, exchange, symbol, side, qty, usd, throttled", [
    # USD-M: amount in coins; a 1000x contract is 1000 coins per unit
    ("binance-futures,BTCUSDT,1704067200123000,1704067200130456,,sell,42000,0.5", "binance", "BTCUSDT", "long",
     0.5, 21_000.0, True),
    ("binance-futures,1000PEPEUSDT,1704067200123000,1704067200130456,,buy,0.0012,1000000", "binance", "PEPEUSDT",
     "short", 1e9, 1_200.0, True),
    # COIN-M: contracts of $100 (BTC) and $10 (others)
    ("binance-delivery,BTCUSD_PERP,1704067200123000,1704067200130456,,sell,40000,3", "binance", "BTCUSDT", "long",
     0.0075, 300.0, True),
    ("binance-delivery,ETHUSD_PERP,1704067200123000,1704067200130456,,buy,2000,50", "binance", "ETHUSDT", "short",
     0.25, 500.0, True),
    # Bybit: linear in coins, inverse in USD
    ("bybit,ETHUSDT,1704067200123000,1704067200130456,,sell,2000,1.5", "bybit", "ETHUSDT", "long", 1.5, 3_000.0,
     False),
    ("bybit,BTCUSD,1704067200123000,1704067200130456,,buy,40000,20000", "bybit", "BTCUSDT", "short", 0.5, 20_000.0,
     False),
    # OKX swaps: contracts x ctVal (0.01 BTC linear; $100 inverse)
    ("okex-swap,BTC-USDT-SWAP,1704067200123000,1704067200130456,,sell,40000,25", "okx", "BTCUSDT", "long", 0.25,
     10_000.0, True),
    ("okex-swap,BTC-USD-SWAP,1704067200123000,1704067200130456,,buy,40000,8", "okx", "BTCUSDT", "short", 0.02,
     800.0, True),
    # BitMEX: XBTUSD $1 contracts; XBTUSDT 0.000001 XBT contracts
    ("bitmex,XBTUSD,1704067200123000,1704067200130456,,sell,40000,53730", "bitmex", "BTCUSDT", "long", 1.34325,
     53_730.0, False),
    ("bitmex,XBTUSDT,1704067200123000,1704067200130456,,buy,40000,2000000", "bitmex", "BTCUSDT", "short", 2.0,
     80_000.0, False),
    # Deribit: inverse perpetuals in USD, USDC linear perpetuals in coins
    ("deribit,BTC-PERPETUAL,1704067200123000,1704067200130456,,sell,40000,12000", "deribit", "BTCUSDT", "long",
     0.3, 12_000.0, False),
    ("deribit,SOL_USDC-PERPETUAL,1704067200123000,1704067200130456,,buy,100,7", "deribit", "SOLUSDT", "short", 7.0,
     700.0, False),
])
def test_units_and_sides_per_venue(line, exchange, symbol, side, qty, usd, throttled):
    m = row(line)
    assert (m.exchange, m.symbol, m.native_symbol, m.side, m.throttled) == (
        exchange, symbol, line.split(",")[1], side, throttled)
    assert m.qty == pytest.approx(qty) and m.notional_usd == pytest.approx(usd)
    assert m.price * m.qty == pytest.approx(usd)
    assert (m.ts_event, m.ts_recv) == (1704067200123000000, 1704067200130456000)  # microseconds -> ns


@pytest.mark.parametrize("line", [
    "kraken-futures,PI_XBTUSD,1704067200123000,1704067200130456,,sell,40000,1",  # exchange not supported
    "binance-futures,BTCUSDT_240329,1704067200123000,1704067200130456,,sell,40000,1",  # dated future
    "binance-delivery,BTCUSD_240329,1704067200123000,1704067200130456,,sell,40000,1",
    "okex-swap,PEPE-USDT-SWAP,1704067200123000,1704067200130456,,sell,0.001,1",  # no ctVal known
    "bitmex,ETHUSD,1704067200123000,1704067200130456,,sell,2000,1",  # quanto
    "deribit,BTC-29MAR24,1704067200123000,1704067200130456,,sell,40000,10",
])
def test_unknown_exchanges_and_symbols_are_refused(line):
    with pytest.raises(UnknownSymbol):
        row(line)


@pytest.mark.parametrize("line", [
    "bybit,BTCUSDT,1704067200123000,1704067200130456,,hold,40000,1",
    "bybit,BTCUSDT,1704067200123000,1704067200130456,,sell,-1,1",
    "bybit,BTCUSDT,17040672001x,1704067200130456,,sell,40000,1",
    "bybit,BTCUSDT,1704067200123000,1704067200130456,sell,40000,1",
])
def test_malformed_rows_are_bad_rows(line):
    with pytest.raises(BadRow):
        row(line)


def test_import_writes_backtest_json_lines(tmp_path):
    src = tmp_path / "deribit.csv"
    src.write_text(HEADER + "deribit,BTC-PERPETUAL,1704067200123000,1704067200130456,1,sell,40000,12000\n")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(main, ["import", "tardis", str(src), "--no-store", "--jsonl", str(out)])
    assert res.exit_code == 0, res.output
    (d,) = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert d["type"] == "liquidation" and d["notional_usd"] == 12000.0 and d["side"] == "long"
    from liqcascade.tools.backtest import to_message
    assert to_message(d).notional_usd == 12000.0  # what backtest reads


@pytest.mark.parametrize("body, message", [
    (HEADER + "ftx,BTC-PERP,1704067200123000,1704067200130456,,sell,40000,1\n", ":2: unknown exchange 'ftx'"),
    (HEADER + "bitmex,ETHUSD,1704067200123000,1704067200130456,,sell,2000,1\n", ":2: unknown ETHUSD"),
    ("time,price\n1,2\n", ":1: not a Tardis liquidations CSV"),
    (HEADER + "bybit,BTCUSDT,1704067200123000,1704067200130456,,sell,abc,1\n", ":2: bad number"),
])
def test_import_errors_are_one_line_and_nonzero(tmp_path, body, message):
    src = tmp_path / "x.csv"
    src.write_text(body)
    res = CliRunner().invoke(main, ["import", "tardis", str(src), "--no-store", "--jsonl", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert message in res.output and "Traceback" not in res.output
    assert len([ln for ln in res.output.splitlines() if ln.startswith("Error")]) == 1
