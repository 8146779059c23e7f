"""`liqcascade history ...`: the questions users ask of the store, as tables, JSON or CSV."""
from __future__ import annotations

import csv
import functools
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import click
import orjson

from common.config import Config, get_config
from publisher.store import export as ex
from publisher.store import queries as q
from publisher.store.backend import Backend, StoreError, StoreUnavailable, open_backend, store_url
from publisher.store.timespec import iso, parse_time

OPEN_WAIT_S = 10.0  # the store process holds a DuckDB file only while writing: wait that out


def open_for_reading(cfg: Config, url: str | None = None, wait_s: float = OPEN_WAIT_S) -> Backend:
    """A read-only backend; waits (polling) while the DuckDB writer holds the file. Exits on failure."""
    target = url or store_url(cfg.store)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            db = open_backend(target, read_only=True, hold=True)
            db.query("SELECT 1 FROM liquidations LIMIT 1")
            return db
        except StoreError as exc:
            raise click.UsageError(str(exc)) from None
        except StoreUnavailable as exc:
            locked = "lock" in str(exc).lower()
            if not locked or time.monotonic() >= deadline:
                raise click.ClickException(f"store unavailable: {exc}") from None
            time.sleep(0.05)  # polling a file lock held by another process: there is nothing to wait on
        except Exception as exc:  # noqa: BLE001 - e.g. a database without the store's tables yet: one line
            where = re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", target)  # never print a password
            raise click.ClickException(f"cannot read the store at {where}: {str(exc).strip().splitlines()[0]}"
                                       ) from None


