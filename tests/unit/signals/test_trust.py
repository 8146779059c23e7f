"""The signals trust boundary: a snapshot that contradicts itself is refused, a consistent one passes."""
from __future__ import annotations

from dataclasses import replace

import pytest

from analytics.engine import Engine
from common.config import load_config
from common.schema import Liquidation
from signals.trust import inconsistency
from tests.unit.signals.helpers import snap

T = 1_700_000_000_000_000_000


def test_engine_snapshots_are_consistent():
    eng = Engine(load_config(None, env={}).analytics)
    for i in range(300):
        ts = T + i * 30_000_000
        eng.update(Liquidation("bybit" if i % 3 else "okx", "BTCUSDT", "BTCUSDT", "long" if i % 4 else "short",
                               60_000.0, 1.0 + i % 7, 60_000.0 * (1.0 + i % 7), ts, ts, i % 3 == 0))
    s = eng.snapshot("BTCUSDT", T + 300 * 30_000_000)
    assert s.risk > 0.3 and inconsistency(s) is None
    assert inconsistency(eng.snapshot("NEWUSDT", T)) is None


def forged_no_flow():
    s = snap(0.995, 100.0)
    return replace(s, velocity_usd_per_s={"10s": 0.0, "60s": 0.0}, count_per_s={"10s": 0.0})


@pytest.mark.parametrize(("make", "words"), [
    (forged_no_flow, "without any liquidation flow"),
    (lambda: replace(snap(0.3, 1.0), risk=0.995), "above the"),
    (lambda: replace(snap(0.9, 1.0), factors={"velocity": {"raw": 1.0, "score": 1.0, "weight": 1.0,
                                                           "contribution": 1.0},
                                              "jerk": {"raw": 1.0, "score": 1.0, "weight": 1.0,
                                                       "contribution": 1.0}}), "weights sum"),
    (lambda: replace(snap(0.5, 1.0), factors={"velocity": {"score": 0.1, "weight": 1.0, "contribution": 0.9}}),
     "contribution"),
    (lambda: replace(snap(0.5, 1.0), extra={"n_effective": 80.0}), "n_eff 80"),
    (lambda: replace(snap(0.5, 1.0), extra={"factor_windows": {"velocity": "10s"}}), "velocity factor"),
])
def test_self_contradicting_snapshots_are_refused(make, words):
    why = inconsistency(make())
    assert why is not None and words in why


def test_hand_built_consistent_snapshot_passes():
    assert inconsistency(snap(0.75, 1.0)) is None
