"""Delivery to one destination, off the receive loop: bounded queue, token bucket, retries with backoff.

A slow or unreachable destination only ever fills its own queue (the oldest message is dropped and
counted); the pipeline and the other destinations never wait for it.
"""
from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from common.config import NotifyConfig

log = logging.getLogger(__name__)

RETRY_AFTER_MAX_S = 900.0  # a Retry-After beyond this is treated as this (a broken header must not park us)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status: int | None = None  # HTTP status, when there was one
    retry_after_s: float | None = None


Send = Callable[[str, str], Outcome]  # (title, body) -> outcome


class TokenBucket:
    """`rate_per_s` messages per second on average, bursts of `burst`; clock-injected."""

    def __init__(self, rate_per_s: float, burst: int, now: float) -> None:
        self.rate = rate_per_s
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0: take it now, and it is taken)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else float("inf")


def backoff(attempt: int, cap: float, rng: random.Random) -> float:
    """Capped, jittered exponential backoff: ~1, 2, 4 … s, never above `cap`."""
    return min(cap, 2.0 ** attempt) * rng.uniform(0.5, 1.0)


class Courier:
    """One destination's queue and sender thread; `offer` never blocks."""

    def __init__(self, name: str, send: Send, cfg: NotifyConfig, monotonic: Callable[[], float] = time.monotonic):
        self.name = name  # the masked URL: secrets never reach a log line
        self.send = send
        self.cfg = cfg
        self.monotonic = monotonic
        self.queue: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=max(1, cfg.queue))
        self.bucket = TokenBucket(cfg.rate_per_min / 60.0, cfg.burst, monotonic())
        self.sent = self.dropped = self.failed = self.retried = 0
        self._closing = threading.Event()  # finish what is queued
        self._abort = threading.Event()  # stop now (deadline reached)
        self._rng = random.Random()
        self._thread = threading.Thread(target=self._run, name=f"notify {name}", daemon=True)

    def start(self) -> Courier:
        self._thread.start()
        return self

    def offer(self, title: str, body: str) -> None:
        """Queue a message; when the queue is full the oldest one is dropped (the newest state matters most)."""
        while True:
            try:
                self.queue.put_nowait((title, body))
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    continue
                self.dropped += 1
                if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:  # a dead destination: no log flood
                    log.warning("notify: %s: queue full (%d), dropped the oldest message (%d dropped so far)",
                                self.name, self.cfg.queue, self.dropped)

    def finish(self) -> None:
        """Take nothing more once the queue is empty (call on every courier first, then `close` each)."""
        self._closing.set()

    def close(self, deadline: float) -> None:
        """Deliver what is queued until `deadline` (monotonic), then give up and count the rest as dropped."""
        self._closing.set()
        self._thread.join(max(0.0, deadline - self.monotonic()))
        self._abort.set()
        self._thread.join(0.2)
        left = self.queue.qsize()
        if left:
            self.dropped += left
            log.warning("notify: %s: %d message(s) not delivered at stop", self.name, left)

    def _run(self) -> None:
        while not self._abort.is_set():
            try:
                title, body = self.queue.get(timeout=0.1)
            except queue.Empty:
                if self._closing.is_set():
                    return
                continue
            self._deliver(title, body)

    def _deliver(self, title: str, body: str) -> None:
        for attempt in range(self.cfg.retries + 1):
            wait = self.bucket.wait(self.monotonic())
            while wait > 0:  # rate limit: wait for a token, interruptibly
                if self._abort.wait(wait):
                    self.dropped += 1
                    return
                wait = self.bucket.wait(self.monotonic())
            out = self.send(title, body)
            if out.ok:
                self.sent += 1
                return
            if attempt == self.cfg.retries:
                break
            delay = (min(out.retry_after_s, RETRY_AFTER_MAX_S) if out.retry_after_s is not None
                     else backoff(attempt, self.cfg.backoff_max_s, self._rng))
            self.retried += 1
            log.warning("notify: %s: delivery failed (%s); retry %d/%d in %.1f s", self.name,
                        out.status or "no response", attempt + 1, self.cfg.retries, delay)
            if self._abort.wait(delay):
                break
        self.failed += 1
        log.warning("notify: %s: message dropped after %d attempt(s)", self.name, attempt + 1)
