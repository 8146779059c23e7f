"""The questions users ask of the history, written once for both backends (`%s` placeholders, shared SQL)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from publisher.store import schema as s
from publisher.store.backend import Backend, Row

GROUPS = ("exchange", "side", "symbol")
INTERVALS = {"1m": 60 * s.NS, "5m": 300 * s.NS, "15m": 900 * s.NS, "1h": 3600 * s.NS, "4h": 4 * 3600 * s.NS,
             "1d": s.DAY_NS}
THROTTLED_NOTE = ("{venues}: throttled feed(s), at most one liquidation per symbol per second is published, "
                  "so their USD and counts are lower bounds")


@dataclass(frozen=True)
class Filter:
    """[since_ns, until_ns), optionally restricted to some symbols and exchanges."""

    since_ns: int
    until_ns: int
    symbols: tuple[str, ...] = ()
    exchanges: tuple[str, ...] = ()

    def where(self, ts_col: str, *, symbols: bool = True, exchanges: bool = True) -> tuple[str, list[Any]]:
        sql = f"{ts_col} >= %s AND {ts_col} < %s"
        params: list[Any] = [self.since_ns, self.until_ns]
        for col, values, on in (("symbol", self.symbols, symbols), ("exchange", self.exchanges, exchanges)):
            if on and values:
                sql += f" AND {col} IN ({', '.join(['%s'] * len(values))})"
                params += list(values)
        return sql, params


def _dicts(cols: list[str], rows: list[Row]) -> list[dict[str, Any]]:
    return [dict(zip(cols, r, strict=True)) for r in rows]


def totals(db: Backend, f: Filter, by: Sequence[str] = ("exchange", "side")) -> list[dict[str, Any]]:
    """USD and count per group, largest first; `throttled` says the group includes a throttled venue."""
    bad = [g for g in by if g not in GROUPS]
    if bad:
        raise ValueError(f"cannot group by {', '.join(bad)}: choose from {', '.join(GROUPS)}")
    where, params = f.where("ts_event")
    keys = ", ".join(by)
    select = f"{keys}, " if by else ""
    group = f" GROUP BY {keys}" if by else ""
    cols, rows = db.query(f"SELECT {select}sum(notional_usd) AS usd, count(*) AS count, bool_or(throttled) AS "
                          f"throttled FROM liquidations WHERE {where}{group} ORDER BY usd DESC", params)
    out = _dicts(cols, rows)
    for r in out:
        r["usd"] = float(r["usd"] or 0.0)
        r["count"] = int(r["count"])
        r["throttled"] = bool(r["throttled"])
    return [r for r in out if r["count"]]


def throttled_venues(db: Backend, f: Filter) -> list[str]:
    where, params = f.where("ts_event")
    _, rows = db.query(f"SELECT DISTINCT exchange FROM liquidations WHERE {where} AND throttled ORDER BY exchange",
                       params)
    return [r[0] for r in rows]


def completeness_note(venues: Sequence[str]) -> str:
    return THROTTLED_NOTE.format(venues=", ".join(venues)) if venues else ""


def bars(db: Backend, f: Filter, interval: str) -> list[dict[str, Any]]:
    """Long and short USD (and counts) per bar, from the minute rollups; bars are aligned to the interval
    in UTC and the range is taken in whole minutes."""
    width = INTERVALS[interval]
    g = s.MINUTE_NS
    lo = f.since_ns - f.since_ns % g
    hi = f.until_ns if f.until_ns % g == 0 else f.until_ns - f.until_ns % g + g
    where, params = Filter(lo, hi, f.symbols, f.exchanges).where("minute")
    cols, rows = db.query(
        f"SELECT minute - mod(minute, {width}) AS bar, "
        "sum(CASE WHEN side = 'long' THEN usd ELSE 0 END) AS long_usd, "
        "sum(CASE WHEN side = 'short' THEN usd ELSE 0 END) AS short_usd, "
        "sum(count) AS count, max(largest) AS largest "
        f"FROM rollups WHERE {where} GROUP BY bar ORDER BY bar", params)
    out = _dicts(cols, rows)
    for r in out:
        r["bar"] = int(r["bar"])
        r["long_usd"], r["short_usd"] = float(r["long_usd"]), float(r["short_usd"])
        r["count"], r["largest"] = int(r["count"]), float(r["largest"])
    return out


def largest(db: Backend, f: Filter, top: int = 10) -> list[dict[str, Any]]:
    where, params = f.where("ts_event")
    cols, rows = db.query("SELECT ts_event, exchange, symbol, native_symbol, side, price, qty, notional_usd, "
                          f"throttled FROM liquidations WHERE {where} ORDER BY notional_usd DESC, ts_event LIMIT %s",
                          [*params, int(top)])
    return _dicts(cols, rows)


def signals(db: Backend, f: Filter) -> list[dict[str, Any]]:
    where, params = f.where("ts", exchanges=False)
    cols, rows = db.query("SELECT ts, symbol, previous_level, level, probability, confidence, direction, regime, "
                          f"explanation, components, data_quality FROM signals WHERE {where} ORDER BY ts, symbol",
                          params)
    return _dicts(cols, rows)


EXPORT_COLUMNS = s.names(s.LIQ_COLUMNS)


def export_count(db: Backend, f: Filter) -> int:
    where, params = f.where("ts_event")
    return int(db.query(f"SELECT count(*) FROM liquidations WHERE {where}", params)[1][0][0])


def export_rows(db: Backend, f: Filter, chunk: int = 50_000) -> Iterator[list[Row]]:
    """The raw liquidation rows, oldest first, in chunks (columns: EXPORT_COLUMNS)."""
    where, params = f.where("ts_event")
    yield from db.iter_query(f"SELECT {', '.join(EXPORT_COLUMNS)} FROM liquidations WHERE {where} "
                             "ORDER BY ts_event, dedupe_key", params, chunk)
