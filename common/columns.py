"""A batch of liquidations as columns: what the wire carries for the hot ingest -> analytics path.

Numeric fields are little-endian numpy arrays (on the wire: msgpack bin, read back with np.frombuffer, no
Python work per event); string fields are a per-batch table of the distinct values plus integer codes
(a batch of one venue and symbol carries each name once). Consumers that want objects iterate the batch
and get the same `Liquidation` structs, built once, on first use; analytics reads the columns.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import Any, overload

import numpy as np

from common.logs import clip
from common.schema import Liquidation
from common.validate import MAX_PRICE, MAX_QTY, MAX_USD, MIN_PRICE, MIN_QTY, MIN_USD, SPECS, reason

TEXT = ("exchange", "symbol", "native_symbol", "side", "completeness")
NUMBERS = {"price": "<f8", "qty": "<f8", "notional_usd": "<f8", "ts_event": "<i8", "ts_recv": "<i8",
           "throttled": "u1"}
FIELDS = Liquidation._fields
assert set(FIELDS) == set(TEXT) | set(NUMBERS)


class ColumnError(ValueError):
    """Columns that do not describe a batch (wrong lengths, codes outside their table, unknown fields)."""


class LiquidationBatch(Sequence[Liquidation]):
    """`n` liquidations: `text[f]` = (table of distinct values, codes: index into it per event) for the
    string fields, `num[f]` a numpy array per numeric field (throttled as 0/1 bytes). Immutable."""

    __slots__ = ("n", "text", "num", "_structs")

    def __init__(self, n: int, text: dict[str, tuple[list[Any], np.ndarray]], num: dict[str, np.ndarray]) -> None:
        self.n = n
        self.text = text
        self.num = num
        self._structs: list[Liquidation] | None = None

    # -- building ---------------------------------------------------------------------------------
    @classmethod
    def of(cls, liqs: Sequence[Liquidation]) -> LiquidationBatch:
        """Columns of a sequence of Liquidation structs (a LiquidationBatch is returned as it is)."""
        if isinstance(liqs, LiquidationBatch):
            return liqs
        n = len(liqs)
        cols = dict(zip(FIELDS, zip(*liqs, strict=True), strict=True)) if n else dict.fromkeys(FIELDS, ())
        text = {}
        for f in TEXT:
            table = dict.fromkeys(cols[f])
            index = {v: i for i, v in enumerate(table)}
            text[f] = (list(table), np.fromiter(map(index.__getitem__, cols[f]), np.intp, n))
        num = {f: np.array(cols[f], dtype=dt).reshape(n) for f, dt in NUMBERS.items()}
        out = cls(n, text, num)
        out._structs = liqs if type(liqs) is list else list(liqs)  # noqa: SLF001 - its own cache
        return out

    @classmethod
    def from_wire(cls, body: Any) -> LiquidationBatch:
        """The columns of a decoded msgpack map (`to_wire`); ColumnError if it is not one."""
        if type(body) is not dict or set(body) != {"n", *FIELDS}:
            keys = sorted(map(str, body))[:16] if type(body) is dict else type(body).__name__
            raise ColumnError(f"not a liquidation column map: {clip(keys, 200)}")
        n = body["n"]
        if type(n) is not int or n < 0:
            raise ColumnError(f"bad row count {n!r:.40}")
        text = {}
        for f in TEXT:
            pair = body[f]
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not list or type(pair[1]) is not bytes:
                raise ColumnError(f"{f}: not [table, codes]")
            table, raw = pair
            width = len(raw) // n if n else 1
            if width not in (1, 2, 4) or width * n != len(raw):
                raise ColumnError(f"{f}: {len(raw)} code bytes for {n} rows")
            codes = np.frombuffer(raw, dtype=f"<u{width}")
            if n and int(codes.max()) >= len(table):
                raise ColumnError(f"{f}: code {int(codes.max())} outside a table of {len(table)}")
            text[f] = (table, codes)
        num = {}
        for f, dt in NUMBERS.items():
            raw = body[f]
            if type(raw) is not bytes or len(raw) != n * np.dtype(dt).itemsize:
                raise ColumnError(f"{f}: not {n} packed {dt} values")
            num[f] = np.frombuffer(raw, dtype=dt)
        if n and int(num["throttled"].max()) > 1:
            raise ColumnError("throttled: a byte other than 0 or 1")
        return cls(n, text, num)

    def to_wire(self) -> dict[str, Any]:
        """A msgpack-ready map: {"n": rows, text field: [table, codes as u1/u2/u4 bytes], number field: bytes}."""
        body: dict[str, Any] = {"n": self.n}
        for f, (table, codes) in self.text.items():
            width = "<u1" if len(table) <= 0xFF else "<u2" if len(table) <= 0xFFFF else "<u4"
            body[f] = [table, codes.astype(width).tobytes()]
        for f, dt in NUMBERS.items():
            body[f] = self.num[f].astype(dt, copy=False).tobytes()
        return body

    def take(self, idx: np.ndarray) -> LiquidationBatch:
        """The events at `idx` (an index array or a boolean mask), in that order; tables are kept whole."""
        out = LiquidationBatch(0, {f: (t, c[idx]) for f, (t, c) in self.text.items()},
                               {f: a[idx] for f, a in self.num.items()})
        out.n = len(out.num["price"])
        return out

    def groups(self, *fields: str) -> list[tuple[tuple[Any, ...], LiquidationBatch]]:
        """The events split by the values of text `fields` (e.g. exchange and symbol), each group in arrival
        order, the groups in order of first appearance: whole-column work, no Python per event. Structs
        already built are carried over."""
        if not self.n:
            return []
        key = np.zeros(self.n, np.int64)
        for f in fields:
            table, codes = self.text[f]
            key = key * len(table) + codes
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        order = np.argsort(inverse, kind="stable")  # events of a group together, each in arrival order
        members = np.split(order, np.cumsum(np.bincount(inverse))[:-1])
        by_value: dict[tuple[Any, ...], list[np.ndarray]] = {}
        for g in np.argsort(first).tolist():
            idx = members[g]
            row = int(idx[0])
            value = tuple(self.text[f][0][self.text[f][1][row]] for f in fields)
            by_value.setdefault(value, []).append(idx)  # a joined table may name one value twice
        out = []
        for value, parts in by_value.items():
            idx = parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))
            group = self.take(idx)
            if self._structs is not None:
                group._structs = [self._structs[i] for i in idx.tolist()]  # noqa: SLF001 - its own cache
            out.append((value, group))
        return out

    @staticmethod
    def concat(parts: Sequence[LiquidationBatch]) -> LiquidationBatch:
        """One batch of `parts` in order: their tables merged (each value once, so a tape message joined
        from k flushes does not carry its symbol names k times to every per-symbol split), codes remapped."""
        if len(parts) == 1:
            return parts[0]
        text = {}
        for f in TEXT:
            index: dict[Any, int] = {}
            codes = []
            for p in parts:
                t, c = p.text[f]
                remap = np.fromiter([index.setdefault(v, len(index)) for v in t], np.intp, len(t))
                codes.append(remap[c])
            text[f] = (list(index), np.concatenate(codes) if codes else np.zeros(0, np.intp))
        num = {f: np.concatenate([p.num[f] for p in parts]) if parts else np.zeros(0, dt) for f, dt in NUMBERS.items()}
        return LiquidationBatch(sum(p.n for p in parts), text, num)

    def values(self, field: str) -> list[Any]:
        """One field of every event, as Python objects."""
        if field in self.text:
            table, codes = self.text[field]
            return list(map(table.__getitem__, codes.tolist()))
        col = self.num[field]
        return col.astype(bool).tolist() if field == "throttled" else col.tolist()

    # -- the structs --------------------------------------------------------------------------------
    def structs(self) -> list[Liquidation]:
        """The events as Liquidation structs (built on first use, then kept)."""
        if self._structs is None:  # tuple.__new__ over zipped columns: no Python-level __new__ per event (2x)
            rows = zip(*(self.values(f) for f in FIELDS), strict=True)
            self._structs = list(map(tuple.__new__, repeat(Liquidation, self.n), rows))
        return self._structs

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> Liquidation: ...
    @overload
    def __getitem__(self, i: slice) -> list[Liquidation]: ...
    def __getitem__(self, i: int | slice) -> Liquidation | list[Liquidation]:
        return self.structs()[i]

    def __iter__(self) -> Iterator[Liquidation]:
        return iter(self.structs())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (LiquidationBatch, list, tuple)):
            return self.structs() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LiquidationBatch({self.n} events)"


def joined(parts: Sequence[Sequence[Liquidation]]) -> Sequence[Liquidation]:
    """One batch of consecutive parts (column batches or lists of structs), in order: their columns joined
    (numpy, no struct rebuilt) when any part is columns, one list of the structs otherwise."""
    if len(parts) == 1:
        return parts[0]
    if all(type(p) is list for p in parts):
        return [liq for p in parts for liq in p]
    return LiquidationBatch.concat([LiquidationBatch.of(p) for p in parts])


def bad_events(batch: LiquidationBatch) -> list[tuple[int, str]]:
    """(index, reason) of every event of `batch` that fails the liquidation spec (common.validate), checked
    on whole columns: each distinct string once, the numbers with a few comparisons."""
    n = batch.n
    if not n:
        return []
    checks = dict(SPECS["liquidation"])
    ok = np.ones(n, dtype=bool)
    for f, (table, codes) in batch.text.items():
        good = np.fromiter(map(checks[f], table), bool, len(table))
        if not good.all():
            ok &= good[codes]
    num = batch.num
    for f, (lo, hi) in (("price", (MIN_PRICE, MAX_PRICE)), ("qty", (MIN_QTY, MAX_QTY)),
                        ("notional_usd", (MIN_USD, MAX_USD))):
        col = num[f]
        ok &= (col >= lo) & (col <= hi)  # NaN fails both
    ok &= (num["ts_event"] >= 0) & (num["ts_recv"] >= 0)
    if ok.all():
        return []
    bad = np.flatnonzero(~ok).tolist()
    rows = batch.take(np.asarray(bad, dtype=np.intp))
    return [(i, reason("liquidation", list(row)) or "liquidation: invalid") for i, row in zip(bad, rows, strict=True)]
