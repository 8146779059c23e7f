"""Shared fixtures: fixture-file loading and an isolated pipeline config per test."""
from __future__ import annotations

from pathlib import Path

import pytest

from common.config import Config, load_config

DATA = Path(__file__).parent / "data"


def fixture_text(rel: str) -> str:
    return (DATA / rel).read_text()


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    """Defaults with ipc endpoints under this test's tmp dir, and no environment leaking in."""
    return load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path / "ipc")}}, env={})
