"""Bad input to the real `liqcascade` command: one clear `Error:` line, a non-zero exit, never a traceback."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from liqcascade.cli import main

DATA = Path(__file__).resolve().parents[2] / "data"
CLEAN_ENV = {"LIQCASCADE_CONFIG": None, "REDIS_URL": None, "TRACKED_SYMBOLS": None, "LOG_LEVEL": None,
             "LIQCASCADE_IPC_DIR": None}


def run(*args: str, env: dict[str, str] | None = None, input: bytes | None = None):
    result = CliRunner().invoke(main, list(args), env={**CLEAN_ENV, **(env or {})}, input=input)
    return result.exit_code, result.output, result.exception


def assert_one_line_error(code: int, out: str, exc: BaseException | None, status: int, *needles: str) -> None:
    assert code == status, out
    assert "Traceback" not in out
    assert exc is None or isinstance(exc, SystemExit), repr(exc)
    errors = [line for line in out.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, out
    for needle in needles:
        assert needle in errors[0], (needle, out)


@pytest.mark.parametrize("args", [["parse", "binance"], ["analyze"], ["backtest"]])
def test_missing_file_is_one_line(args, tmp_path):
    missing = str(tmp_path / "nope.jsonl")
    assert_one_line_error(*run(*args, missing), 1, missing, "no such file")


def test_directory_instead_of_a_file(tmp_path):
    assert_one_line_error(*run("analyze", str(tmp_path)), 1, str(tmp_path), "is a directory")


def _liquidation_lines(n: int) -> bytes:
    line = {"type": "liquidation", "exchange": "bybit", "symbol": "BTCUSDT", "side": "long", "price": 100.0,
            "qty": 1.0, "notional_usd": 100.0}
    return b"".join(json.dumps({**line, "ts_event": 1_700_000_000_000_000_000 + i * 10**9}).encode() + b"\n"
                    for i in range(n))


@pytest.mark.parametrize("args", [["parse", "binance"], ["analyze"], ["backtest"]])
def test_truncated_gzip_names_the_file_and_the_line_reached(args, tmp_path):
    whole = gzip.compress(_liquidation_lines(2000))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    code, out, exc = run(*args, str(path))
    assert_one_line_error(code, out, exc, 1, str(path), "truncated or corrupt gzip after line")
    reached = int(out.split("after line ")[1].split()[0])
    assert 0 < reached < 2000


def test_analyze_reads_gzip(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(_liquidation_lines(5)))
    code, out, _ = run("analyze", str(path))
    assert code == 0, out
    snaps = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert snaps and all(s["symbol"] == "BTCUSDT" for s in snaps)


@pytest.mark.parametrize("content, needle", [(b"", "empty"), (b"{not json", "not JSON"),
                                             (b'{"a": 1}', "expected a JSON list"),
                                             (b'[{"symbol": "BTCUSDT"}]', "label 0 lacks start_ns")])
def test_bad_labels(tmp_path, content, needle):
    data = tmp_path / "events.jsonl"
    data.write_bytes(_liquidation_lines(3))
    labels = tmp_path / "labels.json"
    labels.write_bytes(content)
    assert_one_line_error(*run("backtest", str(data), "--labels", str(labels)), 1, str(labels), needle)


def test_missing_labels(tmp_path):
    data = tmp_path / "events.jsonl"
    data.write_bytes(_liquidation_lines(3))
    missing = str(tmp_path / "none.json")
    assert_one_line_error(*run("backtest", str(data), "--labels", missing), 1, missing, "no such file")


def test_log_level_option_is_checked():
    code, out, exc = run("--log-level", "LOUD", "config")
    assert_one_line_error(code, out, exc, 2, "--log-level", "LOUD")


def test_log_level_variable_is_checked():
    assert_one_line_error(*run("config", env={"LOG_LEVEL": "loud"}), 2, "log_level", "'loud'", "DEBUG, INFO")
    code, out, _ = run("config", env={"LOG_LEVEL": "debug"})
    assert code == 0 and json.loads(out)["log_level"] == "DEBUG"


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "junk", "redis://host:99999/0", "redis://host/x"])
def test_redis_url_is_checked(url):
    assert_one_line_error(*run("config", env={"REDIS_URL": url}), 2, "redis.url", "redis://", "rediss://")


def test_bad_windows_and_exchanges_in_a_config_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[analytics]\nwindows = ["10s", "banana"]\n')
    assert_one_line_error(*run("--config", str(path), "config"), 2, "analytics.windows[1]", "banana", "ms, s, m")
    path.write_text('[ingest]\nexchanges = ["binance", "kraken"]\n')
    assert_one_line_error(*run("--config", str(path), "config"), 2, "ingest.exchanges", "kraken",
                          "binance, bybit, okx, hyperliquid")


def test_unknown_exchange_for_up():
    assert_one_line_error(*run("up", "--exchanges", "binance,kraken"), 2, "kraken", "binance, bybit")


def test_parse_pretty_printed_json_says_one_frame_per_line():
    pretty = json.dumps(json.loads((DATA / "binance" / "force_order_btc_1.json").read_text()), indent=2)
    code, out, exc = run("parse", "binance", input=pretty.encode())
    assert_one_line_error(code, out, exc, 1, "no line parsed", "one JSON frame per line")


def test_parse_binary_garbage(tmp_path):
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 40)
    code, out, exc = run("parse", "bybit", str(path))
    assert_one_line_error(code, out, exc, 1, str(path), "one JSON frame per line")
    assert "\x00" not in out and "\x1b" not in out  # garbage is escaped, not written to the terminal


def test_parse_still_prints_good_lines_among_bad_ones():
    good = (DATA / "binance" / "force_order_btc_1.json").read_text().strip()
    code, out, _ = run("parse", "binance", input=f"garbage\n{good}\n".encode())
    assert code == 0, out
    assert "1 bad frame(s) of 2 line(s)" in out
    assert any(line.startswith('{"type":"liquidation"') for line in out.splitlines())


def test_a_password_on_the_command_line_is_warned_about(monkeypatch):
    argv = ["liqcascade", "publish", "--redis-url", "redis://:hunter2@127.0.0.1:1/0", "--help"]
    monkeypatch.setattr("sys.argv", argv)
    code, out, _ = run(*argv[1:])
    assert code == 0 and "password on the command line is visible" in out and "hunter2" not in out
    monkeypatch.setattr("sys.argv", ["liqcascade", "config"])
    assert "password on the command line" not in run("config")[1]


@pytest.mark.parametrize("venue", ["aster", "lighter", "dydx"])
def test_new_venues_parse_their_frames_and_reject_another_venues_in_one_line(venue, tmp_path):
    frames = sorted((DATA / venue).glob("*liquidat*.json")) + sorted((DATA / venue).glob("force_order*.json"))
    code, out, _ = run("parse", venue, str(frames[0]))
    assert code == 0 and json.loads(out.splitlines()[0])["exchange"] == venue
    foreign = tmp_path / "okx.jsonl"
    foreign.write_text((DATA / "okx" / "liquidation_orders_swap.json").read_text())
    assert_one_line_error(*run("parse", venue, str(foreign)), 1, "no line parsed", venue)


def test_ingest_names_the_known_venues_when_the_name_is_wrong():
    assert_one_line_error(*run("ingest", "lightr"), 2, "lightr", "aster", "dydx", "lighter")
