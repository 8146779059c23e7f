"""delay_trace: where each labeled cascade's onset -> ALERT delay comes from."""
from __future__ import annotations

import pytest

from common.config import load_config
from liqcascade.tools.delay_trace import CLOCKS, summary, table, trace
from liqcascade.tools.scenario import build


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory):
    return build("cascades", seed=11, count=2).write(tmp_path_factory.mktemp("scen"))


def test_every_cascade_gets_its_clocks_in_the_order_alert_needs_them(scenario):
    rows = trace(load_config(env={}), *scenario)
    assert len(rows) == 2
    for r in rows:
        assert r["alert"] is not None
        # ALERT needs p, the guard and the gate at once ("ready"), then the confirmation
        assert max(r["p"], r["guard"], r["gate"]) <= r["ready"] <= r["alert"]
        assert r["gate"] == min(r[k] for k in ("gate_2s", "gate_10s", "gate_60s") if r[k] is not None)
    s = summary(rows)
    assert set(s) == set(CLOCKS) and s["alert"]["n"] == 2


def test_the_table_has_a_row_per_cascade_and_the_medians(scenario):
    rows = trace(load_config(env={}), *scenario)
    lines = table(rows)
    assert len(lines) == 1 + len(rows) + 1
    assert lines[0].split()[-len(CLOCKS):] == list(CLOCKS)
    assert lines[-1].split()[-1] == str(summary(rows)["alert"]["median"])
