"""Store backends for tests: a DuckDB file per test, and a PostgreSQL database per session (tables dropped per test)."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.redis_server import free_port

PG_ADMIN = os.environ.get("LIQCASCADE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_database():
    """A database of its own on the shared PostgreSQL (trust auth), dropped at the end of the session."""
    name = f"liqcascade_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS liquidations, signals, rollups CASCADE")


@pytest.fixture(params=["duckdb", "postgresql"])
def store_url(request, tmp_path):
    """The same test against each backend."""
    if request.param == "duckdb":
        return f"duckdb:///{str(tmp_path / 'history.duckdb').lstrip('/')}"
    url = request.getfixturevalue("pg_database")
    _reset(url)
    return url


class OwnPostgres:
    """A private PostgreSQL server (initdb in a tmp dir, its own port) that a test may stop and start:
    the shared server is never touched. Runs as the `postgres` user when the tests run as root."""

    def __init__(self, root: Path) -> None:
        bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bindir:
            pytest.fail("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) not found")
        self.bin = bindir[-1]
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)

    def init(self) -> OwnPostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.prefix:
            shutil.chown(self.root, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"),
                  "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def ensure_stopped(self) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
