"""Row validation at the receiving socket: every decoded row is checked once against its schema type.

A well-formed frame can still carry a row no stage can use: a string notional, a NaN timestamp, an
int symbol, a 50 MB exchange name, 1e300, a string risk. `bad_rows(kind, rows)` finds them (right
type per field, finite numbers inside a sane range per field, capped string lengths, nested mappings
of the right shape) so `common.wire.decode` drops them and the batch's good rows pass.

The per-event kinds (liquidation, price) are on the hot path: one unrolled boolean test per row, and
the field-by-field walk that names the reason only for a row that failed it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common.logs import clip
from common.schema import (
    COMPLETENESS_LEVELS,
    FUNDING_RANGE,
    LEVELS,
    LONG,
    NOTIONAL_RANGE,
    OI_RANGE,
    OI_USD_RANGE,
    PRICE_RANGE,
    QTY_RANGE,
    SHORT,
)

Check = Callable[[Any], bool]

MAX_SYMBOL = 40  # canonical and native symbols ("1000000BABYDOGEUSDT", "BTC-USDT-SWAP")
MAX_NAME = 32  # exchange, level, regime, direction, window and factor names
MAX_TEXT = 2048  # a snapshot's explanation (a signal's wraps it, and MARKET's names every symbol: 8x)
MAX_ITEMS = 64  # entries in a window-, venue- or factor-keyed mapping
MAX_TREE_ITEMS = 10_000  # entries in one free-form mapping or list (MARKET lists every symbol at ALERT+)
MAX_DEPTH = 4  # nesting below a message field (Signal.components -> factors -> name -> raw)
TS_MAX = (1 << 63) - 1  # ns timestamps and counters fit an int64
MIN_PRICE, MAX_PRICE = PRICE_RANGE  # the schema's sanity ranges: what ingest accepts, the wire accepts
MIN_QTY, MAX_QTY = QTY_RANGE
MIN_USD, MAX_USD = NOTIONAL_RANGE
MAX_RATE = 1e15  # USD/s and its finite differences (USD/s², USD/s³ on 100 ms windows reach ~1e13)
MAX_ABS = 1e18  # any other number in a nested mapping
EPS = 1e-9

_NUM = (float, int)
_SIDES = frozenset((LONG, SHORT))
_LEVELS = frozenset(LEVELS)
_COMPLETENESS = frozenset(COMPLETENESS_LEVELS)


# -- field checks (each returns True when the value is acceptable) ---------------------------------
def text(limit: int, empty: bool = False) -> Check:
    lo = 0 if empty else 1
    return lambda v: type(v) is str and lo <= len(v) <= limit


def one_of(values: frozenset[str]) -> Check:
    return lambda v: type(v) is str and v in values


def number(lo: float, hi: float) -> Check:
    """int or float (never bool) within [lo, hi]; NaN fails every comparison, so it fails here."""
    return lambda v: type(v) in _NUM and lo <= v <= hi


def number_or_nan(lo: float, hi: float) -> Check:
    """`number(lo, hi)`, or NaN: the documented "not sent" of MarketContext and snapshot context fields.
    Infinities still fail."""
    return lambda v: type(v) in _NUM and (lo <= v <= hi or v != v)


def number_or_none(lo: float, hi: float) -> Check:
    """`number(lo, hi)` or None: a snapshot's market-context fields when no venue reports them."""
    return lambda v: v is None or (type(v) in _NUM and lo <= v <= hi)


def integer(lo: int = 0, hi: int = TS_MAX) -> Check:
    return lambda v: type(v) is int and lo <= v <= hi


def boolean(v: Any) -> bool:
    return type(v) is bool


def mapping(values: Check, limit: int = MAX_ITEMS) -> Check:
    """A dict of short string keys to values that pass `values`."""
    def ok(v: Any) -> bool:
        if type(v) is not dict or len(v) > limit:
            return False
        for k, x in v.items():
            if type(k) is not str or len(k) > MAX_NAME or not values(x):
                return False
        return True
    return ok


def numbers(lo: float, hi: float, limit: int = MAX_ITEMS) -> Check:
    """`mapping(number(lo, hi))` inlined: window-keyed mappings are most of a snapshot."""
    def ok(v: Any) -> bool:
        if type(v) is not dict or len(v) > limit:
            return False
        for k, x in v.items():
            if type(k) is not str or len(k) > MAX_NAME or type(x) not in _NUM or not lo <= x <= hi:
                return False
        return True
    return ok


