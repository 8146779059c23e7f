"""Bybit v5 public linear protocol for the simulator: op subscribe/ping, allLiquidation batched every 500 ms."""
from __future__ import annotations

import math
import time
import uuid
import zlib

import orjson

from common.schema import LONG
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "bybit"
THROTTLE_S = 0.0  # allLiquidation is the complete tape: nothing is dropped, only batched
BATCH_S = 0.5  # "Push frequency: 500ms"
PING_LIMIT_S = 600.0  # without ping or data the server cuts after 10 minutes
PING_CLOSE = (1000, "ping timeout")
PATH = "/v5/public/linear"
_TOPICS = ("allLiquidation.", "publicTrade.", "tickers.")


def open_session(path: str) -> Session | None:
    return Session(NAME) if path.split("?")[0].rstrip("/") == PATH else None


def _reply(op: str, ok: bool, msg: str = "", req_id: str = "") -> str:
    return orjson.dumps({"success": ok, "ret_msg": msg, "conn_id": str(uuid.uuid4()), "req_id": req_id,
                         "op": op}).decode()


def on_client_message(session: Session, text: str) -> list[str]:
    """One ack per request; the retired `liquidation.X` topic is rejected with "handler not found"."""
    try:
        req = orjson.loads(text)
        op = req["op"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [_reply("", False, f"error:request decode error, {text[:60]}")]
    req_id = str(req.get("req_id", ""))
    if op == "ping":
        return [_reply("ping", True, "pong", req_id)]
    if op not in ("subscribe", "unsubscribe"):
        return [_reply(str(op), False, f"error:unsupported op {op}", req_id)]
    args = req.get("args") or []
    bad = [a for a in args if not isinstance(a, str) or not a.startswith(_TOPICS) or a.endswith(".")]
    if bad:
        return [_reply(op, False, f"error:handler not found,topic:{bad[0]}", req_id)]
    if op == "subscribe":
        session.streams.update(args)
    else:
        session.streams.difference_update(args)
    return [_reply(op, True, "", req_id)]


def _num(x: float) -> str:
    return f"{x:.8f}".rstrip("0").rstrip(".")


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, list[dict] | dict] | None:
    """Topic and a one-item `data` list; items of one topic are merged per 500 ms window. Context is a
    `tickers` object (linear perpetual fields; the first push of a topic is a snapshot, then deltas)."""
    if isinstance(ev, SimContext):
        oi = open_interest_of(NAME, ev)
        return f"tickers.{ev.symbol}", {
            "symbol": ev.symbol, "lastPrice": _num(ev.index_price), "markPrice": _num(ev.mark_price),
            "indexPrice": _num(ev.index_price), "openInterest": _num(oi),
            "openInterestValue": f"{oi * ev.mark_price:.2f}", "fundingRate": f"{ev.funding_rate:.6f}",
            "nextFundingTime": str((ts_ms // 28_800_000 + 1) * 28_800_000)}
    if isinstance(ev, SimLiquidation):
        return f"allLiquidation.{ev.symbol}", [{"T": ts_ms, "s": ev.symbol, "S": "Buy" if ev.side == LONG else "Sell",
                                                 "v": _num(ev.qty), "p": _num(ev.price)}]
    if isinstance(ev, SimTrade):
        return f"publicTrade.{ev.symbol}", [{"T": ts_ms, "s": ev.symbol, "S": "Buy", "v": _num(ev.qty),
                                              "p": _num(ev.price), "L": "PlusTick", "i": str(uuid.uuid4()),
                                              "BT": False}]
    return None


def batch_window(key: str) -> float:
    """Seconds to accumulate a topic's items before one frame goes out (0: at once)."""
    return BATCH_S if key.startswith("allLiquidation.") else 0.0


def batch_due(key: str, now: float) -> float:
    """When a batch of topic `key` opened at `now` (monotonic) goes out: the topic's next push, every
    BATCH_S at a phase of its own, so topics are not all pushed in the same instant."""
    phase = (zlib.crc32(key.encode()) % 1000) / 1000 * BATCH_S
    return (math.floor((now - phase) / BATCH_S) + 1) * BATCH_S + phase


def merge(payloads: list[list[dict]]) -> list[dict]:
    return [item for p in payloads for item in p]


def frame(session: Session, topic: str, payload: list[dict] | dict) -> str | None:
    if topic not in session.streams:
        return None
    kind = "snapshot"
    if isinstance(payload, dict):  # tickers: a snapshot on subscribe, then deltas
        kind = "delta" if topic in session.snapshots else "snapshot"
        session.snapshots.add(topic)
    return render(topic, payload, int(time.time() * 1000), kind=kind)


def render(topic: str, payload: list[dict] | dict, ts_ms: int, base_ms: int = 0, kind: str = "snapshot") -> str:
    """The frame text, the same for every subscriber; `base_ms` is added to item times encoded relative
    to a start (`liqcascade.sim.schedule.prerender`)."""
    if base_ms and isinstance(payload, list):
        for item in payload:
            item["T"] += base_ms
    return orjson.dumps({"topic": topic, "type": kind, "ts": ts_ms, "data": payload}).decode()


def throttle_key(ev: SimEvent) -> str | None:
    return None
