"""Polling with a timeout: how tests wait for something (never a bare sleep)."""
from __future__ import annotations

import threading
import time


def wait_until(pred, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll `pred` until truthy; fail after `timeout` seconds. Tests never sleep to wait."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        threading.Event().wait(interval)  # poll interval, not a wait for the condition
