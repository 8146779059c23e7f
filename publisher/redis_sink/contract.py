"""The Redis contract trading bots depend on: names and shapes live here and nowhere else."""
from __future__ import annotations

from typing import Any

import orjson

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
    """A tape entry: the schema's fields as stream fields (`throttled` as 1 or 0, `completeness` a word)."""
    d: dict[str, str | int | float] = liq._asdict()
    d["throttled"] = int(liq.throttled)
    return d


_THROTTLED = Liquidation._fields.index("throttled")


def liquidation_args(liq: Liquidation) -> list[str]:
    """`liquidation_fields` as XADD's flat field-value list, in the same order and as the text Redis stores
    (str of each value: what redis-py sends for an int, a float or a str), built without a dict per event
    (the tape is the publisher's per-event path)."""
    values = [str(x) for x in liq]
    values[_THROTTLED] = "1" if liq.throttled else "0"
    return [x for pair in zip(Liquidation._fields, values, strict=True) for x in pair]


TAPE_WIDTH = 2 * len(Liquidation._fields)  # strings per tape entry in `TAPE_SCRIPT`'s batch
# One call writes a batch of tape entries: ARGV = (MAXLEN, TAPE_WIDTH, msgpack of every entry's
# `liquidation_args`, concatenated). Why a script: XADD one by one cost the publisher ~16 µs of Python per
# entry (redis-py encodes and packs each of its 27 arguments), this ~4.5 µs, and Redis 3 -> 4.3 µs (20,000
# entries in batches of 1,000 against a local Redis 7.0, 2026-12-01; `liqcascade bench` reports it as
# `tape_write_us`). Values travel as strings: Lua numbers are doubles and would round a nanosecond
# timestamp. pcall: an entry Redis refuses costs that entry only; the reply is {refused entries, the first
# refusal's message}.
TAPE_SCRIPT = """
local rows = cmsgpack.unpack(ARGV[3])
local key, maxlen, w = KEYS[1], ARGV[1], tonumber(ARGV[2])
local failed, first = 0, ''
for i = 1, #rows, w do
  local ok = redis.pcall('XADD', key, 'MAXLEN', '~', maxlen, '*', unpack(rows, i, i + w - 1))
  if type(ok) == 'table' and ok.err then
    failed = failed + 1
    if first == '' then first = ok.err end
  end
end
return {failed, first}
"""
