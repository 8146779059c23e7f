"""Hyperliquid: liquidation fills of watched users (`userFills`/`userEvents`) and `trades` BTC prices.

Real frame (userEvents for a watched maker; nautilus_trader test data, trimmed):
    {"channel":"user","data":{"fills":[{"coin":"BTC","px":"66653.0","sz":"0.001","side":"A",
     "time":1781528065899,"dir":"Open Short","crossed":false,"tid":745210434703679,"hash":"0xe29f..",
     "liquidation":{"liquidatedUser":"0x3608..","markPx":"66607.0","method":"market"}}]}}
-> a short liquidated: this is the counterparty's fill (maker sold, A), so the liquidation order
bought; price px, qty sz, ts_event time.

There is no public venue-wide liquidation channel: only fills of at most 10 watched users (set with
`set_users`, which the runner calls at startup from `cfg.ingest.hyperliquid_users`), or a node's
`--write-fills` output (`ingest.hyperliquid_fills`). Only fills with a `liquidation` object count;
auto-deleveraging fills (`dir` "Auto-Deleveraging") carry one too but are excluded and returned
separately by `parse_fills` as `HyperliquidAdl`.

Perspective and dedupe: every liquidation fill is mapped to the liquidated user's view (side of the
liquidated position, price and size of that match), so the two sides of one match, or the same fill
seen on two subscriptions, give identical events. `parse` is pure and returns them all;
`parse_keyed` pairs each with a `FillKey` (tid, liquidatedUser, coin) and a `FillDeduper` held by the
caller drops repeats. The key is the trade id, not the order hash: one liquidation order matching five
makers is five real slices sharing one hash, and keying on hash would drop four of them.

Market context (verified against Hyperliquid's WebSocket subscription docs and the nktkas SDK on
2026-12-01): one `activeAssetCtx` subscription per tracked coin,
    {"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0000125","openInterest":"27104.5",
     "oraclePx":"96012.0","markPx":"96050.0","midPx":"96049.5","premium":"0.0003",...}}}
-> MarketContext: OI in coins, funding per hour x 8 (the 8 h basis), mark markPx, index oraclePx; the frame
has no time, so ts_event is the receive time. The all-perps `assetCtxs` subscription exists too (one for
every perp), but its `ctxs` array is positional: it names no coin, and mapping it needs the `meta` universe
over REST, re-fetched whenever a listing changes; `activeAssetCtx` names its coin, so the parser stays pure
and a listing change cannot silently shift every symbol's open interest onto its neighbour's.

Batch policy (`fills` arrays): good fills become events, bad ones are skipped; BadFrame only when
every liquidation fill of the frame is bad.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from common.schema import LONG, SHORT, Liquidation, MarketContext, PriceTick
from ingest.exchanges.base import (
    BadFrame,
    Event,
    liquidation,
    load_object,
    ms_to_ns,
    positive,
    price_tick,
    symbol_of,
)
from ingest.exchanges.context_fields import DEFAULT_SYMBOLS as DEFAULT_CONTEXT_SYMBOLS
from ingest.exchanges.context_fields import FUNDING_8H, market_context, optional
from ingest.symbols import from_hyperliquid

NAME = "hyperliquid"
URL = "wss://api.hyperliquid.xyz/ws"
COMPLETENESS = "sampled"  # the fills of watched users only
KEEPALIVE: tuple[str, float] | None = ('{"method":"ping"}', 50.0)  # server closes after ~60 s silence
STALE_AFTER_S = 60.0  # BTC trades are continuous; pongs do not count as data
MAX_USERS = 10  # per-IP limit on unique users across user subscriptions
ADL_DIR = "Auto-Deleveraging"
GREETING = "Websocket connection established."

_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
_users: tuple[str, ...] = ()

FillKey = tuple[str, str, str]  # (tid or hash, liquidatedUser, coin)


@dataclass(frozen=True, slots=True)
class HyperliquidAdl:
    """An auto-deleveraging fill: a position closed against a bankrupt one (cascade terminal phase)."""

    symbol: str
    native_symbol: str
    side: str  # side of the bankrupt (liquidatedUser) position the ADL closed against
    price: float
    qty: float
    notional_usd: float
    ts_event: int


class FillsResult(NamedTuple):
    keyed: list[tuple[FillKey, Liquidation]]
    adl: list[HyperliquidAdl]
    skipped: list[str]


def set_users(users: Iterable[str]) -> None:
    """Set the watched addresses `subscribe_messages` subscribes (lower-cased, at most 10)."""
    global _users
    clean = tuple(dict.fromkeys(u.strip().lower() for u in users))
    bad = [u for u in clean if not _ADDRESS.match(u)]
    if bad:
        raise ValueError(f"not a Hyperliquid address: {bad[0]!r}")
    if len(clean) > MAX_USERS:
        raise ValueError(f"Hyperliquid allows at most {MAX_USERS} watched users, got {len(clean)}")
    _users = clean


def coin(symbol: str) -> str:
    """Canonical `BTCUSDT` -> Hyperliquid coin `BTC`."""
    return symbol[:-4] if symbol.endswith("USDT") else symbol


_SCALED = {"PEPEUSDT": "kPEPE", "BONKUSDT": "kBONK", "SHIBUSDT": "kSHIB", "FLOKIUSDT": "kFLOKI"}


def native_coin(symbol: str) -> str:
    """Canonical symbol -> the coin Hyperliquid lists it as (`PEPEUSDT` -> `kPEPE`)."""
    return _SCALED.get(symbol, coin(symbol))


def url(base: str, symbols: tuple[str, ...], price_symbol: str) -> str:
    return base


def subscribe_messages(symbols: tuple[str, ...], price_symbol: str,
                       users: Sequence[str] | None = None) -> list[str]:
    """BTC trades (price and liveness) plus one userFills per watched user (`users` or `set_users`)."""
    subs: list[dict[str, str]] = [{"type": "trades", "coin": coin(price_symbol)}]
    subs += [{"type": "activeAssetCtx", "coin": c}
             for c in dict.fromkeys(native_coin(s) for s in (symbols or DEFAULT_CONTEXT_SYMBOLS))]
    subs += [{"type": "userFills", "user": u} for u in (_users if users is None else users)]
    return [orjson.dumps({"method": "subscribe", "subscription": s}).decode() for s in subs]


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    """All events of a frame, not deduplicated (see `parse_keyed`)."""
    return [event for _, event in parse_keyed(frame, ts_recv_ns)]


def parse_keyed(frame: str | bytes, ts_recv_ns: int) -> list[tuple[FillKey | None, Event]]:
    """Events paired with their dedupe key (None for price ticks); feed to `FillDeduper.filter`."""
    if frame in (GREETING, GREETING.encode()):
        return []
    msg = load_object(frame)
    channel, data = msg.get("channel"), msg.get("data")
    if channel in ("subscriptionResponse", "pong"):
        return []
    if channel == "error":
        raise BadFrame(f"error: {str(data)[:200]}")
    if channel == "activeAssetCtx":
        return [(None, _asset_ctx(data, ts_recv_ns))]
    if channel == "trades":
        if not isinstance(data, list) or not data:
            raise BadFrame("trades data is not a non-empty array")
        return [(None, _trade(t, ts_recv_ns)) for t in data]
    if channel in ("userFills", "user"):
        if not isinstance(data, dict):
            raise BadFrame(f"{channel} data is not an object")
        if data.get("isSnapshot"):  # history replayed on subscribe, not live
            return []
        fills = data.get("fills", [])
        if not isinstance(fills, list):
            raise BadFrame("fills is not an array")
        user = data.get("user") if isinstance(data.get("user"), str) else None
        result = parse_fills([(user, f) for f in fills], ts_recv_ns)
        if result.skipped and not result.keyed:
            raise BadFrame("; ".join(result.skipped[:3]))
        return list(result.keyed)
    raise BadFrame(f"unknown channel {channel!r:.80}")


def parse_fills(fills: Iterable[tuple[str | None, Any]], ts_recv_ns: int) -> FillsResult:
    """(owner address or None, fill) pairs -> liquidations, ADL fills and skipped-item messages.

    The one fill->Liquidation implementation, shared by the websocket and the node-file paths.
    Fills without a `liquidation` object are ordinary trades and ignored.
    """
    keyed: list[tuple[FillKey, Liquidation]] = []
    adl: list[HyperliquidAdl] = []
    skipped: list[str] = []
    for owner, fill in fills:
        if not isinstance(fill, dict):
            skipped.append("fill is not an object")
            continue
        if fill.get("liquidation") is None:
            continue
        try:
            key, liq = fill_to_liquidation(fill, owner, ts_recv_ns)
        except BadFrame as exc:
            skipped.append(f"{fill.get('coin')!r:.40}: {exc}")
            continue
        if fill.get("dir") == ADL_DIR:
            adl.append(HyperliquidAdl(liq.symbol, liq.native_symbol, liq.side, liq.price, liq.qty,
                                      liq.notional_usd, liq.ts_event))
        else:
            keyed.append((key, liq))
    return FillsResult(keyed, adl, skipped)


def fill_to_liquidation(fill: dict[str, Any], owner: str | None,
                        ts_recv_ns: int) -> tuple[FillKey, Liquidation]:
    """One fill carrying `liquidation{}` -> (dedupe key, Liquidation from the liquidated user's view).

    Whose fill: if the owner is known, it is the liquidated user's own fill iff owner ==
    liquidatedUser; otherwise (userEvents frames do not name the owner) a `Liquidated ...` dir or a
    crossing fill is the liquidated user's (the liquidation order is the taker), a resting one a
    counterparty's. Own fill: A (sold) = long liquidated; counterparty fill: inverted.
    """
    liq = fill.get("liquidation")
    if not isinstance(liq, dict) or not isinstance(liq.get("liquidatedUser"), str):
        raise BadFrame("liquidation without liquidatedUser")
    liquidated = liq["liquidatedUser"].lower()
    native = fill.get("coin")
    symbol, mult = symbol_of(from_hyperliquid, native)
    side_raw = fill.get("side")
    if not isinstance(side_raw, str) or side_raw not in ("A", "B"):
        raise BadFrame(f"bad side {side_raw!r:.40}")
    if owner is not None:
        own = owner.lower() == liquidated
    else:
        own = str(fill.get("dir", "")).startswith("Liquidated") or fill.get("crossed") is True
    sold = side_raw == "A"
    side = LONG if sold == own else SHORT
    price = positive(fill.get("px"), "px")
    qty = positive(fill.get("sz"), "sz")
    match_id = fill.get("tid") if fill.get("tid") is not None else fill.get("hash")
    if not isinstance(match_id, str | int) or isinstance(match_id, bool):
        raise BadFrame(f"fill without a tid or hash: {match_id!r:.40}")
    key: FillKey = (str(match_id), liquidated, native)
    return key, liquidation(NAME, symbol, native, side, price / mult, qty * mult, qty * price,
                            ms_to_ns(fill.get("time"), "time"), ts_recv_ns, COMPLETENESS)


def _trade(t: Any, ts_recv_ns: int) -> PriceTick:
    if not isinstance(t, dict):
        raise BadFrame("trade is not an object")
    symbol, mult = symbol_of(from_hyperliquid, t.get("coin"))
    price = positive(t.get("px"), "px")
    qty = positive(t.get("sz"), "sz")
    return price_tick(NAME, symbol, price / mult, qty * mult, ms_to_ns(t.get("time"), "time"), ts_recv_ns)


def _asset_ctx(data: Any, ts_recv_ns: int) -> MarketContext:
    if not isinstance(data, dict) or not isinstance(data.get("ctx"), dict):
        raise BadFrame("activeAssetCtx without ctx")
    native, ctx = data.get("coin"), data["ctx"]
    symbol, mult = symbol_of(from_hyperliquid, native)
    mark = positive(ctx.get("markPx"), "markPx")
    oi = optional(ctx.get("openInterest"), "openInterest")
    return market_context(NAME, symbol, str(native), oi=oi * mult, oi_usd=oi * mark,
                          funding=optional(ctx.get("funding"), "funding") * FUNDING_8H, mark=mark / mult,
                          index=optional(ctx.get("oraclePx"), "oraclePx") / mult, ts_event=ts_recv_ns,
                          ts_recv=ts_recv_ns)


class FillDeduper:
    """Drops liquidation events whose FillKey was seen among the last `capacity` keys (FIFO)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.dropped = 0
        self._seen: OrderedDict[FillKey, None] = OrderedDict()

    def first(self, key: FillKey) -> bool:
        """True the first time `key` is seen (and remember it), False for a repeat."""
        if key in self._seen:
            self.dropped += 1
            return False
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def filter(self, keyed: Iterable[tuple[FillKey | None, Event]]) -> list[Event]:
        return [event for key, event in keyed if key is None or self.first(key)]
