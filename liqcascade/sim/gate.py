"""Gate USDT futures protocol for the simulator: futures.public_liquidates (`!all`), trades, tickers, futures.ping."""
from __future__ import annotations

import itertools
import time

import orjson

from common.schema import LONG
from ingest.contract_specs import bundled
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "gate"
THROTTLE_S = 1.0  # the channel page: at most one liquidation order per contract per second
PATH = "/v4/ws/usdt"
_SIZES = {k: v.size for k, v in bundled(NAME).items()}  # the parser's own bundled quanto_multiplier table
_CHANNELS = ("futures.public_liquidates", "futures.trades", "futures.tickers")
_ids = itertools.count(27_753_479)


def open_session(path: str) -> Session | None:
    return Session(NAME) if path.split("?")[0].rstrip("/") == PATH else None


def _reply(channel: str, event: str, req_id: object = None, error: dict | None = None) -> str:
    now = time.time()
    msg: dict = {"time": int(now), "time_ms": int(now * 1000), "channel": channel, "event": event}
    if req_id is not None:
        msg["id"] = req_id
    if error is not None:
        msg["error"], msg["result"] = error, {"status": "failed"}
    else:
        msg["result"] = None if channel == "futures.pong" else {"status": "success"}
    return orjson.dumps(msg).decode()


def on_headers(session: Session, headers: object) -> None:
    """Fractional sizes only for clients that send `X-Gate-Size-Decimal: 1` (changelog 2025-12-09)."""
    session.state["decimal"] = float(headers.get("X-Gate-Size-Decimal") == "1")  # type: ignore[attr-defined]


def on_client_message(session: Session, text: str) -> list[str]:
    """futures.ping -> futures.pong; subscribe/unsubscribe -> status success, or error code 2 as Gate answers."""
    try:
        req = orjson.loads(text)
        channel = req["channel"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [_reply("", "", error={"code": 1, "message": "invalid argument struct"})]
    if channel == "futures.ping":
        return [_reply("futures.pong", "", req.get("id"))]
    event, payload = req.get("event"), req.get("payload")
    if channel not in _CHANNELS or event not in ("subscribe", "unsubscribe") or not isinstance(payload, list) \
            or not payload or not all(isinstance(p, str) and p for p in payload):
        return [_reply(str(channel), str(event), req.get("id"), {"code": 2, "message": "invalid argument"})]
    keys = {f"{channel}:{p}" for p in payload}
    (session.streams.update if event == "subscribe" else session.streams.difference_update)(keys)
    return [_reply(channel, event, req.get("id"))]


def contract(symbol: str) -> str:
    return f"{symbol[:-4]}_USDT" if symbol.endswith("USDT") else f"{symbol}_USDT"


def _num(x: float) -> str:
    return f"{x:.10f}".rstrip("0").rstrip(".")


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, dict] | None:
    """A liquidation's size is signed contracts: negative, the sell order that closed a long."""
    if isinstance(ev, SimLiquidation):
        c = contract(ev.symbol)
        contracts = ev.qty / _SIZES.get(c, 1.0)
        return f"futures.public_liquidates:{c}", {"price": _num(ev.price),
                                                   "size": _num(-contracts if ev.side == LONG else contracts),
                                                   "time_ms": ts_ms, "contract": c}
    if isinstance(ev, SimContext):  # total_size: open interest in contracts; funding every 8 h
        c = contract(ev.symbol)
        return f"futures.tickers:{c}", {
            "contract": c, "last": _num(ev.mark_price), "mark_price": _num(ev.mark_price),
            "index_price": _num(ev.index_price), "funding_rate": f"{ev.funding_rate:.10f}",
            "funding_rate_indicative": f"{ev.funding_rate:.10f}", "funding_interval": 28800,
            "total_size": _num(open_interest_of(NAME, ev) / _SIZES.get(c, 1.0)), "t": ts_ms}
    if isinstance(ev, SimTrade):
        c = contract(ev.symbol)
        return f"futures.trades:{c}", {"size": _num(max(ev.qty / _SIZES.get(c, 1.0), 1.0)), "id": next(_ids),
                                       "create_time": ts_ms // 1000, "create_time_ms": ts_ms,
                                       "price": _num(ev.price), "contract": c}
    return None


def frame(session: Session, key: str, payload: dict) -> str | None:
    channel = key.partition(":")[0]
    if key not in session.streams and f"{channel}:!all" not in session.streams:
        return None
    if "size" in payload and not session.state.get("decimal"):  # legacy clients: integer sizes, as Gate cuts them
        payload = {**payload, "size": int(float(payload["size"]))}
    now = time.time()
    return orjson.dumps({"channel": channel, "event": "update", "time": int(now), "time_ms": int(now * 1000),
                         "result": [payload]}).decode()


def throttle_key(ev: SimEvent) -> str | None:
    return contract(ev.symbol) if isinstance(ev, SimLiquidation) else None