def _fmt_usd(x: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"${x / div:,.2f}{unit}"
    return f"${x:,.0f}"


def _emit(rows: list[dict[str, Any]], as_json: bool, as_csv: bool, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(orjson.dumps(rows).decode())
    elif as_csv:
        if rows:
            w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    else:
        human()


def _table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(box=None, pad_edge=False, header_style="bold")
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if i in (right or set()) else "left")
    for r in rows:
        t.add_row(*r)
    Console(width=160).print(t)


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--since/--until/--symbol/--exchange/--json/--csv/--url, turned into a Filter and an open backend."""
    @click.option("--since", default="24h", show_default=True, help="Start: a span before now (24h, 30m, 7d) "
                  "or ISO 8601 (2025-01-01T00:00:00Z).")
    @click.option("--until", default="now", show_default=True, help="End (exclusive), same forms.")
    @click.option("--symbol", "symbols", multiple=True, help="Canonical symbol (BTCUSDT); repeat or comma-separate.")
    @click.option("--exchange", "exchanges", multiple=True, help="Exchange (binance, bybit, okx...); repeatable.")
    @click.option("--json", "as_json", is_flag=True, help="JSON: a list of rows.")
    @click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
    @click.option("--url", default=None, help="Store URL (default: $STORE_URL, [store] url, the DuckDB file).")
    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx: click.Context, since: str, until: str, symbols: tuple[str, ...], exchanges: tuple[str, ...],
                as_json: bool, as_csv: bool, url: str | None, **kw: Any) -> Any:
        cfg = get_config(ctx, process="history")
        now = time.time_ns()
        try:
            f = q.Filter(parse_time(since, now), parse_time(until, now), _split(symbols, str.upper),
                         _split(exchanges, str.lower))
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        if f.since_ns >= f.until_ns:
            raise click.BadParameter(f"--since {since} is not before --until {until}")
        if as_json and as_csv:
            raise click.UsageError("choose one of --json and --csv")
        db = open_for_reading(cfg, url)
        try:
            return fn(db, f, as_json, as_csv, **kw)
        finally:
            db.close()
    return wrapper


def _split(values: tuple[str, ...], norm: Callable[[str], str]) -> tuple[str, ...]:
    return tuple(norm(v.strip()) for item in values for v in item.split(",") if v.strip())


@click.group("history")
def history_command() -> None:
    """Ask the history store: totals, bars, largest liquidations, signals, raw export."""


@history_command.command("totals")
@click.option("--by", default="exchange,side", show_default=True, help="Group by any of exchange,side,symbol "
              "(empty: one total).")
@common_options
def totals_command(db: Backend, f: q.Filter, as_json: bool, as_csv: bool, by: str) -> None:
    """USD and number of liquidations per group."""
    groups = tuple(g.strip() for g in by.split(",") if g.strip())
    try:
        rows = q.totals(db, f, groups)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--by") from None
    note = q.completeness_note(q.throttled_venues(db, f))
    out = [{**{g: r[g] for g in groups}, "usd": round(r["usd"], 2), "count": r["count"]} for r in rows]

    def human() -> None:
        click.echo(f"liquidations {iso(f.since_ns)} .. {iso(f.until_ns)}")
        body = [[*(str(r[g]) + ("*" if g == "exchange" and r["throttled"] else "") for g in groups),
                 _fmt_usd(r["usd"]), f"{r['count']:,}"] for r in rows]
        if groups:
            body.append(["total"] + [""] * (len(groups) - 1) + [_fmt_usd(sum(r["usd"] for r in rows)),
                                                                 f"{sum(r['count'] for r in rows):,}"])
        _table([*groups, "usd", "count"], body, right={len(groups), len(groups) + 1})
        if note:
            click.echo(("* " if "exchange" in groups else "") + note)
    _emit(out, as_json, as_csv, human)
    if (as_json or as_csv) and note:
        click.echo(note, err=True)


@history_command.command("bars")
@click.option("--interval", type=click.Choice(list(q.INTERVALS)), default="1h", show_default=True)
@common_options
def bars_command(db: Backend, f: q.Filter, as_json: bool, as_csv: bool, interval: str) -> None:
    """Long and short USD liquidated per bar (UTC-aligned)."""
    rows = q.bars(db, f, interval)
    out = [{"ts": iso(r["bar"]), "long_usd": round(r["long_usd"], 2), "short_usd": round(r["short_usd"], 2),
            "count": r["count"], "largest_usd": round(r["largest"], 2)} for r in rows]

    def human() -> None:
        _table(["bar (UTC)", "long", "short", "count", "largest"],
               [[r["ts"], _fmt_usd(r["long_usd"]), _fmt_usd(r["short_usd"]), f"{r['count']:,}",
                 _fmt_usd(r["largest_usd"])] for r in out], right={1, 2, 3, 4})
    _emit(out, as_json, as_csv, human)


@history_command.command("largest")
@click.option("--top", type=click.IntRange(1, 100_000), default=10, show_default=True)
@common_options
def largest_command(db: Backend, f: q.Filter, as_json: bool, as_csv: bool, top: int) -> None:
    """The largest single liquidations."""
    rows = q.largest(db, f, top)
    out = [{"ts": iso(r["ts_event"]), "exchange": r["exchange"], "symbol": r["symbol"],
            "native_symbol": r["native_symbol"], "side": r["side"], "price": r["price"], "qty": r["qty"],
            "usd": round(r["notional_usd"], 2)} for r in rows]

    def human() -> None:
        _table(["time (UTC)", "exchange", "symbol", "side", "price", "qty", "usd"],
               [[r["ts"], r["exchange"], r["symbol"], r["side"], f"{r['price']:,.6g}", f"{r['qty']:,.6g}",
                 _fmt_usd(r["usd"])] for r in out], right={4, 5, 6})
    _emit(out, as_json, as_csv, human)


@history_command.command("signals")
@common_options
def signals_command(db: Backend, f: q.Filter, as_json: bool, as_csv: bool) -> None:
    """Signal level changes with their explanations (and factors with --json)."""
    rows = q.signals(db, f)
    out = [{"ts": iso(r["ts"]), "symbol": r["symbol"], "previous_level": r["previous_level"], "level": r["level"],
            "probability": round(r["probability"], 4), "confidence": round(r["confidence"], 4),
            "direction": r["direction"], "regime": r["regime"], "explanation": r["explanation"],
            "components": orjson.loads(r["components"]) if as_json else r["components"]} for r in rows]

    def human() -> None:
        for r in out:
            click.echo(f"{r['ts']} {r['symbol']:<10} {r['previous_level']:>8} -> {r['level']:<8} "
                       f"p={r['probability']:.2f} {r['direction']:<5} {r['regime']:<9} {r['explanation']}")
        if not out:
            click.echo("no signal level changes in this period")
    _emit(out, as_json, as_csv, human)


@history_command.command("export")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Output file.")
@common_options
def export_command(db: Backend, f: q.Filter, as_json: bool, as_csv: bool, fmt: str, out_path: str) -> None:
    """The raw liquidation rows (every stored field), oldest first, for a notebook."""
    n = ex.export(db, f, fmt, out_path, progress=sys.stderr.isatty())
    click.echo(f"{n:,} liquidation(s) written to {out_path}", err=True)
