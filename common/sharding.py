"""Symbol -> analytics shard, the one place it is decided."""
from __future__ import annotations

import zlib


def shard_of(symbol: str, shards: int) -> int:
    """Stable across processes and runs (crc32, unlike the salted built-in `hash`)."""
    return zlib.crc32(symbol.encode()) % shards
