"""Logging shared by every process: one format, level from config; bad input logged clipped and rate-limited."""
from __future__ import annotations

import logging
import sys
import time


def setup_logging(level: str = "INFO", process: str = "") -> None:
    fmt = f"%(asctime)s %(levelname)-7s {process or '%(processName)s'} %(name)s: %(message)s"
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr, force=True)


def clip(value: object, limit: int = 200) -> str:
    """repr of a bad input, cut to `limit` characters: a 50 MB value must not become a 50 MB log line."""
    if isinstance(value, str | bytes | bytearray | memoryview) and len(value) > 4 * limit:
        value = value[: 4 * limit]  # never repr a huge value in full just to cut it afterwards
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}...({len(text) - limit}+ more)"


class RateLimitedLog:
    """Logs a repeated warning at most once per `interval_s` per key, saying how many were suppressed.

    Bad input is counted by its owner; this only keeps a flood of it from becoming a flood of logs.
    """

    __slots__ = ("logger", "interval_s", "monotonic", "_last", "_suppressed")

    def __init__(self, logger: logging.Logger, interval_s: float = 10.0, monotonic=None) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.monotonic = monotonic or time.monotonic
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args: object) -> bool:
        """Log `msg % args` now if `key` was not logged within the interval; return whether it was."""
        return self._emit(logging.WARNING, key, msg, args)

    def error(self, key: str, msg: str, *args: object) -> bool:
        """As `warning`, at ERROR level (a condition an operator must fix, such as a refused password)."""
        return self._emit(logging.ERROR, key, msg, args)

    def _emit(self, level: int, key: str, msg: str, args: tuple[object, ...]) -> bool:
        now = self.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        if len(self._last) > 1024:  # keys come from a fixed set of call sites; bound it anyway
            self._last.clear()
        self._last[key] = now
        skipped = self._suppressed.pop(key, 0)
        if skipped:
            msg += " (%d similar suppressed)"
            args = (*args, skipped)
        self.logger.log(level, msg, *args)
        return True
