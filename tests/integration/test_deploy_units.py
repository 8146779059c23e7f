"""The shipped systemd units, the server supervisord config and the multi-host configs are valid as shipped."""
from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import load_config
from liqcascade.cli import COMMANDS
from tests.curve_keys import generate
from tests.integration.pipeline_harness import REPO

UNITS = sorted((REPO / "deploy/systemd").glob("liqcascade*.service"))
EXE = "/opt/liqcascade/.venv/bin/liqcascade"


def _unit(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read(path)
    return cp


def test_one_unit_per_stage_each_an_unprivileged_liqcascade_command_that_stops_within_5_s():
    names = {p.name for p in UNITS}
    assert {"liqcascade-ingest@.service", "liqcascade-analytics@.service", "liqcascade-signals.service",
            "liqcascade-publisher.service", "liqcascade-store.service", "liqcascade-dashboard.service",
            "liqcascade-notify.service"} == names
    for path in UNITS:
        svc = _unit(path)["Service"]
        argv = svc["ExecStart"].split()
        assert argv[0] == EXE and argv[1] in COMMANDS, path.name
        assert svc["User"] == "liqcascade" and svc["NoNewPrivileges"] == "yes" and svc["UMask"] == "0077"
        assert svc["RuntimeDirectoryMode"] == "0700" and svc["TimeoutStopSec"] == "5" and svc["KillSignal"] == "SIGTERM"
        assert ("%i" in svc["ExecStart"]) == path.name.endswith("@.service"), path.name
    assert _unit(REPO / "deploy/systemd/liqcascade-analytics@.service")["Service"]["ExecStart"].endswith("--shard %i")


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze missing (systemd not installed)")
def test_systemd_analyze_verifies_every_unit(tmp_path):
    exe = str(Path(sys.executable).parent / "liqcascade")
    for path in [*UNITS, REPO / "deploy/systemd/liqcascade.target"]:
        (tmp_path / path.name).write_text(path.read_text().replace(EXE, exe))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def test_the_server_supervisord_config_runs_as_a_user_with_a_private_control_socket(tmp_path):
    from supervisor.options import ServerOptions

    text = (REPO / "deploy/supervisord/liqcascade.conf").read_text()
    dev = (REPO / "supervisord.conf").read_text()
    # the same programs as the development config, only the installed executable differs
    assert text[text.index("[group:liqcascade]"):] == dev[dev.index("[group:liqcascade]"):].replace(
        "%(here)s/.venv/bin/liqcascade", EXE)
    opts = ServerOptions()
    path = tmp_path / "s.conf"
    for d in ("lib", "log", "run"):
        (tmp_path / d).mkdir()
    path.write_text(text.replace("liqcascade:liqcascade", "nobody:nogroup").replace("user=liqcascade", "user=nobody")
                    .replace("/var/lib/liqcascade", f"{tmp_path}/lib").replace("/var/log/liqcascade", f"{tmp_path}/log")
                    .replace("/run/liqcascade-supervisor", f"{tmp_path}/run"))  # directories of this machine
    opts.realize(args=["-c", str(path)])
    assert opts.uid not in (None, 0)
    (server,) = opts.server_configs
    assert server["chmod"] == 0o700 and server["file"] == f"{tmp_path}/run/supervisor.sock"
    assert re.search(r"^umask=077$", text, re.M)


def test_the_multihost_configs_load_on_their_hosts(tmp_path):
    keys = tmp_path / "keys"
    for args in (("host-a",), ("host-b", False), ("host-c", False)):
        assert generate(keys, *args).returncode == 0
    (keys / "allowed").mkdir()
    for host in "abc":
        text = (REPO / f"deploy/multihost/host-{host}.toml").read_text().replace("/etc/liqcascade/keys", str(keys))
        (tmp_path / f"{host}.toml").write_text(text)
        if host == "b":
            shutil.copy(keys / "host-a.key", keys / "allowed")
        cfg = load_config(str(tmp_path / f"{host}.toml"), env={})
        assert cfg.security.curve and cfg.endpoint("analytics", 1) == "tcp://192.0.2.2:5611"
        assert cfg.endpoint("pub") == "tcp://192.0.2.2:5603"
        assert bool(cfg.security.server_key) == (host == "b")  # the server's secret stays on B
