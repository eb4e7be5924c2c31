"""The table of protocol operations is the one source: the connector host serves exactly its
routes, and ConnectorClient sends exactly its requests (method, path, retry policy)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from typing import Any

import httpx
import pytest
from helpers import MOCK_CONFIG

from erpsync_mock_erp import MockErpConnector
from host.client import ConnectorClient, ConnectorClientError
from host.connector import Actor, Restriction
from host.protocol import operations as ops
from host.server import create_app


def test_operation_names_and_routes_are_unique() -> None:
    assert len(ops.BY_NAME) == len(ops.OPERATIONS)
    assert len({(op.method, op.path) for op in ops.OPERATIONS}) == len(ops.OPERATIONS)


def test_only_creating_an_actor_is_unsafe_to_retry() -> None:
    assert [op.name for op in ops.OPERATIONS if not op.idempotent] == ["create_actor"]


def test_an_operation_fills_in_its_path() -> None:
    assert ops.CHANGED_SINCE.path_params == ("guid", "actor_type")
    assert ops.CHANGED_SINCE.url(guid="g", actor_type="customer") == (
        "/connections/g/actors/customer/changes"
    )
    assert ops.GET_LIST.url("g", "currencies") == "/connections/g/lists/currencies"
    with pytest.raises(ValueError):
        ops.GET_LIST.url("g")  # a placeholder left unfilled
    assert ops.GET_LIST.resends_config and not ops.DELETE_CONNECTION.resends_config
    assert not ops.INFO.takes_guid and ops.SAVE_CONNECTION.takes_guid


def test_the_connector_host_serves_exactly_the_table() -> None:
    app = create_app({}, token=None)
    document = app.openapi()
    served = {
        (method.upper(), path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert served == {(op.method, op.path, op.name) for op in ops.OPERATIONS}
    # The connector prefix is a server variable; paths are relative to <connector URL>/v1.
    (server,) = document["servers"]
    assert server["url"].endswith("/connectors/{connector_id}" + ops.BASE_PATH)
    assert set(server["variables"]) >= {"connector_id", "host"}


def _pattern(op: ops.Operation) -> re.Pattern[str]:
    return re.compile("/connectors/mock/v1" + re.sub(r"\{\w+\}", "[^/]+", op.path) + r"(\?.*)?$")


async def _drain(actors: Any) -> None:
    async for _ in actors:
        pass


def test_the_client_sends_every_operation_as_the_table_says() -> None:
    """Every client method against the real app (in-process), each request matched back."""
    sent: list[tuple[str, str]] = []
    app = create_app({"mock": MockErpConnector(customers=5)}, token=None)

    async def recorder(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = scope["query_string"].decode()
            sent.append((scope["method"], scope["path"] + (f"?{query}" if query else "")))
        await app(scope, receive, send)

    async def every_call() -> None:
        guid = str(uuid.uuid4())
        transport = httpx.ASGITransport(app=recorder)
        async with ConnectorClient("http://host/connectors/mock", transport=transport) as c:
            calls: list[Any] = [
                c.info(),
                c.config_fields(),
                c.test_config(MOCK_CONFIG),
                c.save_connection(guid, MOCK_CONFIG),
                c.test_connection(guid),
                c.held_connections(),
                c.actor_types(guid),
                c.actor_fields(guid, "customer"),
                c.searchable_fields(guid, "customer"),
                c.get_actors(guid, "customer", ["1"]),
                c.search_actors(guid, "customer", ""),
                c.search_by_parent(guid, "person", "customer", "1"),
                c.search_advanced(guid, "customer", [Restriction("name", "contains", ("a",))]),
                c.create_actor(guid, Actor("customer", field_values={"name": "New"})),
                c.save_actors(guid, []),
                c.changes_page(guid, "customer", limit=2),
                _drain(c.changed_since(guid, "customer")),  # the stream, info declares it
                c.get_list(guid, "currencies"),
                c.delete_connection(guid),
            ]
            for call in calls:
                # An error envelope is an answer too: the request was sent.
                with contextlib.suppress(ConnectorClientError):
                    await call

    asyncio.run(every_call())
    matched = [
        [op.name for op in ops.OPERATIONS if op.method == method and _pattern(op).match(path)]
        for method, path in sent
    ]
    assert all(len(names) == 1 for names in matched), list(zip(sent, matched, strict=True))
    assert sorted(names[0] for names in matched) == sorted(ops.BY_NAME)


@pytest.mark.parametrize("op", [ops.CREATE_ACTOR, ops.SEARCH_ACTORS], ids=lambda op: op.name)
def test_the_client_retries_only_what_the_table_calls_idempotent(op: ops.Operation) -> None:
    attempts: list[str] = []

    def busy(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        return httpx.Response(503, text="busy")

    async def call() -> None:
        transport = httpx.MockTransport(busy)
        async with ConnectorClient(
            "http://host/connectors/x", transport=transport, retries=2, backoff=0
        ) as c:
            with pytest.raises(ConnectorClientError):
                if op is ops.CREATE_ACTOR:
                    await c.create_actor("g", Actor("customer"))
                else:
                    await c.search_actors("g", "customer")

    asyncio.run(call())
    assert len(attempts) == (3 if op.idempotent else 1)


def test_the_table_decides_the_re_send_and_every_answer_is_scrubbed() -> None:
    """A connector that forgot a connection and repeats its password (a plain http.server,
    so no server-side scrubbing helps): the client re-sends the config only for operations
    the table marks so (never to forget it), and scrubs the GUID's secrets from every
    answer, whichever way the request was built."""
    from helpers.hostile_connector import hostile_connector

    password = "LeakMe999"
    config = {"server": "s", "username": "bob", "password": password}
    guid = str(uuid.uuid4())
    looked_up: list[str] = []

    async def lookup(wanted: str) -> dict[str, Any]:
        looked_up.append(wanted)
        return config

    async def secrets(wanted: str) -> list[str]:
        return [password] if wanted == guid else []

    async def calls(url: str) -> list[str]:
        async with ConnectorClient(url, config_lookup=lookup, secret_lookup=secrets) as c:
            forgotten = await c.delete_connection(guid)  # FORGET: no re-send
            # A 1.0 connector's unknown_connection on delete is taken as done (idempotent).
            assert forgotten.ok and "not held" in forgotten.user_explanation
            assert looked_up == []
            tested = await c.test_connection(guid)  # KNOWN: re-sent, asked again
            assert tested.ok and looked_up == [guid]
            deleted = await c.delete_connection(guid)
            assert deleted.ok
            return [tested.user_explanation, tested.tech_explanation, deleted.user_explanation]

    with hostile_connector() as evil:
        evil.test_connection_mode = "ok"
        texts = asyncio.run(calls(evil.url))
    assert "forgot ****" in texts
    assert all(password not in text for text in texts), texts
