"""Lighter protocol for the simulator: greeting, ping/pong, trade/{id} replaying recent trades, market_stats/{id}."""
from __future__ import annotations

import itertools

import orjson

from common.schema import LONG
from ingest.exchanges import lighter as parser
from liqcascade.sim.context import open_interest_of
from liqcascade.sim.session import Session
from liqcascade.sim.timeline import SimContext, SimEvent, SimLiquidation, SimTrade

NAME = "lighter"
THROTTLE_S = 0.0  # every liquidation trade is published
PATH = "/lighter/stream"  # the simulator's stand-in for wss://mainnet.zklighter.elliot.ai/stream
PING_LIMIT_S = 120.0  # the server closes a connection that sent nothing for 2 minutes
PING_CLOSE = (1000, "no message from client in 2 minutes")
GREETING = '{"session_id":"sim-lighter","type":"connected"}'
RECENT = 50  # trades the subscribe reply repeats
_MARKETS = parser.market_ids()  # the parser's own bundled table: BTCUSDT -> 1, ETHUSDT -> 0, ...
_ids = itertools.count(20_000_000_000)


def open_session(path: str) -> Session | None:
    return Session(NAME) if path.split("?")[0].rstrip("/") == PATH else None


def _error(code: int, message: str) -> str:
    return orjson.dumps({"type": "error", "code": code, "message": message}).decode()


def on_client_message(session: Session, text: str) -> list[str | tuple[str, list]]:
    """ping -> pong; subscribe `trade/{id}` -> `subscribed/trade` repeating the market's recent trades."""
    try:
        req = orjson.loads(text)
        kind = req["type"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return [_error(30000, f"invalid message: {text[:80]}")]
    if kind == "ping":
        return ['{"type":"pong"}']
    channel = req.get("channel")
    name, _, market = channel.partition("/") if isinstance(channel, str) else ("", "", "")
    if kind not in ("subscribe", "unsubscribe") or name not in ("trade", "market_stats") or not market.isdigit() \
            or int(market) not in _MARKETS.values():
        return [_error(30005, f"Invalid Channel: {channel!r:.60}")]
    key = f"{name}:{market}"
    if name == "market_stats":  # the stats arrive with the next context push
        (session.streams.add if kind == "subscribe" else session.streams.discard)(key)
        return [orjson.dumps({"type": f"{kind}d/market_stats", "channel": key,
                              "market_stats": {"market_id": int(market)}}).decode()]
    if kind == "unsubscribe":
        session.streams.discard(key)
        return [orjson.dumps({"type": "unsubscribed/trade", "channel": key}).decode()]
    session.streams.add(key)
    recent = [(payload, stamped) for k, payload, stamped in list(session.recent or ()) if k == key][-RECENT:]
    liqs = [item for payload, _ in recent for item in payload.get("liquidation_trades", [])]
    reply = _render(key, "subscribed/trade", [], liqs)
    return [(reply, [s for _, stamped in recent for s in stamped])]


def _num(x: float) -> str:
    return f"{x:.8f}".rstrip("0").rstrip(".")


def encode(ev: SimEvent, ts_ms: int) -> tuple[str, dict] | None:
    """A trade item on its market; a liquidation is listed in `liquidation_trades`, the liquidated account
    being the taker (a long is closed by selling into a bid: is_maker_ask false)."""
    market = _MARKETS.get(ev.symbol)
    if market is not None and isinstance(ev, SimContext):  # open interest in USD, funding in % per hour
        return f"market_stats:{market}", {"market_stats": {
            "market_id": market, "index_price": _num(ev.index_price), "mark_price": _num(ev.mark_price),
            "open_interest": f"{open_interest_of(NAME, ev) * ev.mark_price:.6f}",
            "current_funding_rate": f"{ev.funding_rate * 100 / 8:.8f}", "last_trade_price": _num(ev.mark_price)},
            "timestamp": ts_ms}
    if market is None or not isinstance(ev, SimLiquidation | SimTrade):
        return None
    n = next(_ids)
    liq = isinstance(ev, SimLiquidation)
    maker_ask = not liq or ev.side != LONG
    before = (ev.qty if ev.side == LONG else -ev.qty) if liq else 0.0
    item = {"trade_id": n, "trade_id_str": str(n), "tx_hash": f"{n:016x}", "type": "liquidation" if liq else "trade",
            "market_id": market, "size": _num(ev.qty), "price": _num(ev.price), "usd_amount": _num(ev.qty * ev.price),
            "ask_id": n, "bid_id": n + 1, "ask_account_id": 57890, "bid_account_id": 317068,
            "is_maker_ask": maker_ask, "block_height": n // 100, "timestamp": ts_ms,
            "taker_position_size_before": _num(before), "transaction_time": ts_ms * 1000}
    return f"trade:{market}", {"liquidation_trades": [item]} if liq else {"trades": [item]}


def _render(key: str, kind: str, trades: list, liqs: list) -> str:
    return orjson.dumps({"channel": key, "liquidation_trades": liqs, "nonce": next(_ids), "trades": trades,
                         "type": kind}).decode()


def frame(session: Session, key: str, payload: dict) -> str | None:
    if key not in session.streams:
        return None
    if key.startswith("market_stats:"):
        return orjson.dumps({"channel": key, **payload, "type": "update/market_stats"}).decode()
    return _render(key, "update/trade", payload.get("trades", []), payload.get("liquidation_trades", []))


def throttle_key(ev: SimEvent) -> str | None:
    return None
