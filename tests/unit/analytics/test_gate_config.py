"""The issue-9 config keys are validated at load, with the key, the value and what is allowed."""
from __future__ import annotations

import pytest

from common.config import ConfigError, load_config


@pytest.mark.parametrize(("over", "message"), [
    ({"analytics": {"usd_gate_seconds": [50, 20, 200]}}, "analytics.usd_gate_seconds"),
    ({"analytics": {"usd_gates": {"BTCUSDT": [1e6, 2e6]}}}, "analytics.usd_gates.BTCUSDT"),
    ({"analytics": {"saturated_ratio": 0}}, "analytics.saturated_ratio"),
    ({"analytics": {"gate_min_n_eff": 0.5}}, "analytics.gate_min_n_eff"),
    ({"signals": {"calibration": "/nonexistent/cal.json"}}, "signals.calibration"),
])
def test_bad_values_name_the_key(over, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=over, env={})


def test_per_symbol_gates_take_the_usual_symbol_spellings():
    cfg = load_config(overrides={"analytics": {"usd_gates": {"btc-usdt": [1e6, 2e6, 3e6]}}}, env={})
    assert cfg.analytics.usd_gates == {"BTCUSDT": (1e6, 2e6, 3e6)}
