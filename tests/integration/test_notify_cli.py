"""`liqcascade notify` as the launchers run it: nothing configured is a clean exit; bad rules one line."""
from __future__ import annotations

import subprocess
import sys

from tests.integration.pipeline_harness import REPO, child_env


def run(tmp_path, toml: str, **env: str) -> subprocess.CompletedProcess:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    return subprocess.run([sys.executable, "-m", "liqcascade", "notify"], cwd=REPO, capture_output=True,
                          env=dict(child_env(config), **env), timeout=30)


def test_without_destinations_it_says_so_and_exits_cleanly(tmp_path):
    proc = run(tmp_path, "")
    assert proc.returncode == 0
    assert b"no destinations configured" in proc.stdout + proc.stderr


def test_a_bad_rule_is_one_line_and_status_2(tmp_path):
    proc = run(tmp_path, '[[notify.destinations]]\nurl = "json://127.0.0.1:9/"\nmin_level = "LOUD"\n')
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "min_level must be one of" in err and "Traceback" not in err


def test_an_unknown_service_does_not_print_its_secret(tmp_path):
    proc = run(tmp_path, "", NOTIFY_URLS="nosuch://user:hunter2@host/")
    assert proc.returncode == 2
    assert b"not a valid Apprise URL" in proc.stderr and b"hunter2" not in proc.stdout + proc.stderr
