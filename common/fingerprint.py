"""64-bit fingerprints of events, folded from their fields: h = (h ^ x) · P (mod 2⁶⁴) field after field, then
h ^ (h >> 29). One Python int per event (a set or dict of them needs no tuple per event to allocate and hash),
computed for a whole batch with a few numpy operations (`fold`) or for one event in plain Python (`fold_one`),
the same value either way. Two different events share one with probability ~2⁻⁶⁴ per pair."""
from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

MASK = (1 << 64) - 1
P = 0x9E3779B97F4A7C15
SHIFT = 29
_FLOATS = {n: (struct.Struct(f"<{n}d"), struct.Struct(f"<{n}Q")) for n in (1, 2)}
# constant operands as 0-d uint64 arrays: numpy takes a Python (or numpy) scalar operand through its slower scalar
# path, ~1 µs more per call on a batch's columns; the same results
_P = np.array(P, dtype=np.uint64)
_SHIFT = np.array(SHIFT, dtype=np.uint64)


def fold(first: np.ndarray, rest: Iterable[np.ndarray]) -> np.ndarray:
    """Fingerprints of a batch (uint64) from its fields' columns as uint64 (an int64 or float64 column as its
    bits: `.view(np.uint64)`, no copy)."""
    h = first.astype(np.uint64)  # a copy: folded in place
    for x in rest:
        h ^= x
        h *= _P
    return h ^ (h >> _SHIFT)


def fold_one(first: int, rest: Iterable[int]) -> int:
    """`fold` of one event, from its fields as Python ints in [0, 2⁶⁴) (`float_bits`, `x & MASK` of an int)."""
    h = first
    for x in rest:
        h = ((h ^ x) * P) & MASK
    return h ^ (h >> SHIFT)


def float_bits(*xs: float) -> tuple[int, ...]:
    """The bits of one or two floats as ints: what `.view(np.uint64)` gives for a float64 column."""
    pack, unpack = _FLOATS[len(xs)]
    return unpack.unpack(pack.pack(*xs))


@lru_cache(maxsize=65536)
def text_key(text: str) -> int:
    """A stable 64-bit value of a string (the same in every process, unlike hash()): a venue, a symbol, a side.
    Cached: a feed names few distinct strings."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def text_keys(table: list[str], codes: np.ndarray) -> np.ndarray:
    """`text_key` of a column given as its table of distinct strings and codes (`common.columns`), as uint64."""
    return np.array([text_key(s) for s in table], dtype=np.uint64)[codes]
