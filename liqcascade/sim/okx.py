"""OKX v5 public protocol for the simulator: liquidation-orders (sz in contracts), trades, text ping, 64008."""
from __future__ import annotations

import uuid

import orjson

from common.schema import LONG
from ingest.okx_instruments import bundled
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "okx"
THROTTLE_S = 1.0  # the channel "doesn't represent the total": at most the latest per contract per second
PING_LIMIT_S = 30.0  # close 4004 "No data received in 30s" for a client that sent nothing
PING_CLOSE = (4004, "No data received in 30s")
PATH = "/ws/v5/public"
NOTICE = {"event": "notice", "code": "64008",
          "msg": "The connection will soon be closed for a service upgrade. Please reconnect."}
_CT = {k: v for k, v in bundled().items() if v.ct_type == "linear"}  # the parser's own bundled ctVal table
_CHANNELS = {"liquidation-orders": "instType", "trades": "instId", "tickers": "instId", "mark-price": "instId",
             "open-interest": "instId", "funding-rate": "instId", "index-tickers": "instId"}


def open_session(path: str) -> Session | None:
    if path.split("?")[0].rstrip("/") != PATH:
        return None
    return Session(NAME, streams=set(), combined=False, silent=False)


def conn_id(session: Session) -> str:
    return f"{id(session) & 0xFFFFFFFF:08x}"


def on_client_message(session: Session, text: str) -> list[str]:
    """Text `ping` -> `pong`; one `subscribe` event per arg; 60012/60018 errors as the real server."""
    if text == "ping":
        return ["pong"]
    cid = conn_id(session)
    try:
        req = orjson.loads(text)
        op, args = req["op"], req["args"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [orjson.dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:80]}",
                              "connId": cid}).decode()]
    out = []
    for arg in args if isinstance(args, list) else []:
        field = _CHANNELS.get(arg.get("channel")) if isinstance(arg, dict) else None
        if field is None or not arg.get(field):
            out.append(orjson.dumps({"event": "error", "code": "60018",
                                     "msg": f"Wrong URL or channel:{arg}, Please check", "connId": cid}).decode())
            continue
        key = f"{arg['channel']}:{arg[field]}"
        (session.streams.add if op == "subscribe" else session.streams.discard)(key)
        reply = {"event": op, "arg": arg, "connId": cid}
        if "id" in req:
            reply["id"] = req["id"]
        out.append(orjson.dumps(reply).decode())
    return out


def inst_id(symbol: str) -> str:
    return f"{symbol[:-4]}-USDT-SWAP" if symbol.endswith("USDT") else f"{symbol}-USDT-SWAP"


def ct_val(inst: str) -> float:
    spec = _CT.get(inst)
    return spec.ct_val if spec else 1.0


def _num(x: float) -> str:
    return f"{x:.8f}".rstrip("0").rstrip(".")


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, dict] | None:
    if isinstance(ev, SimLiquidation):
        inst = inst_id(ev.symbol)
        side, pos = ("sell", "long") if ev.side == LONG else ("buy", "short")
        detail = {"bkLoss": "0", "bkPx": _num(ev.price), "ccy": "", "posSide": pos, "side": side,
                  "sz": _num(ev.qty / ct_val(inst)), "ts": str(ts_ms)}
        base = inst[: -len("-SWAP")]
        return "liquidation-orders:SWAP", {
            "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
            "data": [{"details": [detail], "instFamily": base, "instId": inst, "instType": "SWAP", "uly": base}]}
    if isinstance(ev, SimContext):  # one event, up to four channel pushes (`frame`)
        inst = inst_id(ev.symbol)
        oi = open_interest_of(NAME, ev)
        return f"ctx:{inst}", {"inst": inst, "ts": str(ts_ms), "oiCcy": _num(oi), "oi": _num(oi / ct_val(inst)),
                               "oiUsd": f"{oi * ev.mark_price:.2f}", "fundingRate": f"{ev.funding_rate:.10f}",
                               "markPx": _num(ev.mark_price), "idxPx": _num(ev.index_price)}
    if isinstance(ev, SimTrade):
        inst = inst_id(ev.symbol)
        return f"trades:{inst}", {
            "arg": {"channel": "trades", "instId": inst},
            "data": [{"instId": inst, "tradeId": str(uuid.uuid4().int % 10**9), "px": _num(ev.price),
                      "sz": _num(max(ev.qty / ct_val(inst), 1.0)), "side": "buy", "ts": str(ts_ms)}]}
    return None


def frame(session: Session, key: str, payload: dict) -> str | list[str] | None:
    if key.startswith("ctx:"):
        return _context_frames(session, payload) or None
    return orjson.dumps(payload).decode() if key in session.streams else None


def _context_frames(session: Session, p: dict) -> list[str]:
    """The context channels this session subscribed, each pushing its own fields (as OKX does)."""
    inst, ts = p["inst"], p["ts"]
    index_id = inst.removesuffix("-SWAP")
    items = {
        f"open-interest:{inst}": {"instType": "SWAP", "instId": inst, "oi": p["oi"], "oiCcy": p["oiCcy"],
                                  "oiUsd": p["oiUsd"], "ts": ts},
        f"funding-rate:{inst}": {"instType": "SWAP", "instId": inst, "fundingRate": p["fundingRate"],
                                 "method": "current_period", "nextFundingRate": "", "ts": ts},
        f"mark-price:{inst}": {"instType": "SWAP", "instId": inst, "markPx": p["markPx"], "ts": ts},
        f"index-tickers:{index_id}": {"instId": index_id, "idxPx": p["idxPx"], "ts": ts},
    }
    return [orjson.dumps({"arg": {"channel": k.split(":")[0], "instId": k.split(":")[1]}, "data": [item]}).decode()
            for k, item in items.items() if k in session.streams]


def notice(session: Session) -> str:
    """The service-upgrade notice OKX sends before it closes a connection."""
    return orjson.dumps({**NOTICE, "connId": conn_id(session)}).decode()


def throttle_key(ev: SimEvent) -> str | None:
    return inst_id(ev.symbol) if isinstance(ev, SimLiquidation) else None
