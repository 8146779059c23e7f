"""Follows a Hyperliquid node's `--write-fills` output: the complete liquidation tape, from local files.

The node appends one JSON line per block to hourly files (`node_fills_by_block/hourly/YYYYMMDD/H`);
this follows the newest file, switches when a newer one appears, and yields complete lines only (a
half-written last line waits for its newline). It starts at the end of the current file: history is
for `liqcascade parse`, not for live signals.
"""
from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ingest.connection import ConnectionState

log = logging.getLogger(__name__)

POLL_S = 0.05  # the node writes a block line every ~70 ms
READ_MAX = 1 << 20


def newest_file(root: Path) -> Path | None:
    newest: tuple[float, str] | None = None
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):  # a socket or FIFO beside the fills (an ipc endpoint) is no block file
                continue
            key = (st.st_mtime, path)
            newest = key if newest is None or key > newest else newest
    return Path(newest[1]) if newest else None


class FileTailer:
    """Same interface as `ingest.connection.Connection`: `frames()` and `state`."""

    def __init__(self, root: str, clock: Callable[[], int] = time.time_ns, from_start: bool = False) -> None:
        self.root = Path(os.path.expanduser(root))
        self.clock = clock
        self.from_start = from_start
        self.state = ConnectionState()
        self.name = "hyperliquid-node"

    def reconnect(self, reason: str) -> None:
        """Nothing to reconnect: a file does not announce maintenance."""

    async def frames(self) -> AsyncIterator[tuple[int, bytes]]:
        current: Path | None = None
        offset = 0
        partial = b""
        while True:
            newest = newest_file(self.root)
            if newest is not None and newest != current:
                first = current is None and not self.from_start
                try:
                    start = newest.stat().st_size if first else 0
                except OSError:  # removed between the directory walk and now: look again
                    await asyncio.sleep(POLL_S)
                    continue
                if current is not None:  # finish the old file before switching
                    async for item in self._lines(current, offset, partial):
                        yield item
                log.info("%s: following %s", self.name, newest)
                current, offset, partial = newest, start, b""
                self.state.connected = True
                self.state.connected_since = time.monotonic()
            if current is not None:
                try:
                    with open(current, "rb") as fh:
                        fh.seek(offset)
                        chunk = fh.read(READ_MAX)
                except OSError as exc:
                    log.warning("%s: cannot read %s: %s", self.name, current, exc)
                    self.state.connected = False
                    chunk = b""
                if chunk:
                    offset += len(chunk)
                    *lines, partial = (partial + chunk).split(b"\n")
                    ts = self.clock()
                    for line in lines:
                        if line.strip():
                            self.state.frames += 1
                            self.state.last_frame_ns = ts
                            yield ts, line
                    continue
            await asyncio.sleep(POLL_S)

    async def _lines(self, path: Path, offset: int, partial: bytes) -> AsyncIterator[tuple[int, bytes]]:
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                rest = partial + fh.read()
        except OSError as exc:  # removed before we finished it: what was read is all there is
            log.warning("%s: cannot finish %s: %s", self.name, path, exc)
            return
        ts = self.clock()
        for line in rest.split(b"\n"):
            if line.strip():
                self.state.frames += 1
                yield ts, line
