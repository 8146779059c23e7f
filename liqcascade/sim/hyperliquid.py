"""Hyperliquid protocol for the simulator: greeting, method ping/subscribe, trades and userFills liquidations."""
from __future__ import annotations

import itertools

import orjson

from common.schema import LONG
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "hyperliquid"
THROTTLE_S = 0.0
PING_LIMIT_S = 60.0  # the server closes connections silent for ~60 s
PING_CLOSE = (1000, "idle timeout")
PATH = "/ws"
GREETING = "Websocket connection established."
LIQUIDATED_USER = "0x00000000000000000000000000000000000000aa"  # the simulated victim of every liquidation
_tid = itertools.count(900_000_000_000)


def open_session(path: str) -> Session | None:
    return Session(NAME) if path.split("?")[0].rstrip("/") == PATH else None


def _error(text: str) -> str:
    return orjson.dumps({"channel": "error",
                         "data": f"Error parsing JSON into valid websocket request: {text[:80]}"}).decode()


def on_client_message(session: Session, text: str) -> list[str]:
    """`{"method":"ping"}` -> pong; subscribe -> subscriptionResponse (+ an empty userFills snapshot)."""
    try:
        req = orjson.loads(text)
        method = req["method"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [_error(text)]
    if method == "ping":
        return ['{"channel":"pong"}']
    sub = req.get("subscription")
    if method not in ("subscribe", "unsubscribe") or not isinstance(sub, dict):
        return [_error(text)]
    kind = sub.get("type")
    if kind == "trades" and isinstance(sub.get("coin"), str):
        key = f"trades:{sub['coin']}"
    elif kind == "activeAssetCtx" and isinstance(sub.get("coin"), str):
        key = f"activeAssetCtx:{sub['coin']}"
    elif kind == "userFills" and isinstance(sub.get("user"), str):
        key = f"userFills:{sub['user'].lower()}"
    else:
        return [_error(text)]
    out = [orjson.dumps({"channel": "subscriptionResponse", "data": {"method": method, "subscription": sub}}).decode()]
    if method == "unsubscribe":
        session.streams.discard(key)
        return out
    session.streams.add(key)
    if kind == "userFills":  # history first, flagged isSnapshot (clients must not treat it as live)
        out.append(orjson.dumps({"channel": "userFills", "data": {"isSnapshot": True, "user": key[10:],
                                                                  "fills": []}}).decode())
    return out


def coin(symbol: str) -> str:
    return symbol[:-4] if symbol.endswith("USDT") else symbol


def _num(x: float) -> str:
    return f"{x:.8f}".rstrip("0").rstrip(".")


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, dict | list] | None:
    """A liquidation is a fill of the watched account taking over the liquidated position (counterparty)."""
    if isinstance(ev, SimLiquidation):
        tid = next(_tid)
        return "userFills", {
            "coin": coin(ev.symbol), "px": _num(ev.price), "sz": _num(ev.qty),
            "side": "B" if ev.side == LONG else "A",  # the counterparty buys a liquidated long
            "time": ts_ms, "startPosition": "0", "dir": "Open Long" if ev.side == LONG else "Open Short",
            "closedPnl": "0.0", "hash": f"0x{tid:064x}", "oid": tid, "crossed": False, "fee": "0.0",
            "tid": tid, "feeToken": "USDC",
            "liquidation": {"liquidatedUser": LIQUIDATED_USER, "markPx": _num(ev.price), "method": "market"}}
    if isinstance(ev, SimContext):  # funding is hourly on Hyperliquid; the oracle price is its index
        oi = open_interest_of(NAME, ev)
        return f"activeAssetCtx:{coin(ev.symbol)}", {
            "coin": coin(ev.symbol), "ctx": {
                "funding": f"{ev.funding_rate / 8:.10f}", "openInterest": _num(oi), "prevDayPx": _num(ev.index_price),
                "dayNtlVlm": "1000000000.0", "premium": f"{ev.mark_price / ev.index_price - 1:.10f}",
                "oraclePx": _num(ev.index_price), "markPx": _num(ev.mark_price), "midPx": _num(ev.mark_price),
                "impactPxs": [_num(ev.mark_price), _num(ev.mark_price)], "dayBaseVlm": "10000.0"}}
    if isinstance(ev, SimTrade):
        tid = next(_tid)
        return f"trades:{coin(ev.symbol)}", [{"coin": coin(ev.symbol), "side": "B", "px": _num(ev.price),
                                              "sz": _num(ev.qty), "time": ts_ms, "hash": f"0x{tid:064x}",
                                              "tid": tid, "users": [LIQUIDATED_USER, LIQUIDATED_USER]}]
    return None


def frame(session: Session, key: str, payload: dict | list) -> str | None:
    if key == "userFills":  # delivered once, to the first watched user of this connection
        users = sorted(s[10:] for s in session.streams if s.startswith("userFills:"))
        if not users:
            return None
        return orjson.dumps({"channel": "userFills", "data": {"user": users[0], "fills": [payload]}}).decode()
    if key not in session.streams:
        return None
    channel = "activeAssetCtx" if key.startswith("activeAssetCtx:") else "trades"
    return orjson.dumps({"channel": channel, "data": payload}).decode()


def throttle_key(ev: SimEvent) -> str | None:
    return None
