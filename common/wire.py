"""The one encode/decode pair for the wire: multipart frames [topic, seq, body].

* topic: ASCII, hierarchical, for SUB prefix filtering (`liq.BTCUSDT`, `signal.ALERT.BTCUSDT`).
* seq:   msgpack [sender, n]: n counts per (sender, topic) from 1, so receivers detect drops
         even behind SUB prefix filters.
* body:  msgpack [schema_version, kind, [row, ...]]: a batch of messages of one kind, each row the
         message's fields in declaration order (see `common.schema`). Batching rows in one frame is
         what lets one ipc hop carry ~1.6M events/s instead of ~0.36M.
         Liquidation batches of COLUMNS_MIN or more go as columns instead: [schema_version, "liquidation",
         {column map}] (`common.columns`), decoded into a LiquidationBatch that analytics reads without
         Python work per event and every other consumer iterates as Liquidation structs. Row bodies of
         liquidations (small batches, an older sender) decode as before.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np

from common.columns import LiquidationBatch, bad_events
from common.logs import RateLimitedLog, clip
from common.schema import FIELD_NAMES, MESSAGE_TYPES, SCHEMA_VERSION, TUPLE_TYPES, Liquidation
from common.validate import bad_rows

log = logging.getLogger(__name__)
_log = RateLimitedLog(log)
MAX_SENDER = 64

# Liquidation batches of at least this many go as columns: below it rows cost less to pack and unpack
# (columns pay ~25 numpy calls a frame; a row costs ~1 us more to decode, see common.columns).
COLUMNS_MIN = 32

_packb = msgpack.Packer(use_bin_type=True).pack
_pack_array_header = msgpack.Packer(use_bin_type=True).pack_array_header
_ONE_ROW_HEAD: dict[str, bytes] = {}  # kind -> the bytes before the row of a one-row body (`packed_row`)


class WireError(ValueError):
    """A frame that does not follow the wire format or schema version."""


def encode(topic: bytes, sender: str, seq: int, msgs: Sequence[Any]) -> list[bytes]:
    """Encode a non-empty batch of messages of one kind into the three frames."""
    if len(msgs) >= COLUMNS_MIN and (isinstance(msgs, LiquidationBatch) or type(msgs[0]) is Liquidation):
        return [topic, _packb((sender, seq)), _packb((SCHEMA_VERSION, Liquidation.KIND,  # type: ignore[attr-defined]
                                                       LiquidationBatch.of(msgs).to_wire()))]
    cls = type(msgs[0])
    if cls in TUPLE_TYPES:
        rows: Sequence[Any] = msgs if type(msgs) in (list, tuple) else list(msgs)  # NamedTuples pack as arrays
    else:
        names = FIELD_NAMES[cls]
        rows = [[getattr(m, n) for n in names] for m in msgs]
    return [topic, _packb((sender, seq)), _packb((SCHEMA_VERSION, cls.KIND, rows))]


def decode(frames: Sequence[bytes], rejected: list[str] | None = None) -> tuple[bytes, str, int, Sequence[Any]]:
    """Decode frames into (topic, sender, seq, messages); raises WireError on anything malformed.
    A column body of liquidations comes as a LiquidationBatch (a sequence of Liquidation structs with its
    columns), any row body as a list.

    Every row is validated against its schema type once, here (`common.validate`): an invalid row is
    dropped and its reason appended to `rejected` (the receiver counts them), the batch's good rows
    pass. Without `rejected`, dropped rows are logged here, rate-limited.
    """
    if len(frames) != 3:
        raise WireError(f"expected 3 frames, got {len(frames)}")
    topic, head, body = frames
    try:
        sender, seq = msgpack.unpackb(head, use_list=False)
        version, kind, rows = msgpack.unpackb(body, raw=False, strict_map_key=False)
        cls = MESSAGE_TYPES[kind]
        if version != SCHEMA_VERSION:
            raise WireError(f"schema version {version}, expected {SCHEMA_VERSION}")
        columns = cls is Liquidation and type(rows) is dict
        if (type(sender) is not str or len(sender) > MAX_SENDER or type(seq) is not int
                or not (columns or type(rows) is list)):
            raise WireError(f"bad envelope: sender {clip(sender, 80)}, seq {clip(seq, 40)}, rows {type(rows)}")
        if columns:
            batch = LiquidationBatch.from_wire(rows)
            bad = bad_events(batch)
            if bad:
                batch = batch.take(_good(batch.n, bad, rejected))
            return bytes(topic), sender, seq, batch
        bad = bad_rows(kind, rows)
        if bad:
            rows = _drop(rows, bad, rejected)
        return bytes(topic), sender, seq, [cls(*row) for row in rows]
    except WireError:
        raise
    except Exception as exc:  # msgpack, KeyError, TypeError from a foreign or corrupt frame
        raise WireError(f"undecodable frame on {clip(bytes(topic), 64)}: {clip(str(exc), 200)}") from exc


def _drop(rows: list[Any], bad: list[tuple[int, str]], rejected: list[str] | None) -> list[Any]:
    """The good rows of a batch; the reasons of the bad ones go to `rejected` (or the log)."""
    skip = set(_reject(bad, rejected))
    return [row for i, row in enumerate(rows) if i not in skip]


def _good(n: int, bad: list[tuple[int, str]], rejected: list[str] | None) -> np.ndarray:
    """Mask of the good events of a column batch of n; the reasons of the bad ones as in `_drop`."""
    keep = np.ones(n, dtype=bool)
    keep[_reject(bad, rejected)] = False
    return keep


def _reject(bad: list[tuple[int, str]], rejected: list[str] | None) -> list[int]:
    if rejected is not None:
        rejected.extend(why for _, why in bad)
    else:
        _log.warning("rows", "dropped %d invalid row(s), e.g. %s", len(bad), bad[0][1])
    return [i for i, _ in bad]


def packed_row(body: bytes, kind: str) -> bytes | None:
    """The one row of a one-row body of `kind` as it was packed (a relay joins such rows with `rows_body`
    instead of packing the messages again), or None for any other body. Only for a body `decode` accepted
    whole: its row then ends where the body does."""
    head = _ONE_ROW_HEAD.get(kind)
    if head is None:
        head = _ONE_ROW_HEAD[kind] = b"\x93" + _packb(SCHEMA_VERSION) + _packb(kind) + b"\x91"
    return body[len(head):] if body.startswith(head) and len(body) > len(head) else None


def rows_body(kind: str, rows: Sequence[bytes]) -> bytes:
    """A body of `kind` from rows already packed (`packed_row`): what `encode` would pack for the messages
    they were decoded from, when their sender packed them as `encode` does."""
    return b"".join((b"\x93", _packb(SCHEMA_VERSION), _packb(kind), _pack_array_header(len(rows)), *rows))


def decode_head(frames: Sequence[bytes]) -> tuple[bytes, str, int]:
    """(topic, sender, seq) without unpacking the body: what a relay needs to count gaps and forward."""
    if len(frames) != 3:
        raise WireError(f"expected 3 frames, got {len(frames)}")
    try:
        sender, seq = msgpack.unpackb(frames[1], use_list=False)
    except Exception as exc:  # msgpack errors, or not a pair
        raise WireError(f"undecodable header on {bytes(frames[0])[:64]!r}: {exc}") from exc
    return bytes(frames[0]), sender, seq


class SeqStamper:
    """Hands out per-topic sequence numbers for one sender."""

    __slots__ = ("sender", "_next")

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self._next: dict[bytes, int] = defaultdict(int)

    def stamp(self, topic: bytes, msgs: Sequence[Any]) -> list[bytes]:
        n = self._next[topic] + 1
        self._next[topic] = n
        return encode(topic, self.sender, n, msgs)

    def stamp_body(self, topic: bytes, body: bytes) -> list[bytes]:
        """Frames that forward an already encoded body (from `decode`d frames) under this sender's
        sequence: a relay re-stamps what it passes on without packing it again."""
        n = self._next[topic] + 1
        self._next[topic] = n
        return [topic, _packb((self.sender, n)), body]


class GapCounter:
    """Counts sequence gaps per (sender, topic); a restarted sender (seq back to 1) is not a gap."""

    __slots__ = ("gaps", "_last", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.gaps = 0
        self._last: dict[tuple[str, bytes], int] = {}

    def check(self, sender: str, topic: bytes, seq: int) -> int:
        """Record seq; return how many messages were missed before it (0 if none)."""
        key = (sender, topic)
        last = self._last.get(key)
        self._last[key] = seq
        if last is None or seq == last + 1 or seq <= 1:
            return 0
        missed = seq - last - 1 if seq > last else 0
        if missed:
            self.gaps += missed
            _log.warning("gap", "%s: %d message(s) missed from %s on %s (seq %d -> %d; %d in all)",
                         self.name, missed, clip(sender, 64), clip(topic, 64), last, seq, self.gaps)
        return missed
