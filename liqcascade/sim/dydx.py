"""dYdX v4 indexer protocol for the simulator: connected greeting, v4_trades with recent trades, v4_markets, errors."""
from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime

import orjson

from common.schema import LONG
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "dydx"
THROTTLE_S = 0.0  # every LIQUIDATED trade is on the tape
PATH = "/v4/ws"
CONNECTION_ID = "5b2f0c4e-sim0-4d7e-9a35-0d1e2f3a4b5c"
GREETING = orjson.dumps({"type": "connected", "connection_id": CONNECTION_ID, "message_id": 0}).decode()
RECENT = 100  # the subscribe reply carries the market's last trades (the REST /v4/trades page)
SUBSCRIBES_PER_S = 2  # the indexer's per-connection limit on subscribe messages
MARKETS = "v4_markets"  # one channel, every market, no id
_ids = itertools.count(1)


def open_session(path: str) -> Session | None:
    return Session(NAME) if path.split("?")[0].rstrip("/") == PATH else None


def _msg(kind: str, **fields: object) -> str:
    return orjson.dumps({"type": kind, "connection_id": CONNECTION_ID, "message_id": next(_ids), **fields}).decode()


def on_client_message(session: Session, text: str) -> list[str | tuple[str, list]]:
    """subscribe -> `subscribed` with the market's recent trades (v4_markets: the markets, none listed here:
    the simulator has no market table); unsubscribe; anything else an error."""
    try:
        req = orjson.loads(text)
        kind, channel, market = req["type"], req["channel"], req.get("id")
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [_msg("error", message=f"Invalid message: could not parse {text[:80]}")]
    if kind in ("subscribe", "unsubscribe") and channel == MARKETS:
        (session.streams.add if kind == "subscribe" else session.streams.discard)(MARKETS)
        return [_msg("subscribed" if kind == "subscribe" else "unsubscribed", channel=MARKETS,
                     contents={"markets": {}})]
    if kind not in ("subscribe", "unsubscribe") or channel != "v4_trades" or not isinstance(market, str):
        return [_msg("error", message=f"Invalid subscribe message: channel {channel!r} or id {market!r}")]
    now = time.monotonic()
    session.requests[:] = [t for t in session.requests if now - t < 1.0] + [now]
    if len(session.requests) > SUBSCRIBES_PER_S:
        return [_msg("error", message=f"Rate limited: more than {SUBSCRIBES_PER_S} subscribe messages per second")]
    key = f"v4_trades:{market}"
    if kind == "unsubscribe":
        session.streams.discard(key)
        return [_msg("unsubscribed", channel=channel, id=market)]
    if key in session.streams:
        return [_msg("error", message=f"Invalid subscribe message: already subscribed ({channel}, {market})")]
    session.streams.add(key)
    recent = [(payload, stamped) for k, payload, stamped in list(session.recent or ()) if k == key][-RECENT:]
    trades = [payload for payload, _ in reversed(recent)]  # newest first, as the indexer lists them
    reply = _msg("subscribed", channel=channel, id=market, contents={"trades": trades})
    return [(reply, [s for _, stamped in recent for s in stamped])]


def ticker(symbol: str) -> str:
    return f"{symbol[:-4]}-USD" if symbol.endswith("USDT") else f"{symbol}-USD"


def _num(x: float) -> str:
    return f"{x:.8f}".rstrip("0").rstrip(".")


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, dict] | None:
    """One trade item; a liquidation is the liquidated taker's LIQUIDATED trade (SELL closes a long)."""
    if isinstance(ev, SimContext):  # hourly funding; the oracle (the model's index) is dYdX's mark and index
        m = ticker(ev.symbol)
        return MARKETS, {"trading": {m: {"openInterest": _num(open_interest_of(NAME, ev)),
                                         "nextFundingRate": f"{ev.funding_rate / 8:.12f}"}},
                         "oraclePrices": {m: {"oraclePrice": _num(ev.index_price), "effectiveAt": _iso(ts_ms),
                                              "effectiveAtHeight": str(60_000_000 + next(_ids)), "marketId": 0}}}
    n = next(_ids)
    if isinstance(ev, SimLiquidation):
        side, kind = ("SELL" if ev.side == LONG else "BUY"), "LIQUIDATED"
    elif isinstance(ev, SimTrade):
        side, kind = "BUY", "LIMIT"
    else:
        return None
    item = {"id": f"{n:024x}", "side": side, "size": _num(ev.qty), "price": _num(ev.price), "type": kind,
            "createdAt": _iso(ts_ms), "createdAtHeight": str(60_000_000 + n)}
    return f"v4_trades:{ticker(ev.symbol)}", item


def frame(session: Session, key: str, payload: dict) -> str | None:
    if key not in session.streams:
        return None
    if key == MARKETS:
        return _msg("channel_data", channel=MARKETS, version="2.4.0", contents=payload)
    return _msg("channel_data", id=key.split(":", 1)[1], channel="v4_trades", version="2.4.0",
                contents={"trades": [payload]})


def throttle_key(ev: SimEvent) -> str | None:
    return None
