"""Long commands show progress on a terminal (rich, on stderr) and nothing when piped."""
from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.integration.pipeline_harness import REPO, child_env

ARGS = ["scenario", "--kind", "whales", "--count", "4"]


def test_progress_only_on_a_terminal(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    cmd = [sys.executable, "-m", "liqcascade", *ARGS, "--out", str(tmp_path / "piped")]
    piped = subprocess.run(cmd, cwd=REPO, env=child_env(config), capture_output=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert b"\x1b" not in piped.stderr and b"\x1b" not in piped.stdout
    assert piped.stdout.decode().split() == [str(tmp_path / "piped" / "whales.jsonl"),
                                             str(tmp_path / "piped" / "whales.labels.json")]

    leader, follower = pty.openpty()
    cmd[-1] = str(tmp_path / "tty")
    proc = subprocess.Popen(cmd, cwd=REPO, env=dict(child_env(config), TERM="xterm", COLUMNS="100"),
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(30) == 0
    assert b"whales" in seen and b"\x1b[" in seen  # the bar, drawn with terminal escapes
    assert b"whales.labels.json" in seen
