"""A restarted signals process takes its levels back from Redis instead of re-announcing them as changes.

The publisher keeps `cascade:probability:{symbol}` (level, probability, direction) with a TTL that
heartbeats refresh, so what is there is what consumers were last told. Read-only, one SCAN with a
short timeout: an unreachable Redis costs at most that timeout, and the process then starts empty
(its first level per symbol is announced as a state, see `SignalsProcess`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
import redis

from common.config import RedisConfig
from common.logs import clip
from common.schema import LEVEL_RANK, LONG, SHORT, MetricsSnapshot
from signals.generator import SignalGenerator
from signals.levels import LevelState, market_target

log = logging.getLogger(__name__)

PREFIX = "cascade:probability:"  # publisher.redis_sink.contract.probability_key (stages do not import publisher)
MAX_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class Saved:
    symbol: str
    level: int
    probability: float
    direction: str


def load(cfg: RedisConfig, timeout_s: float = 0.5) -> list[Saved] | None:
    """The saved levels above NONE; None when Redis is disabled or unreachable (nothing to restore from)."""
    if not cfg.enabled:
        return None
    client = redis.Redis.from_url(cfg.url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        keys = [k for _, k in zip(range(MAX_KEYS), client.scan_iter(match=PREFIX + "*", count=500), strict=False)]
        values = client.mget(keys) if keys else []
    except redis.RedisError as exc:
        log.warning("signals: no levels restored, Redis unreachable (%s)", clip(str(exc), 200))
        return None
    finally:
        client.close()
    out = []
    for key, raw in zip(keys, values, strict=True):
        saved = _parse(key.decode(errors="replace")[len(PREFIX):], raw)
        if saved is not None and saved.level > 0:
            out.append(saved)
    return out


def _parse(symbol: str, raw: bytes | None) -> Saved | None:
    try:
        d = orjson.loads(raw) if raw else None
        level = LEVEL_RANK[d["level"]]
        p = float(d["probability"])
        direction = d.get("direction") if d.get("direction") in (LONG, SHORT) else LONG
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        log.warning("signals: ignored unreadable %s%s: %s", PREFIX, clip(symbol, 48), clip(raw, 120))
        return None
    return Saved(symbol, level, min(max(p, 0.0), 1.0), direction) if 0.0 <= p <= 1.0 else None


def apply(gen: SignalGenerator, saved: list[Saved], now_ns: int) -> list[str]:
    """Put each saved level into the generator's state as if it had been reached just now (the dwell
    starts over, so the first fresh snapshot cannot step it down at once); return the symbols."""
    regime = gen.regime(now_ns)
    for s in saved:
        if s.symbol == "MARKET":
            continue
        snap = MetricsSnapshot(s.symbol, now_ns, {}, {}, {}, {}, {}, 0.0, 0, s.probability, 0.0, s.direction, {},
                               "level restored from Redis after a signals restart")
        _, components = gen.probability(snap, regime, now_ns)
        components["restored"] = True
        # last_emit_ns 0: the first tick announces each restored level once, as a heartbeat (a state)
        st = gen.states[s.symbol] = LevelState(level=s.level, changed_ns=now_ns, probability=s.probability,
                                               last_snapshot_ns=now_ns, last_emit_ns=0)
        st.context = {"snap": snap, "regime": regime, "components": components,
                      "data_quality": gen.data_quality(snap, now_ns), "confidence": 0.0}
    m = gen.market  # MARKET follows the restored levels without announcing a change
    m.level = market_target([st.level for st in gen.states.values()], gen.scfg.market_min_symbols)
    m.changed_ns, m.last_emit_ns = now_ns, 0
    return sorted(s.symbol for s in saved if s.symbol in gen.states)
