"""`liqcascade parse` (raw frames -> normalized liquidation JSON lines) and `liqcascade record`."""
from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

import click
import orjson

from common.config import get_config
from common.input_files import InputError, read_lines
from common.schema import Liquidation
from ingest import hyperliquid_fills, okx_instruments
from ingest.exchanges import EXCHANGES, hyperliquid, okx
from ingest.exchanges.base import BadFrame, ReconnectRequested

log = logging.getLogger(__name__)

OUTPUT_KEYS = ("exchange", "symbol", "native_symbol", "side", "price", "qty", "notional_usd",
               "ts_event", "throttled")
_EXCERPT = 160
MAX_WARNINGS = 20  # bad-frame lines shown by `parse`; the rest are counted


def liquidation_dict(liq: Liquidation) -> dict[str, Any]:
    """The parse-output shape of one liquidation (`type` first, ts_event in ns)."""
    return {"type": "liquidation", **{k: getattr(liq, k) for k in OUTPUT_KEYS}}


def _recorded(line: Any) -> bool:
    return isinstance(line, dict) and "raw" in line and "ts_recv" in line


def normalize_recorded(line: dict[str, Any],
                       deduper: hyperliquid.FillDeduper | None = None) -> list[dict[str, Any]]:
    """One recording line {"ts_recv", "exchange", "raw"} -> parse-format liquidation dicts.

    Control frames give []; a bad frame raises BadFrame (the caller counts it). Hyperliquid fills are
    deduplicated only across calls sharing `deduper`.
    """
    venue = EXCHANGES.get(line.get("exchange"))  # type: ignore[arg-type]
    raw, ts_recv = line.get("raw"), line.get("ts_recv")
    if venue is None or not isinstance(raw, str) or not isinstance(ts_recv, int):
        raise BadFrame(f"not a recording line for a known exchange: {str(line)[:_EXCERPT]}")
    return [liquidation_dict(e) for e in _parse(venue.NAME, raw, ts_recv, deduper)
            if isinstance(e, Liquidation)]


def _parse(exchange: str, frame: str | bytes, ts_recv: int,
           deduper: hyperliquid.FillDeduper | None) -> list[Any]:
    try:
        if exchange == hyperliquid.NAME:
            keyed = hyperliquid.parse_keyed(frame, ts_recv)
            return deduper.filter(keyed) if deduper is not None else [e for _, e in keyed]
        return EXCHANGES[exchange].parse(frame, ts_recv)
    except ReconnectRequested:
        return []  # a notice, not data


