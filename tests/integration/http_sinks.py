"""Local HTTP servers standing in for chat webhooks: record what arrives, answer 200, 429 or never."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


class Sink:
    """A webhook on 127.0.0.1: `answers` is the status of each request in turn (then 200); `hang`
    never answers (until `close`). Each received JSON body is kept with its arrival time."""

    def __init__(self, answers: tuple[int, ...] = (), retry_after: str = "1", hang: bool = False) -> None:
        self.answers = list(answers)
        self.retry_after = retry_after
        self.hang = hang
        self.received: list[tuple[float, int, dict[str, Any]]] = []  # (monotonic, status sent, payload)
        self.requests: list[float] = []  # arrival of every request, answered or not
        self._release = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.requests.append(time.monotonic())
                if sink.hang:
                    sink._release.wait(600)
                    return
                status = sink.answers.pop(0) if sink.answers else 200
                sink.received.append((time.monotonic(), status, orjson.loads(body)))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", sink.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"json://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def delivered(self) -> list[tuple[float, dict[str, Any]]]:
        """Messages answered 200, in arrival order."""
        return [(t, p) for t, status, p in self.received if status == 200]

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
