"""common.schema.metrics_snapshot, the engine's fast MetricsSnapshot constructor: the same object as the dataclass's."""
from __future__ import annotations

import dataclasses

import pytest

from common.schema import FIELD_NAMES, MetricsSnapshot, metrics_snapshot
from common.wire import decode, encode

VALUES = ("BTCUSDT", 5, {"10s": 1.5}, {"10s": 0.1}, {"10s": 0.0}, {"10s": 2.0}, {"binance": 1.5}, 0.25, 2, 0.4,
          0.7, "long", {"velocity": {"raw": 1.0}}, "text", 3, 4, {"gate": {"met": ""}}, 1e9, -1e6, -2e6, -0.002,
          1e-4, -2e-3, 7.0, 6.0, 9.0)


def test_same_snapshot_as_the_dataclass_constructor() -> None:
    fast, slow = metrics_snapshot(*VALUES), MetricsSnapshot(*VALUES)
    assert type(fast) is MetricsSnapshot
    assert fast == slow and repr(fast) == repr(slow)
    assert [getattr(fast, n) for n in FIELD_NAMES[MetricsSnapshot]] == list(VALUES)
    assert encode(b"m", "a", 1, [fast]) == encode(b"m", "a", 1, [slow])
    assert decode(encode(b"m", "a", 1, [fast]))[3] == [slow]


def test_stays_frozen_and_checks_the_count() -> None:
    snap = metrics_snapshot(*VALUES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.risk = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        metrics_snapshot(*VALUES[:-1])
