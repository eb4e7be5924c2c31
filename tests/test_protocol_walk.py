"""Every operation of protocol v1 through ConnectorClient against a real `erpsync mock-server`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from helpers import MOCK_CONFIG
from helpers.mock_server import MockServer, start_mock_server, stop_process

from host import ALL_ZERO_GUID, Actor, FieldType, Restriction
from host.client import CallFailed, ConnectorClient

T = TypeVar("T")
DEMO = {k: MOCK_CONFIG[k] for k in ("server", "username", "password")}


def run(server: MockServer, call: Callable[[ConnectorClient], Awaitable[T]]) -> T:
    async def go() -> T:
        async with ConnectorClient(server.url, token=server.token, timeout=60) as client:
            return await call(client)

    return asyncio.run(go())


def test_every_operation_walks_through_the_client(mock_server: MockServer) -> None:
    guid = str(uuid.uuid4())
    config = {**DEMO, "company": 2}

    async def walk(c: ConnectorClient) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["info"] = await c.info()
        seen["fields"] = await c.config_fields()
        seen["test_config"] = await c.test_config(config)
        seen["save"] = await c.save_connection(guid, config)
        seen["test"] = await c.test_connection(guid)
        seen["types"] = await c.actor_types(guid)
        seen["customer_fields"] = await c.actor_fields(guid, "customer")
        seen["searchable"] = await c.searchable_fields(guid, "customer")
        seen["list"] = await c.get_list(guid, "currencies")
        seen["list_zero"] = await c.get_list(ALL_ZERO_GUID, "currencies")
        first_key = next(iter(seen["list"]))
        seen["list_items"] = await c.get_list(guid, "currencies", [first_key])
        seen["all"] = await c.search_actors(guid, "customer", "", ["NAME", "POSTALCITY"])
        some = seen["all"][0]
        seen["get"] = await c.get_actors(guid, "customer", [some.erp_key], ["NAME"])
        seen["search"] = await c.search_actors(
            guid, "customer", some.field_values["NAME"][:6].upper(), ["NAME"]
        )
        seen["advanced"] = await c.search_advanced(
            guid,
            "customer",
            [Restriction("NAME", "begins", (some.field_values["NAME"][:3].lower(),))],
            ["NAME"],
        )
        persons = await c.search_actors(guid, "person", "", [])
        parent = persons[0].parent_erp_key
        seen["children"] = await c.search_by_parent(
            guid, "person", "customer", parent, "", ["FIRSTNAME"]
        )
        seen["parent"] = parent
        created = await c.create_actor(
            guid,
            Actor(
                "customer", field_values={"NAME": "Walk-Through Testing AS", "POSTALCITY": "Oslo"}
            ),
        )
        seen["created"] = created
        created.field_values["POSTALCITY"] = "Bergen"
        seen["saved"] = await c.save_actors(guid, [created])
        changes = [a async for a in c.changed_since(guid, "customer", created.last_modified)]
        seen["changes"] = changes
        seen["delete"] = await c.delete_connection(guid)
        seen["after_delete"] = await c.test_connection(guid)
        return seen

    seen = run(mock_server, walk)
    assert seen["info"]["id"] == "mock" and seen["info"]["protocol_version"].startswith("1.")
    assert {f.key for f in seen["fields"]} >= {"server", "username", "password", "company"}
    assert seen["test_config"].ok and seen["save"].ok and seen["test"].ok
    assert "Mock Services" in seen["test"].user_explanation  # company 2 was used
    assert set(seen["types"]) == {"customer", "supplier", "person", "project"}
    field_keys = {f.key for f in seen["customer_fields"]}
    assert {"NAME", "POSTALAD1", "POSTALZIP", "POSTALCITY"} <= field_keys
    assert set(seen["searchable"]) <= field_keys
    assert seen["list"] == seen["list_zero"] and len(seen["list_items"]) == 1
    assert all(set(a.field_values) == {"NAME", "POSTALCITY"} for a in seen["all"])
    assert [a.erp_key for a in seen["get"]] == [seen["all"][0].erp_key]
    name = seen["all"][0].field_values["NAME"]
    assert any(a.field_values["NAME"] == name for a in seen["search"])
    assert all(
        a.field_values["NAME"].lower().startswith(name[:3].lower()) for a in seen["advanced"]
    )
    assert seen["children"] and all(a.parent_erp_key == seen["parent"] for a in seen["children"])
    created, saved = seen["created"], seen["saved"][0]
    assert created.erp_key and created.last_modified
    assert saved.erp_key == created.erp_key and saved.field_values["POSTALCITY"] == "Bergen"
    assert saved.last_modified > created.last_modified
    assert [a.erp_key for a in seen["changes"]] == [created.erp_key]
    assert seen["delete"].ok
    assert seen["after_delete"].error_code == "unknown_connection"


def test_unknown_guid_is_resent_transparently_by_a_client_that_holds_the_config(
    mock_server: MockServer,
) -> None:
    guid = str(uuid.uuid4())

    async def lookup(asked: str) -> dict[str, Any] | None:
        return dict(DEMO) if asked == guid else None

    async def go() -> list[str]:
        async with ConnectorClient(
            mock_server.url, token=mock_server.token, config_lookup=lookup
        ) as client:
            return await client.actor_types(guid)

    assert "customer" in asyncio.run(go())


def test_not_supported_and_connector_errors_come_in_the_envelope(mock_server: MockServer) -> None:
    guid = str(uuid.uuid4())

    async def go(c: ConnectorClient) -> list[CallFailed]:
        await c.save_connection(guid, DEMO)
        failures = []
        for call in (
            c.actor_fields(guid, "sale"),
            c.get_list(guid, "no-such-list"),
            c.changes_page(guid, "customer", cursor="garbage"),
        ):
            with pytest.raises(CallFailed) as caught:
                await call
            failures.append(caught.value)
        return failures

    failures = run(mock_server, go)
    assert all(f.response.state.value == "error" and f.response.error_code for f in failures)
    assert failures[2].response.error_code == "invalid_cursor"


@pytest.fixture(scope="module")
def big_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    server = start_mock_server(tmp_path_factory.mktemp("big-mock"), "--customers", "100000")
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.mark.slow
def test_paging_100000_customers_returns_each_exactly_once(big_mock: MockServer) -> None:
    guid = str(uuid.uuid4())

    async def go(c: ConnectorClient) -> tuple[list[str], list[str]]:
        await c.save_connection(guid, DEMO)
        keys, stamps = [], []
        async for actor in c.changed_since(
            guid, "customer", "", field_keys=["NAME"], page_size=1000
        ):
            keys.append(actor.erp_key)
            stamps.append(actor.last_modified)
        return keys, stamps

    keys, stamps = run(big_mock, go)
    assert len(keys) == 100_000
    assert len(set(keys)) == 100_000
    assert stamps == sorted(stamps)


def test_field_types_of_the_mock_cover_every_searchable_kind(mock_server: MockServer) -> None:
    guid = str(uuid.uuid4())

    async def go(c: ConnectorClient) -> set[FieldType]:
        await c.save_connection(guid, DEMO)
        kinds: set[FieldType] = set()
        for actor_type in await c.actor_types(guid):
            kinds |= {f.type for f in await c.actor_fields(guid, actor_type)}
        return kinds

    kinds = run(mock_server, go)
    assert {
        FieldType.TEXT,
        FieldType.INTEGER,
        FieldType.DOUBLE,
        FieldType.LIST,
        FieldType.CHECKBOX,
        FieldType.DATETIME,
    } <= kinds
