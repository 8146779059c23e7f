"""Snapshots of a fixed seeded workload match the pinned ones (optimizations must not move numbers)."""
from __future__ import annotations

import json
import math
from typing import Any

from regression_scenario import EXPECTED, build

REL, ABS = 1e-9, 1e-6  # float rounding only: ABS covers values that are 0 up to cancellation
# A kinematic factor reports the window with the best score, ties to the shortest. When every window
# scores 0 up to rounding (e.g. one liquidation per window: evidence 0), which window "wins" is float
# noise, and so is the raw value read on it; only the score is compared then.
ZERO_SCORE = 1e-12
# Fields added after the pinned file, with tests of their own (test_market_context.py, test_est_usd.py):
# the pinned numbers must not move, the new fields are not in them.
ADDED = ("oi_usd", "oi_change_1m_usd", "oi_change_5m_usd", "oi_change_5m_frac", "funding", "basis", "est_usd",
         "est_usd_low", "est_usd_high")
ADDED_EXTRA = ("market_context",)


def _diff(path: str, want: Any, got: Any, out: list[str]) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        if set(want) != set(got):
            out.append(f"{path}: keys {sorted(want)} != {sorted(got)}")
        for key in want.keys() & got.keys():
            _diff(f"{path}.{key}", want[key], got[key], out)
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            _diff(f"{path}[{i}]", w, g, out)
    elif isinstance(want, float) and isinstance(got, float):
        if not math.isclose(want, got, rel_tol=REL, abs_tol=ABS):
            out.append(f"{path}: {want!r} != {got!r}")
    elif type(want) is not type(got) or want != got:
        out.append(f"{path}: {want!r} != {got!r}")


def _drop_noise_ties(want: dict[str, Any], got: dict[str, Any]) -> None:
    for name in ("acceleration", "jerk"):
        if "factors" in want and max(want["factors"][name]["score"], got["factors"][name]["score"]) <= ZERO_SCORE:
            for snap in (want, got):
                snap["factors"][name]["raw"] = 0.0
                snap["extra"]["factor_windows"][name] = ""


def test_snapshots_of_the_seeded_workload_match_the_pinned_ones() -> None:
    expected = json.loads(EXPECTED.read_text())
    got = json.loads(json.dumps(build(), sort_keys=True))  # same JSON round trip as the stored file
    assert len(got) == len(expected)
    problems: list[str] = []
    for i, (want, have) in enumerate(zip(expected, got, strict=True)):
        for key in ADDED:
            if key not in want:
                have.pop(key, None)
        for key in ADDED_EXTRA:
            if key not in want.get("extra", {}):
                have.get("extra", {}).pop(key, None)
        _drop_noise_ties(want, have)
        _diff(f"[{i}]{want.get('symbol', '')}", want, have, problems)
    assert not problems, "\n".join(problems[:20])
