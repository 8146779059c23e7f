"""`liqcascade import tardis FILE...`: Tardis.dev liquidation CSVs into the store (and/or backtest JSON lines)."""
from __future__ import annotations

import csv
import gzip
import io
import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, Any

import click
import orjson

from common.config import get_config
from common.schema import as_dict
from ingest import okx_instruments
from ingest.symbols import UnknownSymbol
from liqcascade.tools.tardis import COLUMNS, BadRow, Venue, to_liquidation, venues
from publisher.store.backend import StoreError, StoreUnavailable, open_backend, store_url
from publisher.store.progress import progress_iter
from publisher.store.writer import StoreWriter

log = logging.getLogger(__name__)

CHUNK = 20_000


class ImportFailed(click.ClickException):
    """One line: the file and line, what is wrong; exit status 1."""


def _open(path: str) -> IO[str]:
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), newline="")
    return open(path, newline="")


def read_file(path: str, table: dict[str, Venue], skip_unknown: bool, skipped: list[int]) -> Iterator[list[Any]]:
    """Liquidations of one file, in chunks; a bad line raises ImportFailed naming it."""
    try:
        fh = _open(path)
    except OSError as exc:
        raise ImportFailed(f"{path}: {exc.strerror or exc}") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None or tuple(h.strip() for h in header) != COLUMNS:
                raise ImportFailed(f"{path}:1: not a Tardis liquidations CSV (header must be {','.join(COLUMNS)})")
            chunk: list[Any] = []
            for row in reader:
                try:
                    chunk.append(to_liquidation(row, table))
                except UnknownSymbol as exc:
                    if not skip_unknown:
                        yield chunk  # the rows before the bad line are kept
                        raise ImportFailed(f"{path}:{reader.line_num}: unknown {exc}") from None
                    skipped[0] += 1
                except (BadRow, ZeroDivisionError) as exc:
                    yield chunk
                    raise ImportFailed(f"{path}:{reader.line_num}: {exc}") from None
                if len(chunk) >= CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
        except (OSError, EOFError, csv.Error, UnicodeDecodeError) as exc:
            raise ImportFailed(f"{path}:{reader.line_num}: unreadable ({exc})") from None


@click.group("import")
def import_command() -> None:
    """Load history from outside into the store."""


@import_command.command("tardis")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--jsonl", "jsonl_out", type=click.Path(dir_okay=False), help="Also write normalized JSON lines "
              "(the input of `liqcascade backtest`).")
@click.option("--no-store", is_flag=True, help="Do not write the store (with --jsonl).")
@click.option("--skip-unknown", is_flag=True, help="Skip (and count) rows of unknown symbols instead of failing.")
@click.option("--url", default=None, help="Store URL (default: $STORE_URL, [store] url, the DuckDB file).")
@click.pass_context
def tardis_command(ctx: click.Context, files: tuple[str, ...], jsonl_out: str | None, no_store: bool,
                   skip_unknown: bool, url: str | None) -> None:
    """Tardis.dev `liquidations` CSV files (.csv or .csv.gz), units made right per venue. Re-importing a file
    adds nothing twice."""
    cfg = get_config(ctx, {"store": {"url": url}}, process="import")
    if no_store and not jsonl_out:
        raise click.UsageError("--no-store needs --jsonl OUT")
    table = venues(okx_instruments.load(cfg.ingest.okx_ctval_cache))
    writer = None
    if not no_store:
        try:
            writer = StoreWriter(open_backend(store_url(cfg.store)), cfg.store, source="tardis")
        except StoreError as exc:
            raise click.UsageError(str(exc)) from None
    skipped = [0]
    rows = 0
    try:
        with ExitStack() as stack:
            out = stack.enter_context(open(jsonl_out, "wb")) if jsonl_out else None
            for path in files:
                chunks = progress_iter(read_file(path, table, skip_unknown, skipped), None, path,
                                       sys.stderr.isatty())
                for chunk in chunks:
                    if not chunk:
                        continue
                    rows += len(chunk)
                    if out is not None:
                        out.writelines(orjson.dumps({"type": "liquidation", **as_dict(m)}) + b"\n" for m in chunk)
                    if writer is not None:
                        _write(writer, chunk)
    finally:
        if writer is not None:
            writer.flush()  # what was accepted before a bad line is kept
            writer.backend.close()
    added = writer.written if writer else 0
    click.echo(f"{rows:,} liquidation(s) read from {len(files)} file(s)"
               + (f", {added:,} new in {writer.backend.where}, {writer.duplicates:,} already there" if writer else "")
               + (f", {skipped[0]:,} row(s) of unknown symbols skipped" if skipped[0] else "")
               + (f"; JSON lines in {jsonl_out}" if jsonl_out else ""), err=True)


def _write(writer: StoreWriter, chunk: list[Any]) -> None:
    writer.add(chunk)
    writer.flush()
    if writer.pending():
        raise click.ClickException(f"store unavailable at {writer.backend.where}: import stopped; rows written so "
                                   "far are kept, re-run the import to add the rest (duplicates are skipped)")


__all__ = ["import_command", "StoreUnavailable"]