@click.command("parse")
@click.argument("exchange", type=click.Choice(sorted(EXCHANGES)))
@click.argument("file", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--strict", is_flag=True, help="Exit nonzero if any frame or batch item was bad.")
@click.pass_context
def parse_command(ctx: click.Context, exchange: str, file: str, strict: bool) -> None:
    """Normalize raw frames of EXCHANGE (one per line; FILE or stdin) to liquidation JSON lines.

    Reads recordings transparently (gzip, {"ts_recv", "exchange", "raw"} lines) and, for hyperliquid,
    node `--write-fills` block lines. Frames without liquidations print nothing; bad ones warn on stderr.
    """
    if exchange == okx.NAME:  # contract sizes: bundled table + the ingester's cache, no network here

        okx.set_instruments(okx_instruments.load(get_config(ctx, None, "parse").ingest.okx_ctval_cache))
    deduper = hyperliquid.FillDeduper()
    bad = n = 0
    for n, line in enumerate(read_lines(file), 1):
        try:
            for d in _parse_line(exchange, line, deduper):
                click.echo(orjson.dumps(d).decode())
        except Exception as exc:  # noqa: BLE001 - any parser failure is a bad frame: counted, shown, skipped
            bad += 1
            if bad <= MAX_WARNINGS:
                click.echo(f"warning: line {n}: {exc}: {_excerpt(line)}", err=True)
    if bad:
        more = f" ({bad - MAX_WARNINGS} not shown)" if bad > MAX_WARNINGS else ""
        click.echo(f"{bad} bad frame(s) of {n} line(s){more}", err=True)
        if bad == n:
            raise InputError(f"{file}: no line parsed as a {exchange} frame; expected one JSON frame per line "
                             "(raw websocket frames, or a `liqcascade record` file)")
        if strict:
            raise SystemExit(1)


def _excerpt(line: bytes) -> str:
    """The head of a line, printable (binary garbage is escaped, not written to the terminal)."""
    text = line[:_EXCERPT].decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _parse_line(exchange: str, line: bytes, deduper: hyperliquid.FillDeduper) -> list[dict[str, Any]]:
    if line.startswith(b"{"):
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            doc = None
        if _recorded(doc):
            if doc.get("exchange") != exchange:
                raise BadFrame(f"recorded for {doc.get('exchange')!r}, not {exchange!r}")
            return normalize_recorded(doc, deduper)
        if exchange == hyperliquid.NAME and isinstance(doc, dict) and "block_number" in doc:
            block = hyperliquid_fills.parse_line(line, 0, deduper)
            if block.skipped:
                raise BadFrame(f"block {block.block_number}: " + "; ".join(block.skipped[:3]))
            return [liquidation_dict(liq) for liq in block.liquidations]
    return [liquidation_dict(e) for e in _parse(exchange, line, 0, deduper) if isinstance(e, Liquidation)]


def _parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for pair in pairs:
        venue, sep, url = pair.partition("=")
        if not sep or venue not in EXCHANGES or not url:
            raise click.BadParameter(f"expected venue=URL with venue in {sorted(EXCHANGES)}: {pair!r}",
                                     param_hint="--url-override")
        urls[venue] = url
    return urls


@click.command("record")
@click.argument("exchanges", nargs=-1, required=True, type=click.Choice(sorted(EXCHANGES)))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--rotate-mb", default=100.0, show_default=True, help="Start a new file past this size.")
@click.option("--url-override", multiple=True, metavar="VENUE=URL", help="Connect VENUE to URL instead.")
@click.pass_context
def record_command(ctx: click.Context, exchanges: tuple[str, ...], out_dir: str, rotate_mb: float,
                   url_override: tuple[str, ...]) -> None:
    """Record raw frames of EXCHANGES with receive times to rotated gzip JSONL files in --out."""

    urls = _parse_overrides(url_override)
    cfg = get_config(ctx, {"ingest": {"urls": urls}} if urls else None, "record")
    if hyperliquid.NAME in exchanges:
        hyperliquid.set_users(cfg.ingest.hyperliquid_users)
    asyncio.run(record(cfg, tuple(dict.fromkeys(exchanges)), Path(out_dir), int(rotate_mb * 2**20)))


async def record(cfg: Any, exchanges: tuple[str, ...], out_dir: Path, rotate_bytes: int,
                 stop: asyncio.Event | None = None) -> None:
    """Record until `stop` is set (SIGTERM/SIGINT set it when run from the CLI); files are closed."""
    from ingest.connection import Connection  # lazy: websockets only when recording
    from ingest.recording import RecordingWriter

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    writers = {name: RecordingWriter(out_dir, name, rotate_bytes) for name in exchanges}

    async def pump(name: str) -> None:
        async for ts, frame in Connection(EXCHANGES[name], cfg).frames():
            writers[name].write(ts, frame)

    tasks = [asyncio.create_task(pump(name), name=f"record-{name}") for name in exchanges]
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not waiter and t.exception() is not None:
                log.error("record: %s failed: %s", t.get_name(), t.exception())
    finally:
        for t in (waiter, *tasks):
            t.cancel()
        await asyncio.gather(waiter, *tasks, return_exceptions=True)
        for w in writers.values():
            w.close()
        log.info("record: stopped; %s", ", ".join(f"{n}: {w.lines} frames" for n, w in writers.items()))
