"""A lean path for the hot read routes (changes, get, search) in front of FastAPI's router.

FastAPI spends about a millisecond of server CPU on each request (dependency solving,
validation of every parameter, its exception and response machinery), more than a page of
100 actors costs to read and write. This raw ASGI middleware recognises a request the full
route would take as it stands: the exact path shape, the exact bearer token, a served
connector, a canonical GUID, query values within their bounds, a JSON body the request model
accepts. It builds the same values FastAPI would hand the route and calls the *same* endpoint
body, so the answer is the route's own. Anything else (no or another token, an odd header, a
bad limit, a body the model refuses, a root path) goes to the full app untouched, which
answers it as always. Errors the endpoint raises (unknown connection, invalid cursor, a limit
above the connector's maximum) are rendered as the app's exception handler renders them; an
answer the endpoint leaves to FastAPI's response model (values that are not plain JSON) is
handed to the full route too, which then asks the connector once more for that read.

The OpenAPI document is FastAPI's, untouched: this path adds no route and changes no answer.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.responses import Response as StarletteResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from host.protocol import operations as ops
from host.server.calls import EnvelopeError, _envelope

Endpoint = Callable[..., Awaitable[Any]]

ROUTES: dict[tuple[str, str], ops.Operation] = {
    ("GET", "changes"): ops.CHANGED_SINCE,
    ("POST", "get"): ops.GET_ACTORS,
    ("POST", "search"): ops.SEARCH_ACTORS,
}
"""(method, last path segment) of `…/connections/{guid}/actors/{actor_type}/<segment>`."""

MAX_BODY = 1024 * 1024
"""A larger request body is the full route's to read."""

_CHANGES_QUERY = {q.name: q for q in ops.CHANGED_SINCE.query}
_SINGLE = ("since", "cursor", "limit")


class FastPath:
    """The middleware; `answered` and `handed_on` count requests (the tests read them)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        served: Any,
        endpoints: Mapping[str, Endpoint],
    ) -> None:
        self.app = app
        self.auth = None if token is None else b"Bearer " + token.encode()
        self.connectors = served.connectors
        self.endpoints = endpoints
        self.answered = 0
        self.handed_on = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = self._route(scope)
        if op is None:
            await self.app(scope, receive, send)
            return
        body = b""
        if op.request is not None:
            body, receive, complete = await _read_body(receive)
            if not complete:
                await self._hand_on(scope, receive, send)
                return
        try:
            values = self._values(op, scope, body)
        except (ValueError, TypeError, KeyError, ValidationError):
            values = None
        if values is None:
            await self._hand_on(scope, receive, send)
            return
        try:
            answer = await self.endpoints[op.name](**values)
        except EnvelopeError as exc:  # as the app's exception handler renders it
            answer = JSONResponse(_envelope(exc.response), status_code=exc.status)
        if not isinstance(answer, StarletteResponse):
            await self._hand_on(scope, receive, send)  # for FastAPI's response model
            return
        self.answered += 1
        await answer(scope, receive, send)

    async def _hand_on(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.handed_on += 1
        await self.app(scope, receive, send)

    def _route(self, scope: Scope) -> ops.Operation | None:
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        parts = scope["path"].split("/")
        if (
            len(parts) != 9
            or parts[1] != "connectors"
            or parts[3] != "v1"
            or parts[4] != "connections"
            or parts[6] != "actors"
            or not all(parts[i] for i in (2, 5, 7))
        ):
            return None
        return ROUTES.get((scope["method"], parts[8]))

    def _values(self, op: ops.Operation, scope: Scope, body: bytes) -> dict[str, Any] | None:
        """What FastAPI would hand the endpoint, or None where the full route must judge."""
        auth = content_type = None
        for name, value in scope["headers"]:
            if name == b"authorization" and auth is None:
                auth = value
            elif name == b"content-type" and content_type is None:
                content_type = value
        if self.auth is not None and (auth is None or not hmac.compare_digest(auth, self.auth)):
            return None
        _, _, connector_id, _, _, guid_text, _, actor_type, _ = scope["path"].split("/")
        connector = self.connectors.get(connector_id)
        guid = UUID(guid_text)
        if connector is None or str(guid) != guid_text:
            return None
        values: dict[str, Any] = {
            "connector_id": connector_id,
            "guid": guid,
            "actor_type": actor_type,
            "connector": connector,
        }
        if op.request is None:
            query = _query(scope["query_string"])
            if query is None:
                return None
            values.update(query)
            return values
        if content_type != b"application/json" or not body:
            return None
        payload = json.loads(body)  # as Starlette's Request.json(), which FastAPI uses
        if type(payload) is not dict:
            return None
        values["body"] = op.request.model_validate(payload)
        return values


def _query(raw: bytes) -> dict[str, Any] | None:
    """The changes route's query values as FastAPI reads them (Starlette's QueryParams: the
    last of a repeated name), or None when a value is one FastAPI would refuse or convert."""
    given: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name in _CHANGES_QUERY:
            given.setdefault(name, []).append(value)
    if any(len(given.get(name, ())) > 1 for name in _SINGLE):
        return None
    values = {q.name: q.default for q in _CHANGES_QUERY.values()}
    for name in ("since", "cursor"):
        if name in given:
            values[name] = given[name][0]
    if "limit" in given:
        text = given["limit"][0]
        if not (text.isascii() and text.isdigit() and text[0] != "0"):
            return None
        limit = int(text)
        bounds = _CHANGES_QUERY["limit"]
        if (bounds.ge is not None and limit < bounds.ge) or (
            bounds.le is not None and limit > bounds.le
        ):
            return None
        values["limit"] = limit
    if "fields" in given:
        values["fields"] = given["fields"]
    return values


async def _read_body(receive: Receive) -> tuple[bytes, Receive, bool]:
    """The request body (up to MAX_BODY), a receive that hands the same messages again to
    whoever reads next, and whether the body is complete."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            complete = False
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            complete = True
            break
        if size > MAX_BODY:
            complete = False
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return body, replay, complete
