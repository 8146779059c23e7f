"""The one small interface every store backend implements, and the URL that picks one."""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from common.config import StoreConfig

Row = tuple[Any, ...]


class StoreUnavailable(Exception):
    """The database cannot be reached (or its file is locked) right now: retry later."""


class StoreError(Exception):
    """A store that cannot work as configured (bad URL, missing driver): not worth retrying."""


class Backend(Protocol):
    """A store backend. Queries are written once, with `%s` placeholders and SQL both dialects share."""

    kind: str  # "duckdb" | "postgresql"
    where: str  # for logs and messages (no password)

    def write_batch(self, liqs: Sequence[Row], signals: Sequence[Row]) -> tuple[int, int]:
        """Insert liquidation and signal rows in one transaction (conflicts on the keys are skipped) and
        merge the rows really inserted into the minute rollups; returns (liquidations, signals) added.
        Raises StoreUnavailable when the database cannot be reached."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        """Column names and rows of one read query."""

    def iter_query(self, sql: str, params: Sequence[Any] = (), chunk: int = 50_000) -> Iterator[list[Row]]:
        """Rows of a large read query, in chunks (export, backtest)."""

    def delete_before(self, cutoff_ns: int) -> int:
        """Retention: delete what is older than cutoff_ns; returns liquidation rows removed (approximate
        where whole partitions are dropped)."""

    def close(self) -> None: ...


def store_url(cfg: StoreConfig) -> str:
    """The configured URL, or the embedded DuckDB file under `data_dir`."""
    if cfg.url:
        return cfg.url
    return "duckdb:///" + os.path.join(os.path.expanduser(cfg.data_dir), "history.duckdb").lstrip("/")


def open_backend(url: str, *, read_only: bool = False, hold: bool = True, partitions_ahead_days: int = 2) -> Backend:
    """`duckdb:///abs/path`, `duckdb://rel/path` or `postgresql://...` (also `postgres://`).

    hold=False (DuckDB): open the file only for each operation, so other processes can read it between
    writes (DuckDB allows one writing process or several readers at a time)."""
    if url.startswith("duckdb://"):
        from publisher.store.duckdb_backend import DuckDBBackend

        return DuckDBBackend(url[len("duckdb://"):], read_only=read_only, hold=hold)
    if url.startswith(("postgresql://", "postgres://")):
        from publisher.store.postgres_backend import PostgresBackend

        return PostgresBackend(url, partitions_ahead_days, read_only=read_only)
    raise StoreError(f"unsupported store URL {url!r}: use duckdb:///path/to/file.duckdb or postgresql://...")
