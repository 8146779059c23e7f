"""The Redis contract trading bots depend on: names and shapes live here and nowhere else."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from common.columns import NUMBERS, TEXT, LiquidationBatch
from common.schema import LEVEL_RANK, Liquidation, MetricsSnapshot, Regime, Signal, as_dict

CH_SIGNALS = "cascade:signals"  # every signal (level changes and heartbeats)
CH_ALERTS = "cascade:alerts"  # ALERT and above
CH_CRITICAL = "cascade:critical"  # CRITICAL and EXTREME
HISTORY = "cascade:signals:history"  # capped list, newest first (level changes)
STREAM = "cascade:stream"  # capped stream, for consumers that were away
REGIME = "regime:current"
LIQUIDATIONS = "liquidations:stream"  # capped stream, the tape: every normalized liquidation


def velocity_key(symbol: str) -> str:
    return f"velocity:{symbol}:current"


def probability_key(symbol: str) -> str:
    return f"cascade:probability:{symbol}"


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)


def signal_channels(sig: Signal) -> list[str]:
    rank = LEVEL_RANK.get(sig.level, 0)
    chans = [CH_SIGNALS]
    if not sig.heartbeat and rank >= LEVEL_RANK["ALERT"]:
        chans.append(CH_ALERTS)
    if not sig.heartbeat and rank >= LEVEL_RANK["CRITICAL"]:
        chans.append(CH_CRITICAL)
    return chans


def signal_json(sig: Signal) -> bytes:
    return dumps(sig.to_json_dict())


def probability_json(sig: Signal) -> bytes:
    return dumps({"symbol": sig.symbol, "probability": sig.probability, "level": sig.level,
                  "confidence": sig.confidence, "direction": sig.direction, "ts": sig.ts // 1_000_000})


def velocity_json(snap: MetricsSnapshot) -> bytes:
    d = as_dict(snap)
    d["ts_ns"] = snap.ts
    d["ts"] = snap.ts // 1_000_000
    return dumps(d)


def regime_json(reg: Regime) -> bytes:
    d = as_dict(reg)
    d["ts_ns"] = reg.ts
    d["ts"] = reg.ts // 1_000_000
    return dumps(d)


def liquidation_fields(liq: Liquidation) -> dict[str, str | int | float]:
    """A tape entry: the schema's fields as stream fields (`throttled` as 1 or 0, `completeness` a word), each
    stored as the text redis-py sends for it (str of an int, a float or a str)."""
    d: dict[str, str | int | float] = liq._asdict()
    d["throttled"] = int(liq.throttled)
    return d


_BITS = ("0", "1")


def _numbers(values: Any, floats: bool) -> list[str]:
    """str of every value of a numeric column (a numpy array or a sequence of numbers), through one orjson
    call instead of a str() per value (a float of 17 digits costs str() ~1 µs). orjson writes a float as
    Python's str does (the shortest text that reads back the same) except below 1e-4, where its form differs
    (0.00005 for 5e-05); such a column, rare, is re-read and written by str (`tests/unit/publisher/
    test_tape_columns.py` checks every magnitude)."""
    if isinstance(values, np.ndarray):  # orjson takes C-contiguous arrays only (a strided view is copied)
        values = np.ascontiguousarray(values)
    raw = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)
    out = raw[1:-1].decode().split(",")
    if floats and (b"e-" in raw or b"0.0000" in raw):
        out = [str(float(x)) for x in out]
    return out


def tape_columns(parts: Sequence[LiquidationBatch | list[Liquidation]]) -> list[list[str]]:
    """Every entry's `liquidation_fields` values as text, a list per field in `TAPE_FIELDS` order, of the
    liquidations of `parts` in order: what `TAPE_SCRIPT` writes. Column batches are read by column, struct lists
    by field: no str() per event (the tape is the publisher's per-event path)."""
    cols: list[list[str]] = [[] for _ in TAPE_FIELDS]
    rows: list[Liquidation] = []  # struct lists run together, read at the next column batch or the end
    for part in [*parts, None]:
        if isinstance(part, list):
            rows += part
            continue
        if rows:
            for j, (f, values) in enumerate(zip(TAPE_FIELDS, zip(*rows, strict=True), strict=True)):
                cols[j] += _text(f, values)
            rows = []
        if part is not None and part.n:
            for j, f in enumerate(TAPE_FIELDS):
                if f in part.text:
                    table, codes = part.text[f]
                    cols[j] += map(table.__getitem__, codes.tolist())
                else:
                    cols[j] += _text(f, part.num[f])
    return cols


def _text(field: str, values: Any) -> list[str]:
    """A field's values (a column or a tuple) as text: strings as they are, throttled as 1 or 0, numbers
    through `_numbers`."""
    if field in TEXT:
        return list(values)
    if field == "throttled":
        return list(map(_BITS.__getitem__, values.tolist() if isinstance(values, np.ndarray) else values))
    return _numbers(values, NUMBERS[field] == "<f8")


TAPE_FIELDS = Liquidation._fields
# One call writes a batch of tape entries: ARGV = (MAXLEN, msgpack of TAPE_FIELDS, msgpack of `tape_columns`).
# Why a script: XADD one by one cost the publisher ~16 µs of Python per entry (redis-py encodes and packs
# each of its 27 arguments), and Redis ~3 µs (20,000 entries in batches of 1,000 against a local Redis 7.0,
# 2026-12-01; `liqcascade bench` reports the script's cost as `tape_write_us`). Columns, not entries: the
# field names travel once per call, not once per entry. Values travel as strings: Lua numbers are doubles
# and would round a nanosecond timestamp. pcall: an entry Redis refuses costs that entry only; the reply is
# {refused entries, the first refusal's message}.
TAPE_SCRIPT = """
local names, cols = cmsgpack.unpack(ARGV[2]), cmsgpack.unpack(ARGV[3])
local k = #names
local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*'}
for j = 1, k do args[5 + 2 * j] = names[j] end
local failed, first = 0, ''
for i = 1, #cols[1] do
  for j = 1, k do args[6 + 2 * j] = cols[j][i] end
  local ok = redis.pcall(unpack(args))
  if type(ok) == 'table' and ok.err then
    failed = failed + 1
    if first == '' then first = ok.err end
  end
end
return {failed, first}
"""
