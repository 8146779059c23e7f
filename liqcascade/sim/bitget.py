"""Bitget v2 public protocol for the simulator: liquidation (instId default) and trade channels, text ping."""
from __future__ import annotations

import itertools
import time

import orjson

from common.schema import LONG
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "bitget"
THROTTLE_S = 0.0  # completeness unknown: the simulator sends every liquidation
PING_LIMIT_S = 120.0  # docs: the server disconnects when no "ping" arrived for 2 minutes
PING_CLOSE = (1000, "no ping")
PATH = "/v2/ws/public"
_CHANNELS = ("liquidation", "trade", "ticker")
_ids = itertools.count(1_111_111_111)


def open_session(path: str) -> Session | None:
    return Session(NAME) if path.split("?")[0].rstrip("/") == PATH else None


def _error(code: int, msg: str, arg: object = None) -> str:
    out: dict = {"event": "error", "code": code, "msg": msg}
    if arg is not None:
        out.update(arg=arg, op="subscribe")
    return orjson.dumps(out).decode()


def on_client_message(session: Session, text: str) -> list[str]:
    """Text `ping` -> `pong`; one ack per arg; an unknown channel -> error 30001 "doesn't exist"."""
    if text == "ping":
        return ["pong"]
    try:
        req = orjson.loads(text)
        op, args = req["op"], req["args"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [_error(30012, "param error")]
    out = []
    for arg in args if isinstance(args, list) else []:
        ok = isinstance(arg, dict) and arg.get("instType") == "USDT-FUTURES" and arg.get("channel") in _CHANNELS \
            and isinstance(arg.get("instId"), str)
        if not ok or op not in ("subscribe", "unsubscribe"):
            desc = ",".join(f"{k}:{v}" for k, v in arg.items()) if isinstance(arg, dict) else str(arg)
            out.append(_error(30001, f"{desc} doesn't exist", arg))
            continue
        key = f"{arg['channel']}:{arg['instId']}"
        (session.streams.add if op == "subscribe" else session.streams.discard)(key)
        out.append(orjson.dumps({"event": op, "arg": arg}).decode())
    return out


def _num(x: float) -> str:
    return f"{x:.10f}".rstrip("0").rstrip(".")


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, dict] | None:
    if isinstance(ev, SimLiquidation):
        return f"liquidation:{ev.symbol}", {"symbol": ev.symbol, "side": "sell" if ev.side == LONG else "buy",
                                            "price": _num(ev.price), "amount": _num(ev.qty), "ts": str(ts_ms)}
    if isinstance(ev, SimContext):  # holdingAmount: open interest in coins; funding every 8 h
        return f"ticker:{ev.symbol}", {
            "instId": ev.symbol, "lastPr": _num(ev.mark_price), "fundingRate": f"{ev.funding_rate:.10f}",
            "nextFundingTime": str((ts_ms // 28_800_000 + 1) * 28_800_000), "markPrice": _num(ev.mark_price),
            "indexPrice": _num(ev.index_price), "holdingAmount": _num(open_interest_of(NAME, ev)),
            "symbolType": "1", "symbol": ev.symbol, "ts": str(ts_ms)}
    if isinstance(ev, SimTrade):
        return f"trade:{ev.symbol}", {"ts": str(ts_ms), "price": _num(ev.price), "size": _num(ev.qty),
                                      "side": "buy", "tradeId": str(next(_ids))}
    return None


def frame(session: Session, key: str, payload: dict) -> str | None:
    channel, _, inst = key.partition(":")
    if key not in session.streams and f"{channel}:default" not in session.streams:
        return None
    action = "snapshot" if channel == "ticker" else "update"  # tickers are pushed whole
    return orjson.dumps({"action": action, "arg": {"instType": "USDT-FUTURES", "channel": channel, "instId": inst},
                         "data": [payload], "ts": int(time.time() * 1000)}).decode()


def throttle_key(ev: SimEvent) -> str | None:
    return None
