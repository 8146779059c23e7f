"""`liqcascade up` restarts a stage that dies (with backoff, said in its output) instead of stopping all; it
refuses an ipc directory another user owns and a Redis password that is refused, each in one line."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from tests.integration.pipeline_harness import REPO, OutputCollector, child_env, terminate_and_wait
from tests.polling import wait_until
from tests.redis_server import RedisServer


def _config(tmp, redis_url="redis://127.0.0.1:1/0", enabled=False):
    path = tmp / "liqcascade.toml"
    path.write_text("\n".join([
        'log_level = "INFO"', "[pipeline]", f'ipc_dir = "{tmp / "ipc"}"', "shards = 1",
        "[redis]", f'url = "{redis_url}"', f"enabled = {'true' if enabled else 'false'}",
        "[ingest]", 'exchanges = ["bybit"]', "urls = { bybit = \"ws://127.0.0.1:9/v5/public/linear\" }",
    ]) + "\n")
    return path


def _pids(text: str, name: str) -> list[int]:
    return [int(p) for p in re.findall(rf"{re.escape(name)} started \(pid=(\d+)\)", text)]


@pytest.mark.timeout(90)
def test_a_killed_stage_is_restarted_and_ctrl_c_still_stops_everything(tmp_path):
    env = child_env(_config(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "up", "--no-tail"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    out = OutputCollector(proc)
    try:
        first = wait_until(lambda: _pids(out.text(), "analytics-0"), 30, what="analytics-0 started")[0]
        wait_until(lambda: _pids(out.text(), "signals") and _pids(out.text(), "ingest-bybit"), 30,
                   what="every stage started")
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: len(_pids(out.text(), "analytics-0")) >= 2, 30, what="analytics-0 restarted")
        text = out.text()
        assert "analytics-0 exited (rc=-9); restarting it in 1 s" in text
        second = _pids(text, "analytics-0")[1]
        assert second != first
        os.kill(second, 0)  # alive
        assert all(_pids(text, n) for n in ("signals", "ingest-bybit"))
        assert "signals stopped" not in text and "sending SIGTERM" not in text  # the others were left running
    finally:
        terminate_and_wait(proc)
    text = out.text()
    pids = [p for n in ("analytics-0", "signals", "ingest-bybit") for p in _pids(text, n)]
    for pid in pids:
        wait_until(lambda pid=pid: not _alive(pid), 10, what=f"pid {pid} gone")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_refuses_an_ipc_directory_owned_by_someone_else(tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root to give a directory to another user")
    ipc = tmp_path / "ipc"
    ipc.mkdir(mode=0o700)
    os.chown(ipc, 65534, 65534)
    proc = subprocess.run([sys.executable, "-m", "liqcascade", "up", "--no-tail"], cwd=REPO,
                          env=child_env(_config(tmp_path)), capture_output=True, timeout=30)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert f"ipc directory {ipc} is owned by uid 65534" in err


def test_a_stage_refuses_an_ipc_directory_writable_by_others(tmp_path):
    ipc = tmp_path / "ipc"
    ipc.mkdir()
    ipc.chmod(0o777)
    proc = subprocess.run([sys.executable, "-m", "liqcascade", "signals"], cwd=REPO,
                          env=child_env(_config(tmp_path)), capture_output=True, timeout=30)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "writable by group or others" in err and "Traceback" not in err


def test_up_creates_the_ipc_directory_private(tmp_path):
    from common import ipc_dir

    path = tmp_path / "a" / "ipc"
    ipc_dir.check(str(path))
    assert (path.stat().st_mode & 0o777) == 0o700


@pytest.mark.timeout(60)
def test_up_says_a_refused_redis_password_is_an_authentication_error(tmp_path):
    server = RedisServer().start()
    try:
        server.client().config_set("requirepass", "right")
        url = f"redis://:wrong@127.0.0.1:{server.port}/0"
        proc = subprocess.run([sys.executable, "-m", "liqcascade", "up", "--no-tail"], cwd=REPO,
                              env=child_env(_config(tmp_path, url, enabled=True)), capture_output=True, timeout=30)
    finally:
        server.stop()
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "refused the credentials" in err and "Traceback" not in err
    assert "wrong" not in err and ":***@" in err
