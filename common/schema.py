"""Normalized, frozen message types: everything that crosses a process boundary."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar, NamedTuple

SCHEMA_VERSION = 1

LONG = "long"
SHORT = "short"

# Sanity ranges per field, per coin after contract multipliers: the one definition ingest's parsers and
# the wire's row validation share. Far outside anything real (the largest liquidation ever printed was
# ~$200M; the cheapest per-coin price, e.g. PEPE, ~1e-6 USD), tight enough that squares and sums
# downstream stay finite (notional^2 <= 1e20, summed over millions of events).
PRICE_RANGE = (1e-12, 1e9)  # USD per coin
QTY_RANGE = (1e-12, 1e15)  # coins
NOTIONAL_RANGE = (1e-9, 1e10)  # USD
OI_RANGE = (0.0, 1e15)  # open interest, coins (0: a new listing)
OI_USD_RANGE = (0.0, 1e13)  # open interest, USD (BTC's across venues is ~3e10)
FUNDING_RANGE = (-1.0, 1.0)  # funding rate per 8 h (venues cap it at a few %)

# What a venue's feed shows of its liquidations: every one (complete), at most one per symbol per second
# (throttled: a lower bound that censors exactly when a cascade intensifies), a subset such as watched
# users' fills (sampled), or nobody says (unknown).
COMPLETENESS_LEVELS = ("complete", "throttled", "sampled", "unknown")



def completeness_of(completeness: str, throttled: bool) -> str:
    """A message's completeness; an older sender or file gave only `throttled` (completeness defaulted to
    complete). ValueError for a word that is not a completeness level."""
    if completeness not in COMPLETENESS_LEVELS:
        raise ValueError(f"completeness {completeness!r:.40} is not one of {', '.join(COMPLETENESS_LEVELS)}")
    return "throttled" if throttled and completeness == "complete" else completeness


LEVELS = ("NONE", "WATCH", "ALERT", "CRITICAL", "EXTREME")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}


# The per-event types (Liquidation, PriceTick, FeedStatus) are NamedTuples: immutable and typed like
# the frozen dataclasses below, but built 2.5x faster (0.4 vs 1.1 us here) and packed by msgpack as
# arrays with no per-field Python work, which is what the hot ingest -> analytics path needs.
# Low-rate messages with nested mappings stay frozen dataclasses. Neither is ever mutated.


class Liquidation(NamedTuple):
    """One forced liquidation, normalized across venues.

    `side` is the side of the *position* that was liquidated. `qty` is in base-asset units
    (contracts and 1000x multipliers already applied); `notional_usd` = qty * price.
    `completeness` is what the venue's feed shows of its liquidations (COMPLETENESS_LEVELS); `throttled`
    (completeness == "throttled": at most one event per symbol per second) stays for existing consumers.
    """

    exchange: str
    symbol: str
    native_symbol: str
    side: str
    price: float
    qty: float
    notional_usd: float
    ts_event: int
    ts_recv: int
    throttled: bool = False
    completeness: str = "complete"


class PriceTick(NamedTuple):
    """A trade or mark price, used by the regime detector (BTC by default)."""

    exchange: str
    symbol: str
    price: float
    qty: float
    ts_event: int
    ts_recv: int


class FeedStatus(NamedTuple):
    """An ingester's connection state, sent every heartbeat so signals can say what they rest on."""

    exchange: str
    connected: bool
    throttled: bool
    reconnects: int
    frames: int
    bad_frames: int
    events: int
    last_frame_ns: int
    ts: int
    attempts: int = 0  # connection attempts; with `failures`, what "0 reconnects" cannot say while offline
    failures: int = 0  # attempts that did not connect
    ts_clamped: int = 0  # events whose exchange time was implausible and replaced by receive time
    completeness: str = "complete"  # the venue's COMPLETENESS (an older sender: derived from `throttled`)


class MarketContext(NamedTuple):
    """Open interest, funding, mark and index of one perpetual on one venue (ingest -> analytics).

    A field the venue does not send (or has not sent yet) is NaN, never 0: Binance's stream carries no
    open interest (it is polled over REST), OKX sends each field on its own channel. `open_interest` is in
    coins (contract sizes and 1000x multipliers applied), `open_interest_usd` = the venue's USD value, else
    open_interest x mark. `funding_rate` is the current rate on an 8 h basis (Hyperliquid's hourly rate x 8);
    prices are per coin. ts_event is the venue's time, or ts_recv when it gives none.
    """

    exchange: str
    symbol: str
    native_symbol: str
    open_interest: float
    open_interest_usd: float
    funding_rate: float
    mark_price: float
    index_price: float
    ts_event: int
    ts_recv: int


