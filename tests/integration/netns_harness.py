"""Three test hosts on one machine: Linux network namespaces A, B, C on one bridged segment (needs root).

    A (10.213.0.1) --veth-- [br0 in B: 10.213.0.2] --veth-- C (10.213.0.3)

`Hosts.cut(host)` takes the link between `host` and B down (B's end of the veth, like a pulled cable: the far
host keeps its address and routes), `Hosts.mend(host)` brings it back. On close, every process still running
is killed and every namespace removed (which removes its veths).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.integration.pipeline_harness import REPO, OutputCollector

SUBNET = "10.213.0"
ADDRESS = {"a": f"{SUBNET}.1", "b": f"{SUBNET}.2", "c": f"{SUBNET}.3"}


def unavailable() -> str | None:
    """Why namespaces cannot be used here (the reason a test skips with), or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (ip netns add); run as root to include this test"
    if not shutil.which("ip"):
        return "the `ip` command (iproute2) is missing"
    probe = f"lqc-probe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"`ip netns add` is not allowed here: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")


class Hosts:
    """Namespaces lqc-<host>-<pid> wired as above; `spawn` runs a process on one of them."""

    def __init__(self) -> None:
        self.ns = {h: f"lqc-{h}-{os.getpid()}" for h in ADDRESS}
        self.procs: list[subprocess.Popen] = []
        try:
            for name in self.ns.values():
                _ip("netns", "add", name)
                _ip("-n", name, "link", "set", "lo", "up")
            b = self.ns["b"]
            _ip("-n", b, "link", "add", "br0", "type", "bridge")
            for h in ("a", "c"):
                _ip("-n", self.ns[h], "link", "add", "eth0", "type", "veth", "peer", "name", f"to-{h}", "netns", b)
                _ip("-n", self.ns[h], "addr", "add", f"{ADDRESS[h]}/24", "dev", "eth0")
                _ip("-n", self.ns[h], "link", "set", "eth0", "up")
                _ip("-n", b, "link", "set", f"to-{h}", "master", "br0")
                _ip("-n", b, "link", "set", f"to-{h}", "up")
            _ip("-n", b, "addr", "add", f"{ADDRESS['b']}/24", "dev", "br0")
            _ip("-n", b, "link", "set", "br0", "up")
        except Exception:
            self.close()
            raise

    def spawn(self, host: str, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, OutputCollector]:
        """`ip netns exec` execs the command itself, so the Popen's pid is the process (signals reach it)."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns[host], *args], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc, OutputCollector(proc)

    def liqcascade(self, host: str, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, OutputCollector]:
        return self.spawn(host, [sys.executable, "-m", "liqcascade", *args], env)

    def run(self, host: str, args: list[str]) -> str:
        return subprocess.run(["ip", "netns", "exec", self.ns[host], *args], capture_output=True, text=True,
                              timeout=30).stdout

    def cut(self, host: str) -> None:
        _ip("-n", self.ns["b"], "link", "set", f"to-{host}", "down")

    def mend(self, host: str) -> None:
        _ip("-n", self.ns["b"], "link", "set", f"to-{host}", "up")

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(5)
        for name in self.ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def host_env(config: Path, ipc_dir: Path) -> dict[str, str]:
    """A child's environment: the shared config, this host's own ipc directory (metrics files)."""
    env = dict(os.environ, LIQCASCADE_CONFIG=str(config), LIQCASCADE_IPC_DIR=str(ipc_dir), PYTHONUNBUFFERED="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for var in ("REDIS_URL", "TRACKED_SYMBOLS", "LOG_LEVEL"):
        env.pop(var, None)
    return env