def tree(v: Any, depth: int = MAX_DEPTH) -> bool:
    """JSON-like data of bounded size: finite bounded numbers, capped strings, bool, None, and dicts
    (string keys) and lists of those, nested at most `depth` deep."""
    t = type(v)
    if t is dict:
        if depth <= 0 or len(v) > MAX_TREE_ITEMS:
            return False
        for k, x in v.items():
            if type(k) is not str or len(k) > MAX_TEXT:
                return False
            tx = type(x)  # leaves inline: a snapshot's `extra` is ~100 of them, a call each would double the cost
            if tx is float:
                if not -MAX_ABS <= x <= MAX_ABS:
                    return False
            elif tx is dict or tx is list or tx is int or tx is str:
                if not tree(x, depth - 1):
                    return False
            elif tx is not bool and x is not None:
                return False
        return True
    if t is float:
        return -MAX_ABS <= v <= MAX_ABS
    if t is int:
        return -TS_MAX <= v <= TS_MAX
    if t is str:
        return len(v) <= MAX_TEXT
    if t is bool or v is None:
        return True
    if t is list:
        if depth <= 0 or len(v) > MAX_TREE_ITEMS:
            return False
        for x in v:
            if not tree(x, depth - 1):
                return False
        return True
    return False


def _snapshot_extra(v: Any) -> bool:
    """`MetricsSnapshot.extra`: any bounded tree, and the keys signals read have their types."""
    if type(v) is not dict or not tree(v):
        return False
    n_eff = v.get("n_effective", 0.0)
    venues = v.get("venues", {})
    return (type(n_eff) in _NUM and 0.0 <= n_eff <= MAX_ABS and type(venues) is dict
            and all(type(d) is dict for d in venues.values()) and boolean(v.get("warming", False))
            and _ts(v.get("state_start_ns", 0)))


_ts = integer()
_rate = numbers(-MAX_RATE, MAX_RATE)
_unit = number(0.0, 1.0)
_factor = numbers(-MAX_ABS, MAX_ABS, limit=8)
_price_or_nan = number_or_nan(MIN_PRICE, MAX_PRICE)
_usd_or_none = number_or_none(-OI_USD_RANGE[1], OI_USD_RANGE[1])
_frac_or_none = number_or_none(-1.0, 1e3)
_est = number(0.0, OI_USD_RANGE[1])

# Field checks in schema order (common/schema.py): the spec of every kind.
SPECS: dict[str, tuple[tuple[str, Check], ...]] = {
    "liquidation": (
        ("exchange", text(MAX_NAME)), ("symbol", text(MAX_SYMBOL)), ("native_symbol", text(MAX_SYMBOL)),
        ("side", one_of(_SIDES)), ("price", number(MIN_PRICE, MAX_PRICE)), ("qty", number(MIN_QTY, MAX_QTY)),
        ("notional_usd", number(MIN_USD, MAX_USD)), ("ts_event", _ts), ("ts_recv", _ts),
        ("throttled", boolean), ("completeness", one_of(_COMPLETENESS))),
    "price": (
        ("exchange", text(MAX_NAME)), ("symbol", text(MAX_SYMBOL)), ("price", number(MIN_PRICE, MAX_PRICE)),
        ("qty", number(0.0, MAX_QTY)), ("ts_event", _ts), ("ts_recv", _ts)),
    "status": (
        ("exchange", text(MAX_NAME)), ("connected", boolean), ("throttled", boolean), ("reconnects", _ts),
        ("frames", _ts), ("bad_frames", _ts), ("events", _ts), ("last_frame_ns", _ts), ("ts", _ts),
        ("attempts", _ts), ("failures", _ts), ("ts_clamped", _ts), ("completeness", one_of(_COMPLETENESS))),
    "metrics": (
        ("symbol", text(MAX_SYMBOL)), ("ts", _ts), ("velocity_usd_per_s", _rate),
        ("acceleration_usd_per_s2", _rate), ("jerk_usd_per_s3", _rate),
        ("count_per_s", _rate), ("by_venue", _rate),
        ("correlation", number(-1.0 - EPS, 1.0 + EPS)), ("venues_active", integer(0, MAX_ITEMS)),
        ("risk", _unit), ("confidence", _unit), ("direction", one_of(_SIDES)),
        ("factors", mapping(_factor, limit=16)), ("explanation", text(MAX_TEXT, empty=True)),
        ("ts_trigger_event", _ts), ("ts_trigger_recv", _ts), ("extra", _snapshot_extra),
        ("oi_usd", number_or_none(*OI_USD_RANGE)), ("oi_change_1m_usd", _usd_or_none),
        ("oi_change_5m_usd", _usd_or_none), ("oi_change_5m_frac", _frac_or_none),
        ("funding", number_or_none(*FUNDING_RANGE)), ("basis", _frac_or_none), ("est_usd", _est),
        ("est_usd_low", _est), ("est_usd_high", _est)),
    "context": (
        ("exchange", text(MAX_NAME)), ("symbol", text(MAX_SYMBOL)), ("native_symbol", text(MAX_SYMBOL)),
        ("open_interest", number_or_nan(*OI_RANGE)), ("open_interest_usd", number_or_nan(*OI_USD_RANGE)),
        ("funding_rate", number_or_nan(*FUNDING_RANGE)), ("mark_price", _price_or_nan),
        ("index_price", _price_or_nan), ("ts_event", _ts), ("ts_recv", _ts)),
    "regime": (
        ("regime", text(MAX_NAME)), ("multiplier", number(0.0, 1e3)), ("ts", _ts),
        ("vol", numbers(-MAX_ABS, MAX_ABS)), ("liquidity", text(MAX_NAME)), ("trend", text(MAX_NAME)),
        ("trend_strength", number(-MAX_ABS, MAX_ABS))),
    "signal": (
        ("symbol", text(MAX_SYMBOL)), ("level", one_of(_LEVELS)), ("probability", _unit), ("confidence", _unit),
        ("direction", text(MAX_NAME, empty=True)), ("regime", text(MAX_NAME)),
        ("explanation", text(8 * MAX_TEXT, empty=True)), ("ts", _ts), ("previous_level", one_of(_LEVELS)),
        ("heartbeat", boolean), ("components", lambda v: type(v) is dict and tree(v)),
        ("data_quality", lambda v: type(v) is dict and tree(v)), ("stages", mapping(_ts, limit=16))),
}
# Fields with a default may be left off the end of a row (an older sender); the others may not.
REQUIRED = {"liquidation": 9, "price": 6, "status": 9, "metrics": 14, "regime": 3, "signal": 8, "context": 10}


