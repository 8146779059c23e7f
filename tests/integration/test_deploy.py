"""The shipped Prometheus config, alert rules and Grafana dashboard are valid and use metrics that exist."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.integration.pipeline_harness import REPO

DEPLOY = REPO / "deploy"
promtool = pytest.mark.skipif(not shutil.which("promtool"),
                              reason="promtool missing (Debian package prometheus; make test installs it)")


@promtool
def test_alert_rules_pass_promtool():
    r = subprocess.run(["promtool", "check", "rules", str(DEPLOY / "alerts.yml")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 8 rules found" in r.stdout


@promtool
def test_prometheus_config_passes_promtool():
    r = subprocess.run(["promtool", "check", "config", str(DEPLOY / "prometheus.yml")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@promtool
def test_alerts_fire_on_the_conditions_they_name():
    r = subprocess.run(["promtool", "test", "rules", str(DEPLOY / "alerts_test.yml")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_metric_the_deploy_files_use_is_defined():
    src = (REPO / "common/metrics.py").read_text()
    defined = {"liqcascade_" + n for n in re.findall(r'(?:counter|gauge)\("([a-z0-9_]+)"', src)}
    defined |= set(re.findall(r'Histogram\("(liqcascade_[a-z0-9_]+)"', src))
    text = (DEPLOY / "alerts.yml").read_text() + json.dumps(json.loads((DEPLOY / "grafana-dashboard.json").read_text()))
    used = {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"liqcascade_[a-z0-9_]+", text)}
    assert used and used <= defined, used - defined
