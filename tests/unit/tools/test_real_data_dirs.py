"""`liqcascade real-data` in a fresh clone: without ../shared/data/real it says so and uses tests/data/real."""
from __future__ import annotations

import orjson
from click.testing import CliRunner

from liqcascade.cli import main
from liqcascade.tools import real_data_cli

ENV = {"LIQCASCADE_CONFIG": None, "REDIS_URL": None, "TRACKED_SYMBOLS": None, "LOG_LEVEL": None}


def test_falls_back_to_the_shipped_copies_and_says_so(tmp_path, monkeypatch):
    shipped = real_data_cli.DATA_DIRS[1]
    monkeypatch.setattr(real_data_cli, "DATA_DIRS", (tmp_path / "absent", shipped))
    result = CliRunner().invoke(main, ["real-data", "--dataset", "okx", "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'absent'} is absent; using the excerpts under {shipped}" in result.output
    report = orjson.loads(result.output.splitlines()[-1])
    assert report["datasets"][0]["summary"]["events"] > 0


def test_no_data_anywhere_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(real_data_cli, "DATA_DIRS", (tmp_path / "a", tmp_path / "b"))
    result = CliRunner().invoke(main, ["real-data"], env=ENV)
    assert result.exit_code == 1
    assert result.output.startswith("Error: no real data: neither") and "--data-dir" in result.output
    result = CliRunner().invoke(main, ["real-data", "--data-dir", str(tmp_path / "nope")], env=ENV)
    assert result.exit_code == 1 and result.output == f"Error: --data-dir {tmp_path / 'nope'}: no such directory\n"
