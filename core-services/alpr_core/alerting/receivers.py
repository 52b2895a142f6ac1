"""A local HTTP receiver standing in for Slack, a webhook target or Twilio in tests and benchmarks.

It binds 127.0.0.1 only, records every request (method, path, headers, body, arrival time) and
answers from a script of status codes (e.g. 503, 503, then 200 for ever), so retry behaviour can be
checked against a real server rather than a mock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float  # time.time() on arrival

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class HttpReceiver:
    """``with HttpReceiver(statuses=[503, 200]) as rx: ... rx.url`` — the last status repeats."""

    def __init__(self, statuses: Sequence[int] = (200,), response: bytes = b'{"ok": true}'):
        self._statuses = list(statuses) or [200]
        self._response = response
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-receiver", daemon=True)

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    @property
    def accepted(self) -> list[Received]:
        """Requests answered with 2xx: the deliveries."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, count: int, timeout_s: float = 10.0, accepted_only: bool = True) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while True:
                pool = [r for r in self.requests if 200 <= r.status < 300] if accepted_only else self.requests
                if len(pool) >= count:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)

    def _next_status(self) -> int:
        n = len(self.requests)
        return self._statuses[min(n, len(self._statuses) - 1)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real services

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._cv:
                    status = receiver._next_status()
                    receiver.requests.append(
                        Received(
                            self.command, self.path, dict(self.headers.items()), body, status, time.time()
                        )
                    )
                    receiver._cv.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver._response)))
                self.end_headers()
                self.wfile.write(receiver._response)

            do_POST = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        return Handler

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
