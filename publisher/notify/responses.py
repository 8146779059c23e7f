"""The status and Retry-After of the last HTTP response apprise got in this thread.

apprise's plugins answer only True/False, so a 429's Retry-After never reaches the caller. Every
HTTP-based plugin sends through `requests.Session.send`; one wrapper there records each response in
the thread that sent it (each destination sends from its own thread), and nothing else changes.
"""
from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

import requests

_local = threading.local()
_installed = False
_lock = threading.Lock()


def install() -> None:
    """Wrap requests.Session.send once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        original = requests.Session.send

        def send(self: requests.Session, request: Any, **kwargs: Any) -> requests.Response:
            resp = original(self, request, **kwargs)
            _local.last = (resp.status_code, resp.headers.get("Retry-After"))
            return resp

        requests.Session.send = send  # type: ignore[method-assign]
        _installed = True


def reset() -> None:
    _local.last = None


def last() -> tuple[int | None, float | None]:
    """(status, retry-after seconds) of this thread's last response since `reset`, or (None, None)."""
    status, header = getattr(_local, "last", None) or (None, None)
    return status, parse_retry_after(header)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))
