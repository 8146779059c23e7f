"""What every venue module shares: the event union, the errors a parser may raise, and typed field readers.

Every value read from a frame goes through one of the readers below, so a wrong type (a list where a
side string belongs, `true` for a price, `1e160` for a quantity, a year-2262 timestamp) is a BadFrame at
the boundary, never a TypeError or an absurd event downstream.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import numpy as np
import orjson

from common.columns import LiquidationBatch
from common.schema import NOTIONAL_RANGE, PRICE_RANGE, QTY_RANGE, Liquidation, MarketContext, PriceTick
from ingest.symbols import UnknownSymbol

Event = Liquidation | PriceTick | MarketContext
T = TypeVar("T")

# An exchange time must fit int64 nanoseconds (msgpack, numpy); the plausibility window around receive
# time is the runner's (`ingest.frames`), configurable.
MAX_TS_MS = (2**63 - 1) // 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_SCALAR = frozenset((str, int, float))  # JSON scalars a number may arrive as (exact types: bool is excluded)


class BadFrame(ValueError):
    """A frame that is neither data we understand nor a known control message; counted and skipped."""


class ReconnectRequested(Exception):
    """The venue announced a disconnect (e.g. OKX 64008 maintenance notice): reconnect ahead of it."""


class SubscriptionRejected(BadFrame):
    """The venue refused a subscription (e.g. Bybit "handler not found" for a topic): a bad frame, said once."""

    def __init__(self, message: str, detail: str, symbols: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.detail = detail
        self.symbols = symbols  # venue-native symbols the refused topics name, when the venue says which


def number(value: object, name: str) -> float:
    """A venue's decimal string or JSON number as a finite float; anything else is a bad frame."""
    if type(value) not in _SCALAR:
        raise BadFrame(f"{name} is not a number: {value!r:.80}")
    try:
        x = float(value)
    except (ValueError, OverflowError):
        raise BadFrame(f"{name} is not a number: {value!r:.80}") from None
    if not math.isfinite(x):
        raise BadFrame(f"{name} must be finite: {value!r:.80}")
    return x


def positive(value: object, name: str) -> float:
    """Parse a venue's decimal string; non-finite or non-positive is a bad frame, never an event."""
    x = number(value, name)
    if not x > 0.0:
        raise BadFrame(f"{name} must be finite and positive: {value!r:.80}")
    return x


def ms_to_ns(value: object, name: str = "ts") -> int:
    """An integer ms timestamp (JSON int or digit string) as ns; it must fit int64 ns."""
    if type(value) not in _SCALAR:
        raise BadFrame(f"{name} is not an integer ms timestamp: {value!r:.80}")
    try:
        ms = int(value)
    except (ValueError, OverflowError):
        raise BadFrame(f"{name} is not an integer ms timestamp: {value!r:.80}") from None
    if type(value) is float and ms != value:
        raise BadFrame(f"{name} is not an integer ms timestamp: {value!r:.80}")
    if not 0 < ms <= MAX_TS_MS:
        raise BadFrame(f"{name} out of range: {value!r:.80}")
    return ms * 1_000_000


