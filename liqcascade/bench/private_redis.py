"""A throwaway redis-server on a free port for the bench: the benchmark never touches the user's Redis.

The publisher stage needs a Redis to be measured; the user's (REDIS_URL, the default 6379) carries live
`cascade:*` channels that consumers listen to, so the bench starts its own, without persistence, in a
temporary directory, and kills it at the end. Without `redis-server` on the PATH the bench runs the
pipeline without a publisher and says so.
"""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time

import redis

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0


class PrivateRedisError(RuntimeError):
    """redis-server is missing or did not come up."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """`with PrivateRedis() as url:` a redis:// URL that only this bench uses."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.tmp: tempfile.TemporaryDirectory | None = None
        self.url = ""

    def __enter__(self) -> str:
        exe = shutil.which("redis-server")
        if not exe:
            raise PrivateRedisError("redis-server is not on the PATH")
        port = _free_port()
        self.tmp = tempfile.TemporaryDirectory(prefix="liqbench-redis-")
        self.proc = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.tmp.name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL, start_new_session=True)
        self.url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.5)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if client.ping():
                    return self.url
            except (redis.RedisError, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise PrivateRedisError(f"redis-server on port {port} did not start")
            time.sleep(0.05)  # polling a child's startup, bounded by the deadline

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None