def reason(kind: str, row: Any) -> str | None:
    """Why `row` is not a valid `kind` row (the first bad field, value clipped), or None if it is."""
    spec = SPECS[kind]
    if type(row) is not list or not REQUIRED[kind] <= len(row) <= len(spec):
        return f"{kind}: not a row of {REQUIRED[kind]}..{len(spec)} fields: {_clip(row)}"
    for (name, ok), v in zip(spec, row, strict=False):
        if not ok(v):
            return f"{kind}.{name}: {_clip(v)}"
    return None


def _liquidation_ok(row: Any) -> bool:
    """The hot path: the `liquidation` spec unrolled into one expression (a full 11-field row)."""
    if type(row) is not list or len(row) != 11:
        return False
    ex, sym, nat, side, price, qty, usd, tse, tsr, thr, comp = row
    return (type(ex) is str and 0 < len(ex) <= MAX_NAME and type(sym) is str and 0 < len(sym) <= MAX_SYMBOL
            and type(nat) is str and 0 < len(nat) <= MAX_SYMBOL and (side == LONG or side == SHORT)
            and type(price) in _NUM and MIN_PRICE <= price <= MAX_PRICE
            and type(qty) in _NUM and MIN_QTY <= qty <= MAX_QTY and type(usd) in _NUM and MIN_USD <= usd <= MAX_USD
            and type(tse) is int and 0 <= tse <= TS_MAX
            and type(tsr) is int and 0 <= tsr <= TS_MAX and type(thr) is bool
            and type(comp) is str and comp in _COMPLETENESS)


def _price_ok(row: Any) -> bool:
    if type(row) is not list or len(row) != 6:
        return False
    ex, sym, price, qty, tse, tsr = row
    return (type(ex) is str and 0 < len(ex) <= MAX_NAME and type(sym) is str and 0 < len(sym) <= MAX_SYMBOL
            and type(price) in _NUM and MIN_PRICE <= price <= MAX_PRICE and type(qty) in _NUM and 0.0 <= qty <= MAX_QTY
            and type(tse) is int and 0 <= tse <= TS_MAX and type(tsr) is int and 0 <= tsr <= TS_MAX)


_FAST = {"liquidation": _liquidation_ok, "price": _price_ok}


def bad_rows(kind: str, rows: list[Any]) -> list[tuple[int, str]]:
    """(index, reason) of every invalid row of a batch; empty when the whole batch is good."""
    fast = _FAST.get(kind)
    bad: list[tuple[int, str]] = []
    for i, row in enumerate(rows):
        if fast is not None and fast(row):
            continue
        why = reason(kind, row)
        if why is not None:
            bad.append((i, why))
    return bad


def _clip(v: Any) -> str:
    return clip(v, 80)
