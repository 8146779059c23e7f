"""Store figures: ingest rate (rows/s) per backend, and `totals`/`bars` query time over 30 days at 1 liquidation/s."""
from __future__ import annotations

import logging
import os
import random
import tempfile
import time
import uuid
from typing import Any

import psycopg

from common.config import StoreConfig
from common.schema import Liquidation
from publisher.store import queries as q
from publisher.store.backend import open_backend
from publisher.store.schema import DAY_NS, NS
from publisher.store.writer import StoreWriter

log = logging.getLogger(__name__)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z
VENUES = (("binance", True), ("bybit", False), ("okx", True), ("hyperliquid", False))
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")


def liquidations(n: int, start_ns: int, step_ns: int, seed: int = 1) -> list[Liquidation]:
    """n liquidations every step_ns over 4 venues, 5 symbols, both sides, lognormal USD."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        ex, thr = VENUES[i % 4]
        usd = round(rnd.lognormvariate(8.5, 1.5), 2)
        price = 90_000.0
        out.append(Liquidation(ex, SYMBOLS[i % 5], SYMBOLS[i % 5], "long" if rnd.random() < 0.55 else "short", price,
                               usd / price, usd, start_ns + i * step_ns, start_ns + i * step_ns + 1_000_000, thr))
    return out


def ingest_rate(url: str, rows: int, batch: int = 20_000) -> float:
    """Rows/s through the writer (row conversion, dedupe key, insert, rollup merge), in `batch`-row writes."""
    w = StoreWriter(open_backend(url), StoreConfig(batch=batch, buffer=rows + 1))
    msgs = liquidations(rows, T0, 1_000_000)
    w.backend.write_batch([], [])  # connect and create the schema outside the timing
    t = time.perf_counter()
    for k in range(0, rows, batch):
        w.add(msgs[k:k + batch])
        w.flush()
    elapsed = time.perf_counter() - t
    w.backend.close()
    if w.written != rows:
        raise RuntimeError(f"{url}: wrote {w.written} of {rows} rows")
    return rows / elapsed


def fill_30_days(url: str, per_s: float = 1.0, chunk: int = 200_000) -> int:
    n = int(30 * 86_400 * per_s)
    w = StoreWriter(open_backend(url), StoreConfig(batch=chunk, buffer=chunk + 1))
    step = int(NS / per_s)
    for k in range(0, n, chunk):
        w.add(liquidations(min(chunk, n - k), T0 + k * step, step, seed=k))
        w.flush()
    w.backend.close()
    return n


def query_times(url: str) -> dict[str, float]:
    """Seconds for each query as the CLI runs it: open the store (read-only), query, close."""
    f = q.Filter(T0, T0 + 30 * DAY_NS)
    out: dict[str, float] = {}
    for name, run in (("totals_by_exchange_side", lambda db: q.totals(db, f, ("exchange", "side"))),
                      ("totals_by_symbol", lambda db: q.totals(db, f, ("symbol",))),
                      ("bars_1h", lambda db: q.bars(db, f, "1h")),
                      ("bars_1m", lambda db: q.bars(db, f, "1m"))):
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            db = open_backend(url, read_only=True)
            rows = run(db)
            db.close()
            best = min(best, time.perf_counter() - t)
        if not rows:
            raise RuntimeError(f"{name}: no rows")
        out[name] = round(best, 4)
    return out


class _PgDatabase:
    def __init__(self) -> None:
        self.name = f"liqbench_{uuid.uuid4().hex[:8]}"
        self.url = ""

    def __enter__(self) -> str:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f"CREATE DATABASE {self.name}")
        self.url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{self.name}"
        return self.url

    def __exit__(self, *exc: Any) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def measure(quick: bool, echo: Any) -> dict[str, Any]:
    """Both backends; PostgreSQL only where 127.0.0.1:5432 answers (reported under `errors` otherwise)."""
    rows = 100_000 if quick else 300_000
    per_s = 0.1 if quick else 1.0  # --quick: a tenth of the rows, to stay under a minute
    res: dict[str, Any] = {"ingest_rows": rows, "query_span_days": 30, "query_rate_per_s": per_s}
    with tempfile.TemporaryDirectory(prefix="liqbench-store-") as tmp:
        url = f"duckdb:///{os.path.join(tmp, 'ingest.duckdb').lstrip('/')}"
        echo(f"store: DuckDB ingest of {rows:,} rows ...")
        res["duckdb_rows_per_s"] = round(ingest_rate(url, rows))
        url = f"duckdb:///{os.path.join(tmp, 'month.duckdb').lstrip('/')}"
        echo(f"store: DuckDB, 30 days at {per_s:g} liquidation/s, then totals and bars ...")
        t = time.perf_counter()
        res["query_rows"] = fill_30_days(url, per_s)
        res["duckdb_fill_s"] = round(time.perf_counter() - t, 1)
        res["duckdb_query_s"] = query_times(url)
    try:
        with _PgDatabase() as url:
            echo(f"store: PostgreSQL ingest of {rows:,} rows ...")
            res["postgresql_rows_per_s"] = round(ingest_rate(url, rows))
        if not quick:
            with _PgDatabase() as url:
                echo("store: PostgreSQL, 30 days at 1 liquidation/s, then totals and bars ...")
                fill_30_days(url)
                res["postgresql_query_s"] = query_times(url)
    except psycopg.OperationalError as exc:
        res["postgresql_error"] = str(exc).strip().splitlines()[0]
    return res


def table_rows(res: dict[str, Any]) -> list[str]:
    """The store's lines in the bench table, against the pipeline's sustained rate of the same run."""
    st = res.get("store")
    if not st:
        return []
    pipe = res.get("pipeline_events_per_s", 0)
    rows = [f"store        ingest DuckDB {st['duckdb_rows_per_s']:,} rows/s, PostgreSQL "
            f"{st.get('postgresql_rows_per_s', 'n/a'):,} rows/s (pipeline sustained {pipe:,} events/s)"
            if "postgresql_rows_per_s" in st else
            f"store        ingest DuckDB {st['duckdb_rows_per_s']:,} rows/s, PostgreSQL n/a "
            f"({st.get('postgresql_error', '')}) (pipeline sustained {pipe:,} events/s)"]
    for backend in ("duckdb", "postgresql"):
        qs = st.get(f"{backend}_query_s")
        if qs:
            rows.append(f"{'':<12} {backend} over 30 days at {st['query_rate_per_s']:g}/s ({st.get('query_rows', 0):,} "
                        "rows): " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in qs.items()))
    return rows


if __name__ == "__main__":  # `python -m liqcascade.bench.store [--quick]`: only the store figures, as JSON
    import json
    import sys

    print(json.dumps(measure("--quick" in sys.argv, lambda m: print(m, file=sys.stderr)), indent=2))
