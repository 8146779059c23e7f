"""The server backend: PostgreSQL through psycopg 3, day partitions (or a TimescaleDB hypertable), COPY loads."""
from __future__ import annotations

import calendar
import logging
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from publisher.store import schema as s
from publisher.store.backend import Row, StoreUnavailable

log = logging.getLogger(__name__)

_DOWN = (psycopg.OperationalError, psycopg.InterfaceError)
_PARTITION = re.compile(r"^liquidations_p(\d{8})$")
CONNECT_TIMEOUT_S = 2


def day_name(day_start_ns: int) -> str:
    return "liquidations_p" + time.strftime("%Y%m%d", time.gmtime(day_start_ns // s.NS))


class PostgresBackend:
    kind = "postgresql"

    def __init__(self, url: str, partitions_ahead_days: int = 2, *, read_only: bool = False) -> None:
        self.url = url
        info = conninfo_to_dict(url)
        self.where = f"postgresql://{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        self.ahead = partitions_ahead_days
        self.read_only = read_only  # a reader never creates tables (a read-only role may run `history`)
        self.timescale = False
        self._conn: psycopg.Connection | None = None
        self._days: set[int] = set()  # day partitions known to exist

    # -- connection and schema ------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except _DOWN as exc:
            raise StoreUnavailable(f"{self.where}: {str(exc).strip().splitlines()[0] if str(exc) else exc}") from exc
        self._conn = conn
        self._days.clear()
        if self.read_only:
            return conn
        try:
            self._create(conn)
        except _DOWN as exc:
            self._drop(exc)
        return conn

    def _drop(self, exc: Exception) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        raise StoreUnavailable(f"{self.where}: {str(exc).strip().splitlines()[0] if str(exc) else exc}") from exc

    def _create(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(4711)")  # two writers creating the schema at once
            exists = conn.execute("SELECT to_regclass('liquidations') IS NOT NULL").fetchone()[0]
            has_ts = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
                                  ).fetchone()[0] > 0
            if not exists:
                if has_ts:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                    conn.execute(s.create_table("liquidations", s.LIQ_COLUMNS, s.LIQ_KEY))
                    conn.execute("SELECT create_hypertable('liquidations', 'ts_event', "
                                 "chunk_time_interval => %s::bigint, if_not_exists => TRUE)", (s.DAY_NS,))
                else:
                    conn.execute(s.create_table("liquidations", s.LIQ_COLUMNS, s.LIQ_KEY,
                                                " PARTITION BY RANGE (ts_event)"))
            conn.execute(s.create_table("signals", s.SIGNAL_COLUMNS, s.SIGNAL_KEY))
            conn.execute(s.create_table("rollups", s.ROLLUP_COLUMNS, s.ROLLUP_KEY))
            self.timescale = not conn.execute("SELECT count(*) FROM pg_partitioned_table "
                                              "WHERE partrelid = 'liquidations'::regclass").fetchone()[0]
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS liq_stage (LIKE liquidations) ON COMMIT DELETE ROWS")
        today = time.time_ns() // s.DAY_NS * s.DAY_NS
        self._ensure_days(conn, [today + k * s.DAY_NS for k in range(self.ahead + 1)])
        log.info("store: PostgreSQL at %s ready (%s)", self.where,
                 "TimescaleDB hypertable" if self.timescale else "day partitions")

    def _ensure_days(self, conn: psycopg.Connection, days: Sequence[int]) -> None:
        """Create the day partitions a batch needs (an import may reach years back)."""
        if self.timescale:
            return
        missing = sorted(set(days) - self._days)
        if not missing:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(4711)")  # the store and an import may add the same day
            for day in missing:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {day_name(day)} PARTITION OF liquidations "
                             f"FOR VALUES FROM ({day}) TO ({day + s.DAY_NS})")
        self._days.update(missing)

    # -- the interface --------------------------------------------------------------------------
    def write_batch(self, liqs: Sequence[Row], signals: Sequence[Row]) -> tuple[int, int]:
        conn = self._connect()
        try:
            liqs = s.dedupe_rows(liqs, 2)
            self._ensure_days(conn, [r[0] - r[0] % s.DAY_NS for r in liqs])
            with conn.transaction():
                added = self._insert_liqs(conn, liqs) if liqs else 0
                n_sig = 0
                if signals:
                    with conn.cursor() as cur:
                        cur.executemany(f"INSERT INTO signals VALUES ({', '.join(['%s'] * len(s.SIGNAL_COLUMNS))}) "
                                        "ON CONFLICT DO NOTHING", s.dedupe_rows(signals, 2))
                        n_sig = max(cur.rowcount, 0)
            return added, n_sig
        except _DOWN as exc:
            self._drop(exc)
            raise  # unreachable: _drop raises

    def _insert_liqs(self, conn: psycopg.Connection, liqs: Sequence[Row]) -> int:
        cols = ", ".join(s.names(s.LIQ_COLUMNS))
        with conn.cursor() as cur:
            with cur.copy(f"COPY liq_stage ({cols}) FROM STDIN") as cp:
                for r in liqs:
                    cp.write_row(r)
            # One statement: the rows really inserted (conflicts skipped) feed the rollup merge, so a
            # replayed row adds nothing twice even with another writer at work.
            row = cur.execute(
                f"WITH ins AS (INSERT INTO liquidations SELECT * FROM liq_stage ON CONFLICT DO NOTHING "
                f"RETURNING {', '.join(s.RETURNING)}), "
                f"up AS (INSERT INTO rollups SELECT ts_event - mod(ts_event, {s.MINUTE_NS}) AS minute, symbol, "
                f"exchange, side, sum(notional_usd), count(*), max(notional_usd) FROM ins GROUP BY 1, 2, 3, 4 "
                f"ON CONFLICT ({', '.join(s.ROLLUP_KEY)}) DO UPDATE SET {s.ROLLUP_UPSERT_SET}) "
                f"SELECT count(*) FROM ins").fetchone()
        return int(row[0])

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, list(params))
                return [d.name for d in cur.description], cur.fetchall()
        except _DOWN as exc:
            self._drop(exc)
            raise

    def iter_query(self, sql: str, params: Sequence[Any] = (), chunk: int = 50_000) -> Iterator[list[Row]]:
        conn = self._connect()
        with conn.transaction(), conn.cursor(name="liqcascade_export") as cur:  # server-side: bounded memory
            cur.execute(sql, list(params))
            while rows := cur.fetchmany(chunk):
                yield rows

    def delete_before(self, cutoff_ns: int) -> int:
        conn = self._connect()
        try:
            removed = 0
            with conn.transaction():
                if not self.timescale:
                    removed += self._drop_partitions(conn, cutoff_ns)
                removed += conn.execute("DELETE FROM liquidations WHERE ts_event < %s", (cutoff_ns,)).rowcount
                conn.execute("DELETE FROM signals WHERE ts < %s", (cutoff_ns,))
                conn.execute("DELETE FROM rollups WHERE minute < %s", (cutoff_ns - cutoff_ns % s.MINUTE_NS,))
            return removed
        except _DOWN as exc:
            self._drop(exc)
            raise

    def _drop_partitions(self, conn: psycopg.Connection, cutoff_ns: int) -> int:
        """Drop whole day partitions that end before the cutoff: instant, no dead rows left to vacuum."""
        names = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'liquidations'::regclass").fetchall()]
        removed = 0
        for name in names:
            m = _PARTITION.match(name)
            if not m:
                continue
            day = calendar.timegm(time.strptime(m.group(1), "%Y%m%d")) * s.NS
            if day + s.DAY_NS <= cutoff_ns:
                removed += conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                conn.execute(f"DROP TABLE {name}")
                self._days.discard(day)
        return removed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
