"""BitMEX realtime protocol for the simulator: welcome banner, subscribe acks + partials, liquidation inserts, ping."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson

from common.schema import LONG
from ingest.contract_specs import bundled
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "bitmex"
THROTTLE_S = 0.0  # every liquidation order is inserted in the table
PATH = "/realtime"
GREETING = orjson.dumps({"info": "Welcome to the BitMEX Realtime API.", "version": "2.0.0",
                         "timestamp": "2026-12-01T00:00:00.000Z", "docs": "https://www.bitmex.com/app/wsAPI",
                         "heartbeatEnabled": False, "limit": {"remaining": 39}}).decode()
_SPECS = bundled(NAME)  # the parser's own bundled contract sizes
_TABLES = ("liquidation", "trade", "instrument")


def open_session(path: str) -> Session | None:
    return Session(NAME) if path.split("?")[0].rstrip("/") == PATH else None


def on_client_message(session: Session, text: str) -> list[str]:
    """`ping` -> `pong`; one ack and one (empty) partial per topic; an unknown table -> status 400."""
    if text == "ping":
        return ["pong"]
    try:
        req = orjson.loads(text)
        op, args = req["op"], req["args"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [orjson.dumps({"status": 400, "error": "Unable to parse request.", "meta": {}}).decode()]
    if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
        return [orjson.dumps({"status": 400, "error": f"Unknown or unsupported operation: {op}", "meta": {},
                              "request": req}).decode()]
    out = []
    for arg in args:
        table = arg.partition(":")[0] if isinstance(arg, str) else ""
        if table not in _TABLES:
            out.append(orjson.dumps({"status": 400, "error": f"Unknown table: {table or arg}", "meta": {},
                                     "request": req}).decode())
            continue
        if op == "unsubscribe":
            session.streams.discard(arg)
            out.append(orjson.dumps({"success": True, "unsubscribe": arg, "request": req}).decode())
            continue
        session.streams.add(arg)
        out.append(orjson.dumps({"success": True, "subscribe": arg, "request": req}).decode())
        keys = {"liquidation": ["orderID"], "instrument": ["symbol"]}.get(table, [])
        out.append(orjson.dumps({"table": table, "action": "partial", "keys": keys, "filter": {},
                                 "data": []}).decode())
    return out


def native(symbol: str, inverse: bool) -> str:
    coin = symbol[:-4] if symbol.endswith("USDT") else symbol
    coin = "XBT" if coin == "BTC" else coin
    return f"{coin}USD" if inverse else f"{coin}USDT"


def _stamp(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instrument(ev: SimContext, ts_ms: int) -> tuple[str, dict]:
    """The context fields of an instrument row: XBTUSD for BTC (USD contracts, openValue in XBt), else the
    linear `<COIN>USDT` (contracts of the bundled size)."""
    oi = open_interest_of(NAME, ev)
    sym = native(ev.symbol, inverse=ev.symbol == "BTCUSDT")
    row = {"symbol": sym, "fundingInterval": "2000-01-01T08:00:00.000Z", "fundingRate": round(ev.funding_rate, 10),
           "markPrice": ev.mark_price, "indicativeSettlePrice": ev.index_price, "timestamp": _stamp(ts_ms)}
    if sym == "XBTUSD":
        row.update(openInterest=round(oi * ev.mark_price), openValue=round(oi * 1e8))
    else:
        row["openInterest"] = round(oi / (_SPECS[sym].size if sym in _SPECS else 1.0))
    return f"instrument:{sym}", row


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, dict] | None:
    """Liquidations on the linear contract (whole contracts), BTC trades on XBTUSD (USD contracts)."""
    if isinstance(ev, SimLiquidation):
        sym = native(ev.symbol, inverse=False)
        size = _SPECS[sym].size if sym in _SPECS else 1.0
        side = "Sell" if ev.side == LONG else "Buy"  # the liquidation order's side
        return "liquidation", {"orderID": str(uuid.uuid4()), "symbol": sym, "side": side, "price": ev.price,
                               "leavesQty": round(ev.qty / size, 6)}
    if isinstance(ev, SimContext):
        return _instrument(ev, ts_ms)
    if isinstance(ev, SimTrade):
        sym = native(ev.symbol, inverse=True)
        stamp = _stamp(ts_ms)
        contracts = max(round(ev.qty * ev.price), 1)
        return f"trade:{sym}", {"timestamp": stamp, "symbol": sym, "side": "Buy", "size": contracts,
                                "price": ev.price, "tickDirection": "PlusTick", "trdMatchID": str(uuid.uuid4()),
                                "grossValue": round(contracts / ev.price * 1e8), "homeNotional": contracts / ev.price,
                                "foreignNotional": contracts, "trdType": "Regular"}
    return None


def frame(session: Session, key: str, payload: dict) -> str | None:
    if key not in session.streams:
        return None
    table = key.partition(":")[0]
    action = "update" if table == "instrument" else "insert"  # the instrument row exists: its fields change
    return orjson.dumps({"table": table, "action": action, "data": [payload]}).decode()


def throttle_key(ev: SimEvent) -> str | None:
    return None
