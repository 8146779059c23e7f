"""Deribit API v2 protocol for the simulator: JSON-RPC subscribe, 100 ms trades, tickers, heartbeat test_request."""
from __future__ import annotations

import itertools
import math
import time

import orjson

from common.schema import LONG
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "deribit"
THROTTLE_S = 0.0  # the trade tape is complete: every liquidation fill, batched per 100 ms
BATCH_S = 0.1
PATH = "/ws/api/v2"
MIN_HEARTBEAT_S = 10.0  # docs: public/set_heartbeat interval >= 10 s
HEARTBEAT_SCALE = 1.0  # tests shrink the heartbeat period (the client asks for 10 s, the minimum)
HEARTBEAT_CLOSE = (1000, "heartbeat: no public/test answer")
TEST_REQUEST = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'
_CHANNELS = ("trades.", "ticker.")
_ids = itertools.count(48_079_254)


def open_session(path: str) -> Session | None:
    return Session(NAME) if path.split("?")[0].rstrip("/") == PATH else None


def _result(req_id: object, result: object) -> str:
    us = int(time.time() * 1e6)
    return orjson.dumps({"jsonrpc": "2.0", "id": req_id, "result": result, "usIn": us, "usOut": us + 120,
                         "usDiff": 120, "testnet": False}).decode()


def _error(req_id: object, code: int, message: str) -> str:
    return orjson.dumps({"jsonrpc": "2.0", "id": req_id, "error": {"message": message, "code": code},
                         "testnet": False}).decode()


def on_client_message(session: Session, text: str) -> list[str]:
    """set_heartbeat / test / subscribe / unsubscribe as the real server answers them (raw needs auth)."""
    try:
        req = orjson.loads(text)
        method, req_id = req["method"], req.get("id")
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [_error(None, -32700, "parse_error")]
    params = req.get("params") if isinstance(req.get("params"), dict) else {}
    if method == "public/test":
        session.state.pop("deadline", None)
        return [_result(req_id, {"version": "1.2.26"})]
    if method == "public/set_heartbeat":
        interval = params.get("interval")
        if not isinstance(interval, int | float) or interval < MIN_HEARTBEAT_S:
            return [_error(req_id, 11029, "invalid_arguments")]
        session.state["period"] = interval * HEARTBEAT_SCALE
        session.state["next"] = time.monotonic() + session.state["period"]
        return [_result(req_id, "ok")]
    if method in ("public/subscribe", "public/unsubscribe"):
        channels = params.get("channels")
        if not isinstance(channels, list) or not all(isinstance(c, str) and c.startswith(_CHANNELS) for c in channels):
            return [_error(req_id, 11029, "invalid_arguments")]
        if any(c.endswith(".raw") for c in channels):
            return [_error(req_id, 13778, "raw_subscriptions_not_available_for_unauthorized")]
        (session.streams.update if method == "public/subscribe" else session.streams.difference_update)(channels)
        return [_result(req_id, channels)]
    return [_error(req_id, -32601, "Method not found")]


def on_tick(session: Session, now: float) -> list[str] | None:
    """A test_request every heartbeat period; None (close) when the last one went unanswered for a period."""
    period = session.state.get("period")
    if period is None or now < session.state.get("next", math.inf):
        return []
    if "deadline" in session.state and now >= session.state["deadline"]:
        return None
    session.state["next"] = now + period
    session.state.setdefault("deadline", now + period)
    return [TEST_REQUEST]


def instrument(symbol: str) -> tuple[str, str]:
    """(instrument, currency channel): BTC/ETH inverse perpetuals, everything else a USDC linear one."""
    coin = symbol[:-4] if symbol.endswith("USDT") else symbol
    return (f"{coin}-PERPETUAL", coin) if coin in ("BTC", "ETH") else (f"{coin}_USDC-PERPETUAL", "USDC")


def _item(symbol: str, price: float, qty: float, direction: str, ts_ms: int) -> dict:
    inst, _ = instrument(symbol)
    amount = qty if "_" in inst else qty * price  # inverse perpetuals trade in USD
    seq = next(_ids)
    return {"trade_seq": seq, "trade_id": str(seq), "timestamp": ts_ms, "tick_direction": 0, "price": price,
            "mark_price": price, "instrument_name": inst, "index_price": price, "direction": direction,
            "amount": amount}


def _ticker(ev: SimContext, ts_ms: int) -> dict:
    """A perpetual's ticker: open interest in USD on the inverse books (BTC, ETH), in coins on linear ones."""
    inst, _ = instrument(ev.symbol)
    oi = open_interest_of(NAME, ev)
    return {"timestamp": ts_ms, "instrument_name": inst, "state": "open", "mark_price": ev.mark_price,
            "index_price": ev.index_price, "last_price": ev.mark_price, "current_funding": 0,
            "funding_8h": round(ev.funding_rate, 10), "open_interest": oi if "_" in inst else round(oi * ev.mark_price),
            "settlement_price": ev.index_price, "estimated_delivery_price": ev.index_price}


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, list[dict] | dict] | None:
    """A liquidation is a trade whose taker was liquidated ("T"): a sell for a long, a buy for a short."""
    if isinstance(ev, SimContext):
        return f"ticker.{instrument(ev.symbol)[0]}.100ms", _ticker(ev, ts_ms)
    if isinstance(ev, SimLiquidation):
        item = _item(ev.symbol, ev.price, ev.qty, "sell" if ev.side == LONG else "buy", ts_ms)
        item["liquidation"] = "T"
        return f"trades.future.{instrument(ev.symbol)[1]}.100ms", [item]
    if isinstance(ev, SimTrade):
        return f"trades.future.{instrument(ev.symbol)[1]}.100ms", [_item(ev.symbol, ev.price, ev.qty, "buy", ts_ms)]
    return None


def batch_window(key: str) -> float:
    return 0.0 if key.startswith("ticker.") else BATCH_S


def batch_due(key: str, now: float) -> float:
    return (math.floor(now / BATCH_S) + 1) * BATCH_S


def merge(payloads: list[list[dict]]) -> list[dict]:
    return [item for p in payloads for item in p]


def frame(session: Session, key: str, payload: list[dict] | dict) -> str | None:
    return render(key, payload, 0) if key in session.streams else None


def render(key: str, payload: list[dict] | dict, ts_ms: int, base_ms: int = 0) -> str:
    if base_ms:
        for item in payload if isinstance(payload, list) else [payload]:
            item["timestamp"] += base_ms
    return orjson.dumps({"jsonrpc": "2.0", "method": "subscription",
                         "params": {"channel": key, "data": payload}}).decode()


def throttle_key(ev: SimEvent) -> str | None:
    return None
