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


def liquidation_args(liq: Liquidation) -> list[str | int | float]:
    """`liquidation_fields` as XADD's flat field-value list, in the same order: what the publisher sends,
    built without a dict per event (the tape is the publisher's per-event path)."""
    values: list[str | int | float] = list(liq)
    values[_THROTTLED] = int(liq.throttled)
    return [x for pair in zip(Liquidation._fields, values, strict=True) for x in pair]
