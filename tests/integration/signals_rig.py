"""SignalsProcess in a thread with real ipc sockets around it: a PULL standing in for the publisher, a SUB on its PUB,
a PUSH into it. One harness for the tests that drive the signals process (`running_signals`)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import zmq

from common import topics
from common.config import Config
from common.schema import FeedStatus
from common.wire import SeqStamper, decode
from signals.process import SignalsProcess


def recv_until(sock: zmq.Socket, want: Callable[[list], bool], timeout_s: float = 10.0) -> list[tuple[bytes, list]]:
    """Collect (topic, msgs) until `want(collected)` is true or the timeout passes."""
    got: list[tuple[bytes, list]] = []
    deadline = time.monotonic() + timeout_s
    while not want(got) and time.monotonic() < deadline:
        if sock.poll(100):
            topic, _, _, msgs = decode(sock.recv_multipart())
            got.append((topic, msgs))
    return got


@dataclass
class SignalsRig:
    proc: SignalsProcess
    thread: threading.Thread
    publisher: zmq.Socket  # what the process sends the publisher
    sub: zmq.Socket  # its PUB, everything
    push: zmq.Socket  # into the process
    stamper: SeqStamper

    def send(self, topic: bytes, msgs: list) -> None:
        self.push.send_multipart(self.stamper.stamp(topic, msgs))

    def join_sub(self, status: FeedStatus) -> None:
        """PUB/SUB joins late: resend `status` until the SUB sees it, so the traffic after it is not lost."""
        topic = topics.status(status.exchange)
        deadline = time.monotonic() + 10
        seen: list = []
        while not seen and time.monotonic() < deadline:
            self.send(topic, [status])
            seen = recv_until(self.sub, lambda g: any(t == topic for t, _ in g), 0.3)
        assert seen, "SUB never joined"


@contextmanager
def running_signals(cfg: Config, sender: str) -> Iterator[SignalsRig]:
    """The process running with its sockets connected; stopped, joined and every socket closed on the way out
    (the caller asserts the clean exit: `not rig.thread.is_alive() and rig.proc.rc == 0`)."""
    proc = SignalsProcess(cfg)
    ctx = zmq.Context()
    publisher = ctx.socket(zmq.PULL)
    publisher.bind(cfg.endpoint("publisher"))
    thread = threading.Thread(target=lambda: setattr(proc, "rc", proc.run()), daemon=True)
    thread.start()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(cfg.endpoint("pub"))
    push = ctx.socket(zmq.PUSH)
    push.connect(cfg.endpoint("signals"))
    try:
        yield SignalsRig(proc, thread, publisher, sub, push, SeqStamper(sender))
    finally:
        proc.stop.set()
        thread.join(timeout=10)
        for sock in (sub, push, publisher):
            sock.close(linger=0)
        ctx.term()
