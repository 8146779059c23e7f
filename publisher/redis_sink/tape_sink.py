"""The tape's Redis writer: every liquidation into the capped `liquidations:stream`, a script call per batch."""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import msgpack
import redis

from common.config import RedisConfig
from common.schema import Liquidation
from publisher.redis_sink import contract as c
from publisher.redis_sink.buffer import Part, TapeBuffer
from publisher.redis_sink.sink import Sink

_FIELDS = msgpack.packb(list(c.TAPE_FIELDS))


class TapeSink(Sink):
    """Liquidations kept as the column batches they arrive in (`TapeBuffer`: the oldest dropped when full,
    counted) and written a batch per `contract.TAPE_SCRIPT` call, from the columns: no struct and no str()
    per entry."""

    def __init__(self, cfg: RedisConfig, monotonic=time.monotonic) -> None:
        super().__init__(cfg, TapeBuffer(cfg.buffer, monotonic), monotonic)
        # Called by its sha, not through the Script object (that asks SCRIPT EXISTS first: a round trip per
        # batch); the rare NOSCRIPT (a Redis restarted or flushed) is retried through the Script, which loads it.
        self._script = self.client.register_script(c.TAPE_SCRIPT)

    def add(self, msgs: Sequence[Liquidation]) -> None:
        """A decoded batch (LiquidationBatch) or Liquidation structs."""
        self.buffer.append(msgs)

    def _write(self, parts: list[Part]) -> int:
        n = sum(map(len, parts))
        args = (self.cfg.liquidations_maxlen, _FIELDS, msgpack.packb(c.tape_columns(parts)))
        try:
            try:
                res: Any = self.client.evalsha(self._script.sha, 1, c.LIQUIDATIONS, *args)
            except redis.exceptions.NoScriptError:  # a restarted or flushed Redis: load it and write
                res = self._script(keys=[c.LIQUIDATIONS], args=list(args))
        except redis.ResponseError as exc:  # the script as a whole failed: every entry of the batch
            for _ in range(n):
                self._refuse("liquidation", c.LIQUIDATIONS, exc)
            return n
        failed, first = int(res[0]), res[1]
        message = first.decode(errors="replace") if isinstance(first, bytes) else str(first)
        for _ in range(failed):
            self._refuse("liquidation", c.LIQUIDATIONS, redis.ResponseError(message))
        return failed
