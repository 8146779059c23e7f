"""Fitted risk weights and the probability calibration map, shipped as a small JSON file with the package.

`liqcascade calibrate` writes it from training streams; the stages only read it: analytics takes the
factor weights, signals the map logit(p) = a + b·logit(risk) (then the hand-set regime and price-move
adjustments). "builtin" is the file next to this module; "" turns calibration off (hand-set weights
from the config, identity map).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

BUILTIN = Path(__file__).with_name("calibration.json")


class CalibrationError(ValueError):
    """A calibration file that is missing or does not hold what the stages need."""


@lru_cache(maxsize=8)
def load(source: str) -> dict[str, Any] | None:
    """The calibration named by `source` ("builtin", a path, or "" for none)."""
    if not source:
        return None
    path = BUILTIN if source == "builtin" else Path(source).expanduser()
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CalibrationError(f"calibration file {path}: {exc}") from None
    if not isinstance(data.get("weights"), dict) or not isinstance(data.get("map"), dict):
        raise CalibrationError(f"calibration file {path}: needs 'weights' and 'map' tables")
    return data


def weights(source: str, default: dict[str, float]) -> dict[str, float]:
    """The fitted factor weights, or `default` (the config's hand-set ones) without a calibration."""
    cal = load(source)
    return dict(cal["weights"]) if cal else default


def risk_map(source: str) -> tuple[float, float]:
    """(a, b) of logit(p) = a + b·logit(risk); (0, 1) is the identity."""
    cal = load(source)
    if not cal:
        return 0.0, 1.0
    return float(cal["map"]["a"]), float(cal["map"]["b"])
