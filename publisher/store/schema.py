"""The store's tables (one column list for both backends), row conversion, dedupe keys and minute rollups."""
from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from typing import Any

import orjson

from common.schema import Liquidation, Signal

NS = 1_000_000_000
MINUTE_NS = 60 * NS
DAY_NS = 86_400 * NS

# Times are integer nanoseconds since the epoch (UTC) as everywhere in the pipeline: same type in both
# backends, exact, and bucketing is integer arithmetic (`ts - mod(ts, width)`) that both dialects share.
LIQ_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ts_event", "BIGINT NOT NULL"),
    ("dedupe_key", "BIGINT NOT NULL"),
    ("exchange", "TEXT NOT NULL"),
    ("symbol", "TEXT NOT NULL"),
    ("native_symbol", "TEXT NOT NULL"),
    ("side", "TEXT NOT NULL"),
    ("price", "DOUBLE PRECISION NOT NULL"),
    ("qty", "DOUBLE PRECISION NOT NULL"),
    ("notional_usd", "DOUBLE PRECISION NOT NULL"),
    ("ts_recv", "BIGINT NOT NULL"),
    ("throttled", "BOOLEAN NOT NULL"),  # venue completeness: at most one liquidation per symbol per second
    ("source", "TEXT NOT NULL"),  # "live" (the pipeline) or "tardis" (an import)
)
LIQ_KEY = ("ts_event", "dedupe_key")  # the partition column must be part of PostgreSQL's unique key

SIGNAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ts", "BIGINT NOT NULL"),
    ("symbol", "TEXT NOT NULL"),
    ("level", "TEXT NOT NULL"),
    ("previous_level", "TEXT NOT NULL"),
    ("probability", "DOUBLE PRECISION NOT NULL"),
    ("confidence", "DOUBLE PRECISION NOT NULL"),
    ("direction", "TEXT NOT NULL"),
    ("regime", "TEXT NOT NULL"),
    ("explanation", "TEXT NOT NULL"),
    ("components", "TEXT NOT NULL"),  # JSON: the factor breakdown
    ("data_quality", "TEXT NOT NULL"),  # JSON: the venues the signal rests on
)
SIGNAL_KEY = ("ts", "symbol")

ROLLUP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("minute", "BIGINT NOT NULL"),  # start of the minute, ns
    ("symbol", "TEXT NOT NULL"),
    ("exchange", "TEXT NOT NULL"),
    ("side", "TEXT NOT NULL"),
    ("usd", "DOUBLE PRECISION NOT NULL"),
    ("count", "BIGINT NOT NULL"),
    ("largest", "DOUBLE PRECISION NOT NULL"),
)
ROLLUP_KEY = ("minute", "symbol", "exchange", "side")

# What an insert returns for the rows it really added: the rollup is built from those only, so a
# replayed row (a conflict on the dedupe key) adds nothing to the rollups either.
RETURNING = ("ts_event", "symbol", "exchange", "side", "notional_usd")


def names(columns: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(name for name, _ in columns)


def create_table(table: str, columns: tuple[tuple[str, str], ...], key: tuple[str, ...], suffix: str = "") -> str:
    cols = ",\n  ".join(f"{n} {t}" for n, t in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols},\n  PRIMARY KEY ({', '.join(key)})\n){suffix}"


_blake2b = hashlib.blake2b
_pack_numbers = struct.Struct("<qdd").pack


def dedupe_key(exchange: str, native_symbol: str, side: str, ts_event: int, price: float, qty: float) -> int:
    """A signed 64-bit key of what identifies one liquidation (venue, instrument, side, exchange time, price,
    size); the same event replayed or imported twice gets the same key, whenever it was received. It is part
    of the primary key with ts_event, so a collision would need two events in the same nanosecond."""
    h = _blake2b(f"{exchange}|{native_symbol}|{side}".encode(), digest_size=8)
    h.update(_pack_numbers(ts_event, price, qty))
    return int.from_bytes(h.digest(), "little", signed=True)


def liq_row(m: Liquidation, source: str = "live") -> tuple[Any, ...]:
    return (m.ts_event, dedupe_key(m.exchange, m.native_symbol, m.side, m.ts_event, m.price, m.qty), m.exchange,
            m.symbol, m.native_symbol, m.side, float(m.price), float(m.qty), float(m.notional_usd), m.ts_recv,
            bool(m.throttled), source)


def signal_row(s: Signal) -> tuple[Any, ...]:
    return (s.ts, s.symbol, s.level, s.previous_level, float(s.probability), float(s.confidence), s.direction,
            s.regime, s.explanation, orjson.dumps(s.components, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
            orjson.dumps(s.data_quality, option=orjson.OPT_SERIALIZE_NUMPY).decode())


def dedupe_rows(rows: Iterable[tuple[Any, ...]], key_len: int) -> list[tuple[Any, ...]]:
    """Rows without repeats of their first `key_len` fields (first kept): one INSERT must not carry a
    key twice (PostgreSQL refuses to affect a row twice in one statement)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for r in rows:
        k = r[:key_len]
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def rollup(inserted: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows (ts_event, symbol, exchange, side, usd) -> per-minute (minute, symbol, exchange, side, usd,
    count, largest), merged additively into the rollups table."""
    acc: dict[tuple[int, str, str, str], list[float]] = {}
    for ts, symbol, exchange, side, usd in inserted:
        k = (ts - ts % MINUTE_NS, symbol, exchange, side)
        a = acc.get(k)
        if a is None:
            acc[k] = [usd, 1, usd]
        else:
            a[0] += usd
            a[1] += 1
            if usd > a[2]:
                a[2] = usd
    return [(*k, a[0], int(a[1]), a[2]) for k, a in acc.items()]


ROLLUP_UPSERT_SET = ("usd = rollups.usd + excluded.usd, count = rollups.count + excluded.count, "
                     "largest = greatest(rollups.largest, excluded.largest)")
