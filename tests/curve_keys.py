"""Test helper: CURVE key pairs written by the real `liqcascade keys generate`, and [security] TOML for them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def generate(directory: Path, client: str = "client", server: bool = True) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "liqcascade", "keys", "generate", str(directory), "--client", client]
    return subprocess.run(args + ([] if server else ["--no-server"]), cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def make_keys(directory: Path) -> Path:
    """server + `client` (allowed) + `intruder` (a valid key pair nobody allowed) in `directory`."""
    for r in (generate(directory), generate(directory, "intruder", server=False)):
        assert r.returncode == 0, r.stderr
    return directory


def security_toml(keys: Path, client: str = "client", allowed: tuple[str, ...] = ("client",)) -> str:
    """One [security] section for every role: the server pair, `allowed` clients, and `client`'s own pair."""
    allowed_list = ", ".join(f'"{keys / a}.key"' for a in allowed)
    return (f'[security]\ncurve = true\nserver_key = "{keys}/server.key_secret"\nallowed_clients = [{allowed_list}]\n'
            f'server_public_key = "{keys}/server.key"\nclient_key = "{keys}/{client}.key_secret"\n')