Liquidation.KIND = "liquidation"  # type: ignore[attr-defined]
PriceTick.KIND = "price"  # type: ignore[attr-defined]
FeedStatus.KIND = "status"  # type: ignore[attr-defined]
MarketContext.KIND = "context"  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """One symbol's liquidation-flow picture at time `ts` (ns), from an analytics shard.

    Window-keyed mappings use the window names ("100ms", "2s", ...). Units: velocity USD/s,
    acceleration USD/s^2, jerk USD/s^3, count events/s. `factors` maps each risk factor to
    {"raw", "score", "weight", "contribution"}.
    """

    KIND: ClassVar[str] = "metrics"
    symbol: str
    ts: int
    velocity_usd_per_s: dict[str, float]
    acceleration_usd_per_s2: dict[str, float]
    jerk_usd_per_s3: dict[str, float]
    count_per_s: dict[str, float]
    by_venue: dict[str, float]
    correlation: float
    venues_active: int
    risk: float
    confidence: float
    direction: str
    factors: dict[str, dict[str, float]]
    explanation: str
    ts_trigger_event: int = 0
    ts_trigger_recv: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # Market context (analytics/market_context.py), None when no venue reports it for the symbol (None,
    # not NaN: a snapshot compares equal to itself and serializes to JSON null): open interest now (USD),
    # its change in USD over 1 and 5 min (negative: positions closed) and as a fraction of OI 5 min ago,
    # funding (8 h basis) and basis (mark - index) / index, both OI-weighted over venues.
    oi_usd: float | None = None
    oi_change_1m_usd: float | None = None
    oi_change_5m_usd: float | None = None
    oi_change_5m_frac: float | None = None
    funding: float | None = None
    basis: float | None = None
    # Estimated true liquidated USD over 10 s (analytics/est_usd.py): the observed USD with throttled
    # venues scaled up by their calibrated visible fraction; [est_usd_low, est_usd_high] is its range.
    est_usd: float = 0.0
    est_usd_low: float = 0.0
    est_usd_high: float = 0.0


# The engine builds a MetricsSnapshot per active symbol per second: the dataclass __init__ (25 keyword
# arguments, an object.__setattr__ per field) costs ~3.7 us there, writing the slots through their
# descriptors ~1.7 us. Same object either way (same type, fields, equality, wire form).
_METRICS_SETTERS = tuple(MetricsSnapshot.__dict__[f.name].__set__ for f in fields(MetricsSnapshot))


def metrics_snapshot(*values: Any) -> MetricsSnapshot:
    """MetricsSnapshot(*values) with every field given, in declaration order (the engine's fast path)."""
    if len(values) != len(_METRICS_SETTERS):
        raise TypeError(f"metrics_snapshot takes {len(_METRICS_SETTERS)} values, got {len(values)}")
    snap = object.__new__(MetricsSnapshot)
    for put, value in zip(_METRICS_SETTERS, values):  # noqa: B905 - lengths checked above
        put(snap, value)
    return snap


@dataclass(frozen=True, slots=True)
class Regime:
    """Market regime from BTC realized volatility; UNKNOWN without price ticks."""

    KIND: ClassVar[str] = "regime"
    regime: str
    multiplier: float
    ts: int
    vol: dict[str, float] = field(default_factory=dict)
    liquidity: str = "UNKNOWN"
    trend: str = "flat"
    trend_strength: float = 0.0


@dataclass(frozen=True, slots=True)
class Signal:
    """A cascade signal for one symbol (or `MARKET`).

    `stages` holds ns timestamps of each pipeline stage (event, recv, analytics, signal) so
    latency can be measured end to end.
    """

    KIND: ClassVar[str] = "signal"
    symbol: str
    level: str
    probability: float
    confidence: float
    direction: str
    regime: str
    explanation: str
    ts: int
    previous_level: str = "NONE"
    heartbeat: bool = False
    components: dict[str, Any] = field(default_factory=dict)
    data_quality: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The Redis/JSON shape of a signal; `ts` in ms as the Redis contract promises."""
        d = as_dict(self)
        d["signal"] = self.level
        d["ts_ns"] = self.ts
        d["ts"] = self.ts // 1_000_000
        return d


MESSAGE_TYPES: dict[str, type] = {
    cls.KIND: cls for cls in (Liquidation, PriceTick, FeedStatus, MetricsSnapshot, Regime, Signal,
                                MarketContext)
}
FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) if is_dataclass(cls) else cls._fields for cls in MESSAGE_TYPES.values()
}
TUPLE_TYPES = frozenset(cls for cls in MESSAGE_TYPES.values() if not is_dataclass(cls))


def as_dict(msg: Any) -> dict[str, Any]:
    """Field-name mapping of a message (shallow; nested dicts are shared, not copied)."""
    return {name: getattr(msg, name) for name in FIELD_NAMES[type(msg)]}
