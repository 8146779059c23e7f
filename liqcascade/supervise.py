"""Honcho's Manager, restarting a stage that dies (with backoff, as supervisord does) instead of stopping all.

Honcho stops every process when one exits; for `liqcascade up` that turns one crash into an outage.
Here a stage that exits on its own is started again after a delay that doubles on each quick failure
(1 s, 2 s, 4 s ... capped), and is said so in the output. A stage that fails `GIVE_UP_AFTER` times in a
row, each within `STARTUP_S` of starting, cannot start (a port taken, a bad file): then everything stops,
as honcho would, with that stage's status. Ctrl-C / SIGTERM stop everything, as in honcho.
"""
from __future__ import annotations

import datetime
import multiprocessing
import queue
import signal
import time
from dataclasses import dataclass

from honcho.manager import KILL_WAIT, SIGNALS, Manager

BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 30.0
STARTUP_S = 10.0  # a stage that ran this long was up: its next failure starts the backoff again
GIVE_UP_AFTER = 5  # consecutive failures within STARTUP_S of starting


@dataclass
class Backoff:
    """The restart policy of one stage (pure: the clock is passed in)."""

    failures: int = 0
    started_at: float = 0.0

    def started(self, now: float) -> None:
        self.started_at = now

    def died(self, now: float) -> float | None:
        """Seconds to wait before the restart, or None to give up."""
        if now - self.started_at >= STARTUP_S:
            self.failures = 0
        self.failures += 1
        if self.failures >= GIVE_UP_AFTER:
            return None
        return min(BACKOFF_MIN_S * 2 ** (self.failures - 1), BACKOFF_MAX_S)


class RestartingManager(Manager):
    """`loop()` as honcho's, except that a stage exiting on its own is restarted (see the module doc)."""

    def __init__(self, *args: object, monotonic=time.monotonic, **kw: object) -> None:
        super().__init__(*args, **kw)
        self.monotonic = monotonic
        self.backoff: dict[str, Backoff] = {}
        self.restart_at: dict[str, float] = {}
        self.restarts = 0

    def _start_one(self, name: str) -> None:
        p = self._processes[name]
        for key in ("pid", "returncode"):
            p.pop(key, None)
        p["process"] = multiprocessing.Process(name=name, target=p["obj"].run, args=(self.events, True))
        p["process"].start()
        self.backoff.setdefault(name, Backoff()).started(self.monotonic())

    def _start(self) -> None:
        for name in self._processes:
            self._start_one(name)

    def _stopped(self, name: str, rc: int) -> None:
        self._processes[name]["returncode"] = rc
        if self._terminating:
            self._system_print(f"{name} stopped (rc={rc})\n")
            return
        delay = self.backoff[name].died(self.monotonic())
        if delay is None:
            self._system_print(f"{name} exited (rc={rc}) {GIVE_UP_AFTER} times in a row, each within "
                               f"{STARTUP_S:.0f} s of starting: giving up, stopping everything\n")
            self.returncode = rc or 1
            self.terminate()
            return
        self.restarts += 1
        self.restart_at[name] = self.monotonic() + delay
        self._system_print(f"{name} exited (rc={rc}); restarting it in {delay:.0f} s "
                           f"(failure {self.backoff[name].failures} in a row)\n")

    def loop(self) -> None:
        def _terminate(signum: int, _frame: object) -> None:
            self._system_print(f"{SIGNALS[signum]['name']} received\n")
            self.returncode = SIGNALS[signum]["rc"]
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        self._start()
        exit_start = None
        killed = False
        while True:
            try:
                msg = self.events.get(timeout=0.1)
            except queue.Empty:
                msg = None
            if msg is not None:
                if msg.type == "line":
                    self._printer.write(msg)
                elif msg.type == "start":
                    self._processes[msg.name]["pid"] = msg.data["pid"]
                    self._system_print(f"{msg.name} started (pid={msg.data['pid']})\n")
                    if self._terminating:  # (re)started while everything stops: stop it too
                        self._procmgr.terminate(msg.data["pid"])
                elif msg.type == "stop":
                    self._stopped(msg.name, msg.data["returncode"])
            if self._terminating:
                self.restart_at.clear()
                if exit_start is None:
                    exit_start = self._clock.now()
                if self._all_stopped() and msg is None:
                    break
                if not killed and self._clock.now() - exit_start > datetime.timedelta(seconds=KILL_WAIT):
                    killed = True
                    self.kill()
            now = self.monotonic()
            for name, at in list(self.restart_at.items()):
                if now >= at:
                    del self.restart_at[name]
                    self._start_one(name)

    def _killall(self, force: bool = False) -> None:
        """honcho's, skipping stages waiting for a restart (no live pid to signal)."""
        for name, p in self._processes.items():
            if "returncode" in p or p.get("pid") is None:
                continue
            sig = "SIGKILL" if force else "SIGTERM"
            self._system_print(f"sending {sig} to {name} (pid {p['pid']})\n")
            (self._procmgr.kill if force else self._procmgr.terminate)(p["pid"])
