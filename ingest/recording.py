"""Raw-frame recordings: gzip JSONL `{"ts_recv": ns, "exchange": ..., "raw": "<frame>"}`, rotated files.

Files are `<dir>/<exchange>-<UTC start>.jsonl.gz`, e.g. `okx-20260906T044511Z.jsonl.gz`. A new file
starts when the compressed size on disk passes `rotate_bytes` or the UTC hour changes (gzip buffers
until a flush, so a file overshoots by at most one flush interval of data). Each file is a complete
gzip stream once closed; `flush()` makes what was written so far readable even if the process dies.
"""
from __future__ import annotations

import gzip
import io
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

log = logging.getLogger(__name__)

HOUR_NS = 3600 * 1_000_000_000


class RecordingWriter:
    """Append frames of one exchange; rotate by size and by UTC hour. Not thread-safe."""

    def __init__(self, out_dir: str | os.PathLike[str], exchange: str, rotate_bytes: int = 100 * 2**20,
                 flush_every_s: float = 1.0, clock: Callable[[], int] = time.time_ns) -> None:
        self.out_dir = Path(out_dir)
        self.exchange = exchange
        self.rotate_bytes = rotate_bytes
        self.flush_every_ns = int(flush_every_s * 1e9)
        self.clock = clock
        self.paths: list[Path] = []
        self.lines = 0
        self._raw: io.BufferedWriter | None = None
        self._gz: gzip.GzipFile | None = None
        self._hour = -1
        self._last_flush = 0

    @property
    def path(self) -> Path | None:
        return self.paths[-1] if self._gz is not None else None

    def write(self, ts_recv_ns: int, frame: str | bytes) -> None:
        raw = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        now = self.clock()
        if self._gz is None or now // HOUR_NS != self._hour or self._size() >= self.rotate_bytes:
            self._open(now)
        assert self._gz is not None
        self._gz.write(orjson.dumps({"ts_recv": ts_recv_ns, "exchange": self.exchange, "raw": raw}) + b"\n")
        self.lines += 1
        if now - self._last_flush >= self.flush_every_ns:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        if self._gz is not None and self._raw is not None:
            self._gz.flush()  # Z_SYNC_FLUSH: everything so far decompresses
            self._raw.flush()

    def close(self) -> None:
        """Finish the current gzip stream (trailer included); safe to call twice."""
        if self._gz is not None and self._raw is not None:
            self._gz.close()
            self._raw.close()
            log.info("%s: closed recording %s", self.exchange, self.paths[-1])
        self._gz = self._raw = None

    def _size(self) -> int:
        return self._raw.tell() if self._raw is not None else 0

    def _open(self, now_ns: int) -> None:
        self.close()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.fromtimestamp(now_ns / 1e9, UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.out_dir / f"{self.exchange}-{stamp}.jsonl.gz"
        n = 1
        while path.exists():  # two rotations within one second
            path = self.out_dir / f"{self.exchange}-{stamp}-{n}.jsonl.gz"
            n += 1
        self._raw = open(path, "xb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb")
        self._hour = now_ns // HOUR_NS
        self._last_flush = now_ns
        self.paths.append(path)
        log.info("%s: recording to %s", self.exchange, path)

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
