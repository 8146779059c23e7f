"""Logging setup shared by every process (one format, level from config)."""
from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "INFO", process: str = "") -> None:
    fmt = f"%(asctime)s %(levelname)-7s {process or '%(processName)s'} %(name)s: %(message)s"
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr, force=True)
