"""Fault injection for `erpsync mock-server`: an ASGI middleware that makes the mock misbehave.

Clients, retries and the sync engine must survive a connector that is slow, broken or gone;
this makes each failure reproducible on demand. Kinds (``--fail KIND``, repeatable):

    http500         HTTP 500 with an HTML body, as a crashed web server or proxy answers
    malformed-json  HTTP 200 whose JSON body is cut off half way
    slow-body       headers at once, then the real body trickled over SLOW_BODY_SECONDS
    drop            the connection is closed without any response
    wrong-version   info answers protocol_version "9.0" (every other call is normal)
    reject-token    HTTP 401 for every request, whatever token is sent

``--latency SECONDS`` delays every request; ``--error-rate FRACTION`` answers that fraction
of requests like http500 (the HTML names "mock_fault" and the header X-Erpsync-Fault says
"mock_fault"), chosen by a seeded RNG so a run is reproducible.

What `host.client.ConnectorClient` sees: http500, malformed-json, wrong-version ->
ProtocolError; drop -> ConnectorUnreachable; slow-body -> ConnectorUnreachable when its
timeout is shorter than the pauses between chunks, else the right answer, late;
reject-token -> Unauthorized.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FAIL_KINDS: tuple[str, ...] = (
    "http500",
    "malformed-json",
    "slow-body",
    "drop",
    "wrong-version",
    "reject-token",
)
WRONG_VERSION = "9.0"
SLOW_BODY_SECONDS = 5.0
SLOW_BODY_CHUNKS = 10
FAULT_HEADER = b"x-erpsync-fault"

HTML_500 = (
    "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n"
    "<body><h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error ({reason}).</p>\n"
    "<hr><address>erpsync mock-server</address></body></html>\n"
)


class FaultInjector:
    """Wraps an ASGI app; each HTTP request meets the configured faults, lifespan passes."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        latency: float = 0.0,
        error_rate: float = 0.0,
        fail: Iterable[str] = (),
        seed: int = 42,
        slow_body_seconds: float = SLOW_BODY_SECONDS,
    ) -> None:
        self.app = app
        self.latency = float(latency)
        self.error_rate = float(error_rate)
        self.fail = frozenset(fail)
        unknown = self.fail - set(FAIL_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAIL_KINDS}")
        if self.latency < 0:
            raise ValueError("latency must be >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error rate must be between 0 and 1")
        self.slow_body_seconds = slow_body_seconds
        self._rng = random.Random(seed)

    def describe(self) -> str:
        """One line for the server's stderr, so a log says which faults were on."""
        parts = []
        if self.latency:
            parts.append(f"latency {self.latency:g}s")
        if self.error_rate:
            parts.append(f"error rate {self.error_rate:g}")
        parts.extend(f"fail {kind}" for kind in FAIL_KINDS if kind in self.fail)
        return "faults: " + (", ".join(parts) or "none")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.latency:
            await asyncio.sleep(self.latency)
        # Rolled for every request, so the sequence of faults depends only on the seed.
        unlucky = self.error_rate > 0 and self._rng.random() < self.error_rate
        if "reject-token" in self.fail:
            await _send_whole(send, 401, _REJECTED, b"application/json")
            return
        if "drop" in self.fail:
            await _drop(send)
            return
        if "http500" in self.fail or unlucky:
            reason = "mock_fault" if unlucky else "mock_fault: --fail http500"
            await _send_whole(send, 500, HTML_500.format(reason=reason).encode(), b"text/html")
            return
        transforms = self.fail & {"malformed-json", "wrong-version", "slow-body"}
        if not transforms:
            await self.app(scope, receive, send)
            return
        status, headers, body = await _capture(self.app, scope, receive)
        if "wrong-version" in self.fail and scope.get("path", "").endswith("/v1/info"):
            body = _with_wrong_version(body)
        if "malformed-json" in self.fail:
            body = body[: len(body) // 2]
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if "slow-body" in self.fail and body:
            await _trickle(send, body, self.slow_body_seconds)
        else:
            await send({"type": "http.response.body", "body": body, "more_body": False})


_REJECTED = json.dumps(
    {
        "ok": False,
        "state": "error",
        "user_explanation": "The connector host refused the request: missing or wrong token.",
        "tech_explanation": "mock-server --fail reject-token rejects every token",
        "error_code": "unauthorized",
        "data": None,
    }
).encode()


async def _send_whole(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (FAULT_HEADER, b"mock_fault"),
                # The request body may be unread: do not reuse this connection.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drop(send: Send) -> None:
    """Close the connection with nothing sent.

    ASGI has no message for that, and raising before the response start makes uvicorn answer
    a plain-text 500 instead. So: reach the server's transport through the bound `send`
    (uvicorn's cycle object has one) and abort it. Without one, start a response that promises
    a body and raise, which makes uvicorn close the connection mid-response: the client sees
    a broken connection either way.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if isinstance(transport, asyncio.BaseTransport) and hasattr(transport, "abort"):
        transport.abort()
        # Let the server notice the disconnect before the app returns, so it sends no 500.
        for _ in range(3):
            await asyncio.sleep(0)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"ok": tr', "more_body": True})
    raise ConnectionAbortedError("mock-server --fail drop")


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    """Run the app to completion and return its (status, headers, body)."""
    status = 500
    headers: list[Any] = []
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, keep)
    return status, headers, b"".join(chunks)


def _with_wrong_version(body: bytes) -> bytes:
    try:
        envelope = json.loads(body)
        envelope["data"]["protocol_version"] = WRONG_VERSION
    except (ValueError, TypeError, KeyError):
        return body  # not an info answer we understand (an error envelope): leave it
    return json.dumps(envelope).encode()


async def _trickle(send: Send, body: bytes, seconds: float) -> None:
    """Send `body` in SLOW_BODY_CHUNKS pieces with equal pauses, `seconds` in all."""
    count = max(1, min(SLOW_BODY_CHUNKS, len(body)))
    size = -(-len(body) // count)
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    pause = seconds / len(pieces)
    for index, piece in enumerate(pieces):
        await asyncio.sleep(pause)
        last = index == len(pieces) - 1
        await send({"type": "http.response.body", "body": piece, "more_body": not last})
