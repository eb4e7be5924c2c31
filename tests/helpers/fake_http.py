"""A purpose-built loopback HTTP server (http.server in a thread) that answers what a test
tells it to, and records every request it got, headers included."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Answer:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class FakeServer:
    """Answers `routes[path]` (or 404 text) and keeps `requests`.

    A route may be a list of answers: they are given in turn, the last one from then on.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Answer | list[Answer]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                server.requests.append(
                    Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                answer = server.answer_for(self.path.split("?", 1)[0])
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._httpd.server_address[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def answer_for(self, path: str) -> Answer:
        route = self.routes.get(path)
        if route is None:
            return Answer(404, b"not here", {"Content-Type": "text/plain"})
        if isinstance(route, list):
            with self._lock:
                return route.pop(0) if len(route) > 1 else route[0]
        return route

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path.split("?", 1)[0] == path)

    def start(self) -> None:
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
