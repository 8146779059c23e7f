"""The embedded backend: one DuckDB file, batches loaded through Arrow (no per-row SQL)."""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from publisher.store import schema as s
from publisher.store.backend import Row, StoreUnavailable

log = logging.getLogger(__name__)

_ARROW = {"BIGINT": pa.int64(), "TEXT": pa.string(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}


def _arrow_table(columns: tuple[tuple[str, str], ...], rows: Sequence[Row]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pa.table({name: pa.array(col, type=_ARROW[tp.split()[0]]) for (name, tp), col in zip(columns, cols,
                                                                                               strict=True)})


class DuckDBBackend:
    kind = "duckdb"

    def __init__(self, path: str, *, read_only: bool = False, hold: bool = True) -> None:
        self.path = os.path.expanduser(path)
        self.where = f"duckdb://{self.path}"
        self.read_only = read_only
        self.hold = hold
        self._con: duckdb.DuckDBPyConnection | None = None
        self._schema_ready = False
        if not read_only:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        elif not os.path.exists(self.path):
            raise StoreUnavailable(f"no store at {self.path} yet (nothing recorded)")

    @contextlib.contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._con is None:
            try:
                self._con = duckdb.connect(self.path, read_only=self.read_only)
            except (duckdb.IOException, duckdb.ConnectionException) as exc:  # locked by another process
                raise StoreUnavailable(f"{self.path}: {exc}") from exc
            if not self._schema_ready and not self.read_only:
                self._create(self._con)
        try:
            yield self._con
        finally:
            if not self.hold:
                self._con.close()
                self._con = None

    def _create(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(s.create_table("liquidations", s.LIQ_COLUMNS, s.LIQ_KEY))
        con.execute(s.create_table("signals", s.SIGNAL_COLUMNS, s.SIGNAL_KEY))
        con.execute(s.create_table("rollups", s.ROLLUP_COLUMNS, s.ROLLUP_KEY))
        self._schema_ready = True

    def write_batch(self, liqs: Sequence[Row], signals: Sequence[Row]) -> tuple[int, int]:
        with self._connection() as con:
            con.begin()
            try:
                added = self._insert_liqs(con, liqs) if liqs else 0
                n_sig = 0
                if signals:
                    con.register("sig_batch", _arrow_table(s.SIGNAL_COLUMNS, s.dedupe_rows(signals, 2)))
                    n_sig = len(con.execute("INSERT INTO signals SELECT * FROM sig_batch ON CONFLICT DO NOTHING "
                                            "RETURNING ts").fetchall())
                    con.unregister("sig_batch")
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return added, n_sig

    def _insert_liqs(self, con: duckdb.DuckDBPyConnection, liqs: Sequence[Row]) -> int:
        con.register("liq_batch", _arrow_table(s.LIQ_COLUMNS, s.dedupe_rows(liqs, 2)))
        # The keys really inserted (conflicts skipped) select the rows merged into the rollups, in SQL.
        keys = con.execute("INSERT INTO liquidations SELECT * FROM liq_batch ON CONFLICT DO NOTHING "
                           "RETURNING dedupe_key").fetchnumpy()["dedupe_key"]
        new_keys = pa.table({"dedupe_key": keys})
        if new_keys.num_rows:
            con.register("new_keys", new_keys)
            con.execute(f"INSERT INTO rollups SELECT ts_event - mod(ts_event, {s.MINUTE_NS}) AS minute, symbol, "
                        "exchange, side, sum(notional_usd), count(*), max(notional_usd) FROM liq_batch "
                        "SEMI JOIN new_keys USING (dedupe_key) GROUP BY ALL "
                        f"ON CONFLICT ({', '.join(s.ROLLUP_KEY)}) DO UPDATE SET {s.ROLLUP_UPSERT_SET}")
            con.unregister("new_keys")
        con.unregister("liq_batch")
        return new_keys.num_rows

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        with self._connection() as con:
            cur = con.execute(sql.replace("%s", "?"), list(params))
            return [d[0] for d in cur.description], cur.fetchall()

    def iter_query(self, sql: str, params: Sequence[Any] = (), chunk: int = 50_000) -> Iterator[list[Row]]:
        with self._connection() as con:
            cur = con.execute(sql.replace("%s", "?"), list(params))
            while rows := cur.fetchmany(chunk):
                yield rows

    def delete_before(self, cutoff_ns: int) -> int:
        with self._connection() as con:
            (n,) = con.execute("DELETE FROM liquidations WHERE ts_event < ?", [cutoff_ns]).fetchone()
            con.execute("DELETE FROM signals WHERE ts < ?", [cutoff_ns])
            con.execute("DELETE FROM rollups WHERE minute < ?", [cutoff_ns - cutoff_ns % s.MINUTE_NS])
            return int(n)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
