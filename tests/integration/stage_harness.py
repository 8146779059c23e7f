"""One pipeline stage as a real child process (`liqcascade <stage>`), fed and read over its real sockets."""
from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import msgpack
import zmq

from common.schema import FIELD_NAMES
from common.wire import SeqStamper
from tests.integration.pipeline_harness import OutputCollector, child_env
from tests.polling import wait_until


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(v)


def write_config(tmp: Path, **sections: dict[str, Any]) -> Path:
    """A config file: `pipeline.ipc_dir` under tmp, one shard, plus the given sections."""
    (tmp / "ipc").mkdir(mode=0o700, exist_ok=True)
    sections.setdefault("pipeline", {})
    sections["pipeline"] = {"ipc_dir": str(tmp / "ipc"), "shards": 1, **sections["pipeline"]}
    # Stage tests send hand-built risks or flows and expect the level they map to: the hand-set weights and
    # the identity probability map (the fitted ones are tested in tests/unit/tools/test_calibrate.py).
    sections["signals"] = {"calibration": "", **sections.get("signals", {})}
    sections["analytics"] = {"calibration": "", **sections.get("analytics", {})}
    lines = ['log_level = "INFO"']
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    path = tmp / "liqcascade.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Stage:
    """A stage child process with its merged output collected."""

    def __init__(self, config: Path, *args: str) -> None:
        self.proc = subprocess.Popen(["liqcascade", *args], env=child_env(config), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = OutputCollector(self.proc)

    def wait_started(self, name: str) -> None:
        wait_until(lambda: f"{name}: started" in self.out.text() or self.proc.poll() is not None, 30,
                   what=f"{name} to start")
        assert self.proc.poll() is None, self.out.text()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        wait_until(lambda: not self.out._thread.is_alive(), 5, what="output closed")
        return rc

    def counter(self, pattern: str) -> int:
        """The integer captured by `pattern` in the last line that matches it."""
        found = re.findall(pattern, self.out.text())
        assert found, f"{pattern!r} not in output:\n{self.out.text()[-3000:]}"
        return int(found[-1])

    def lines_with(self, words: str) -> int:
        return sum(words in line for line in self.out.lines)


class Sender:
    """A PUSH socket into a stage's input, with properly stamped batches, raw rows and raw frames."""

    def __init__(self, ctx: zmq.Context, endpoint: str, name: str = "fuzz") -> None:
        self.sock = ctx.socket(zmq.PUSH)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.stamper = SeqStamper(name)

    def send(self, topic: bytes, msgs: list) -> None:
        self.sock.send_multipart(self.stamper.stamp(topic, msgs))

    def send_rows(self, topic: bytes, kind: str, rows: list) -> None:
        """Well-framed, correctly sequenced, with rows as given (the wrong types a foreign sender might use)."""
        body = msgpack.packb([1, kind, rows], use_bin_type=True)
        self.sock.send_multipart(self.stamper.stamp_body(topic, body))

    def send_raw(self, frames: list[bytes]) -> None:
        self.sock.send_multipart(frames)

    def close(self) -> None:
        self.sock.close(0)


def row(msg: Any, **change: Any) -> list:
    """A message's wire row, with some fields replaced."""
    d = {n: getattr(msg, n) for n in FIELD_NAMES[type(msg)]} | change
    return list(d.values())


GARBAGE = [  # structural garbage: each one is a bad frame, counted, never a crash
    [b"liq.x", b"garbage"],
    [b"liq.x", msgpack.packb(["g", 1]), b"\xc1\xc1\xc1"],
    [b"liq.x", msgpack.packb(["g", 2]), msgpack.packb([1, "no-such-kind", []])],
    [b"liq.x", msgpack.packb(["g", 3]), msgpack.packb([99, "liquidation", []])],
    [b"liq.x", msgpack.packb(["g", 4]), msgpack.packb([1, "liquidation", {"rows": 1}])],
    [b"a", b"b", b"c", b"d"],
]
