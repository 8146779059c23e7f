"""The calibration fit (numpy logistic regression) and how the stages read its coefficients."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.risk import FACTORS
from common import calibration
from liqcascade.tools.calibrate import fit, logistic
from signals.generator import SignalGenerator
from tests.unit.signals.helpers import NS, config, snap


def test_logistic_recovers_known_coefficients():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, size=(20_000, 2))
    eta = -2.0 + 3.0 * x[:, 0] + 1.0 * x[:, 1]
    y = (rng.uniform(size=len(eta)) < 1 / (1 + np.exp(-eta))).astype(float)
    beta = logistic(np.column_stack([np.ones(len(y)), x]), y, np.ones(len(y)), l2=0.0)
    assert beta == pytest.approx([-2.0, 3.0, 1.0], abs=0.15)


def test_fit_gives_normalized_non_negative_weights_and_a_map():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, size=(5_000, len(FACTORS)))
    y = (x[:, 0] + x[:, 5] + rng.normal(0, 0.3, len(x)) > 1.0).astype(float)
    out = fit({"x": x, "y": y, "w": np.ones(len(y)), "offset": np.zeros(len(y))})
    assert sum(out["weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert min(out["weights"].values()) >= 0.0
    assert out["weights"]["velocity"] > 0.3 and out["weights"]["one_sided"] > 0.3  # what carries the label
    assert out["map"]["b"] > 0


def test_the_shipped_file_names_every_factor_and_signals_apply_its_map():
    cal = calibration.load("builtin")
    assert set(cal["weights"]) == set(FACTORS) and {"a", "b"} <= set(cal["map"])
    a, b = calibration.risk_map("builtin")
    gen = SignalGenerator(config(calibration="builtin"))
    p, comp = gen.probability(snap(0.6, 10, direction="mixed"), gen.regime(10 * NS), 10 * NS)
    assert p == pytest.approx(1 / (1 + math.exp(-(a + b * math.log(0.6 / 0.4)))))
    assert comp["risk_calibrated"] == pytest.approx(p, abs=1e-4)  # UNKNOWN regime, no price: nothing else


def test_a_missing_calibration_file_is_a_clear_error(tmp_path):
    with pytest.raises(calibration.CalibrationError, match="calibration file"):
        calibration.load(str(tmp_path / "nope.json"))
