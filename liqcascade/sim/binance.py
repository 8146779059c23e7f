"""Binance USD-M market-stream protocol for the simulator: /market/ws, /market/stream, SUBSCRIBE."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import orjson

from common.schema import LONG
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "binance"
THROTTLE_S = 1.0  # the real feed pushes at most the latest liquidation per symbol per second
MARK_PRICE_STREAM = "!markPrice@arr@1s"
OPEN_INTEREST_PATH = "/fapi/v1/openInterest"  # REST, served on the simulator's port (SimServer.http)


def open_session(path: str) -> Session | None:
    """`/market/ws/<stream>`, `/market/ws` (then SUBSCRIBE) or `/market/stream?streams=a/b` (combined).

    The legacy base (`/ws`, `/stream`) accepts and acks but never delivers, as the real one has since
    2026-04-23; anything else is refused.
    """
    u = urlparse(path)
    parts = [p for p in u.path.split("/") if p]
    legacy = not parts or parts[0] != "market"
    rest = parts if legacy else parts[1:]
    if not rest or rest[0] not in ("ws", "stream"):
        return None
    combined = rest[0] == "stream"
    streams = set(rest[1:2])
    if combined:
        for value in parse_qs(u.query).get("streams", []):
            streams.update(s for s in value.split("/") if s)
    return Session(NAME, streams=streams, combined=combined, silent=legacy)


def on_client_message(session: Session, text: str) -> list[str]:
    """SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS as the real server answers them."""
    try:
        req = orjson.loads(text)
        method, req_id = req["method"], req["id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ['{"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}']
    params = req.get("params") or []
    if method == "SUBSCRIBE":
        session.streams.update(params)
    elif method == "UNSUBSCRIBE":
        session.streams.difference_update(params)
    elif method == "LIST_SUBSCRIPTIONS":
        return [orjson.dumps({"result": sorted(session.streams), "id": req_id}).decode()]
    else:
        return [orjson.dumps({"code": 2, "msg": f"Invalid request: unknown method {method}"}).decode()]
    return [orjson.dumps({"result": None, "id": req_id}).decode()]


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, dict | list] | None:
    """The stream name and payload the real venue would send for this event (context: a one-symbol
    `!markPrice@arr@1s` array; the real one lists every perpetual in one frame each second)."""
    if isinstance(ev, SimContext):
        return MARK_PRICE_STREAM, [{"e": "markPriceUpdate", "E": ts_ms, "s": ev.symbol, "p": f"{ev.mark_price:.8f}",
                                    "P": f"{ev.index_price:.8f}", "i": f"{ev.index_price:.8f}",
                                    "r": f"{ev.funding_rate:.8f}", "T": (ts_ms // 28_800_000 + 1) * 28_800_000}]
    if isinstance(ev, SimLiquidation):
        qty = f"{ev.qty:.6f}"
        return "!forceOrder@arr", {
            "e": "forceOrder", "E": ts_ms + 3,
            "o": {"s": ev.symbol, "S": "SELL" if ev.side == LONG else "BUY", "o": "LIMIT", "f": "IOC",
                  "q": qty, "p": f"{ev.price * (0.997 if ev.side == LONG else 1.003):.4f}",
                  "ap": f"{ev.price:.4f}", "X": "FILLED", "l": qty, "z": qty, "T": ts_ms}}
    if isinstance(ev, SimTrade):
        return f"{ev.symbol.lower()}@aggTrade", {
            "e": "aggTrade", "E": ts_ms + 2, "s": ev.symbol, "a": ts_ms, "p": f"{ev.price:.2f}",
            "q": f"{ev.qty:.3f}", "f": ts_ms, "l": ts_ms, "T": ts_ms, "m": True}
    return None


def open_interest_reply(path: str, contexts: dict[str, SimContext], now_ms: int) -> tuple[int, str] | None:
    """`GET /fapi/v1/openInterest?symbol=X` as Binance answers it (None: not this endpoint)."""
    u = urlparse(path)
    if u.path.rstrip("/") != OPEN_INTEREST_PATH:
        return None
    symbol = (parse_qs(u.query).get("symbol") or [""])[0]
    ctx = contexts.get(symbol)
    if ctx is None:
        return 400, orjson.dumps({"code": -1121, "msg": "Invalid symbol."}).decode()
    return 200, orjson.dumps({"openInterest": f"{open_interest_of(NAME, ctx):.3f}", "symbol": symbol,
                              "time": now_ms}).decode()


def frame(session: Session, stream: str, payload: dict | list) -> str | None:
    if session.silent or stream not in session.streams:
        return None
    if session.combined:
        return orjson.dumps({"stream": stream, "data": payload}).decode()
    return orjson.dumps(payload).decode()


def throttle_key(ev: SimEvent) -> str | None:
    return ev.symbol if isinstance(ev, SimLiquidation) else None