def iso_to_ns(value: object, name: str = "ts") -> int:
    """An ISO-8601 time with a zone (`2026-04-04T00:29:19.353Z`) as ns since the epoch; it must fit int64 ns."""
    if not isinstance(value, str) or len(value) > 40:
        raise BadFrame(f"{name} is not an ISO time: {value!r:.80}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise BadFrame(f"{name} is not an ISO time: {value!r:.80}") from None
    if t.tzinfo is None:
        raise BadFrame(f"{name} has no time zone: {value!r:.80}")
    delta = t - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if not 0 < ns <= MAX_TS_MS * 1_000_000:
        raise BadFrame(f"{name} out of range: {value!r:.80}")
    return ns


def lookup(table: Mapping[str, T], value: object, name: str) -> T:
    """A fixed-vocabulary field (a side) through its table; a non-string or unknown value is a bad frame."""
    if isinstance(value, str):
        found = table.get(value)
        if found is not None:
            return found
    raise BadFrame(f"bad {name} {value!r:.80}")


_P0, _P1 = PRICE_RANGE
_Q0, _Q1 = QTY_RANGE
_N0, _N1 = NOTIONAL_RANGE


def _out_of_range(**values: float) -> BadFrame:
    bounds = {"price": PRICE_RANGE, "qty": QTY_RANGE, "notional": NOTIONAL_RANGE}
    name, x = next((k, v) for k, v in values.items() if not bounds[k][0] <= v <= bounds[k][1])
    return BadFrame(f"{name} {x:.6g} outside the sanity range {bounds[name][0]:g}..{bounds[name][1]:g}")


def liquidation(exchange: str, symbol: str, native: str, side: str, price: float, qty: float, notional: float,
                ts_event: int, ts_recv: int, completeness: str) -> Liquidation:
    """The one Liquidation constructor for parsers: per-coin price, qty and USD notional range-checked;
    `completeness` is the venue module's COMPLETENESS."""
    if not (_P0 <= price <= _P1 and _Q0 <= qty <= _Q1 and _N0 <= notional <= _N1):  # one test on the hot path
        raise _out_of_range(price=price, qty=qty, notional=notional)
    return tuple.__new__(Liquidation, (exchange, symbol, native, side, price, qty, notional, ts_event, ts_recv,
                                       completeness == "throttled", completeness))  # no Python-level __new__


def liquidation_columns(exchange: str, symbol: str, native: str, sides: list[str], side_codes: np.ndarray,
                        price: np.ndarray, qty: np.ndarray, notional: np.ndarray, ts_event: np.ndarray, ts_recv: int,
                        completeness: str) -> LiquidationBatch | None:
    """`liquidation` for a whole batch frame of one symbol, as columns (`sides`: the side table `side_codes` index):
    the same range checks on whole columns, and None if any event fails them (the parser then takes its per-item
    path, which keeps the good events and names the bad)."""
    if not ((price >= _P0) & (price <= _P1) & (qty >= _Q0) & (qty <= _Q1) & (notional >= _N0)
            & (notional <= _N1)).all():
        return None
    n = len(side_codes)
    one = np.zeros(n, np.intp)  # the code of a field with one value in the batch (read-only by convention)
    text = {"exchange": ([exchange], one), "symbol": ([symbol], one), "native_symbol": ([native], one),
            "side": (sides, side_codes), "completeness": ([completeness], one)}
    return LiquidationBatch(n, text, {"price": price, "qty": qty, "notional_usd": notional, "ts_event": ts_event,
                                      "ts_recv": np.full(n, ts_recv, np.int64),
                                      "throttled": np.full(n, completeness == "throttled", np.uint8)})


def price_tick(exchange: str, symbol: str, price: float, qty: float, ts_event: int, ts_recv: int) -> PriceTick:
    """The one PriceTick constructor for parsers, range-checked like `liquidation`."""
    if not (_P0 <= price <= _P1 and _Q0 <= qty <= _Q1):
        raise _out_of_range(price=price, qty=qty)
    return PriceTick(exchange, symbol, price, qty, ts_event, ts_recv)


class Report(NamedTuple):
    """Events of one batch frame plus one message per skipped (bad) item of that batch; the events of a frame
    read as columns are a LiquidationBatch (a sequence of Liquidation)."""

    events: list[Event] | LiquidationBatch
    skipped: list[str]


def each_item(label: str, items: Iterable[Any],
              convert: Callable[[dict[str, Any]], Event | list[Event] | None]) -> Report:
    """A batch frame's items through `convert` (one event, several, or None for an item that is none):
    an item that is not an object or raises BadFrame is skipped and named, the others' events kept."""
    events: list[Event] = []
    skipped: list[str] = []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise BadFrame("item is not an object")
            out = convert(item)
        except BadFrame as exc:
            skipped.append(f"{label}: {exc}")
            continue
        if type(out) is list:
            events.extend(out)
        elif out is not None:
            events.append(out)
    return Report(events, skipped)


def events_or_raise(report: Report) -> list[Event] | LiquidationBatch:
    """Batch policy shared by the venues: good items pass; a frame whose every item is bad is a bad frame."""
    if report.skipped and not report.events:
        raise BadFrame("; ".join(report.skipped[:3]))
    return report.events


def load_object(frame: str | bytes) -> dict[str, Any]:
    """The frame as a JSON object, or BadFrame: every venue's first step."""
    try:
        msg = orjson.loads(frame)
    except (orjson.JSONDecodeError, TypeError, UnicodeError):
        raise BadFrame("not JSON") from None
    if not isinstance(msg, dict):
        raise BadFrame("not a JSON object")
    return msg


def symbol_of(normalize: Callable[[str], tuple[str, float]], native: object) -> tuple[str, float]:
    """A venue's instrument name -> (canonical symbol, multiplier) via `normalize`, or BadFrame."""
    if not isinstance(native, str) or len(native) > 64:
        raise BadFrame(f"bad symbol {native!r:.80}")
    try:
        return normalize(native)
    except UnknownSymbol:
        raise BadFrame(f"unknown symbol format {native!r:.80}") from None
