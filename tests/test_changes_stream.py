"""The streamed changes feed (protocol v1.1): the same actors as the pages, resumable at a
position, an error line when the connector fails half-way, plain pages when the stream is
refused or cut off, and a page fetched only when the one before it was taken."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import MOCK_CONFIG

from erpsync_mock_erp import MockErpConnector
from host.client import CallFailed, ConnectorClient
from host.connector import Actor, ConfigField, Connection, Connector, FieldType, Page, Response
from host.pytest_plugin import LoopbackServer, serve_connectors
from host.server import create_app, stream
from host.server.run import Server

DEMO = MOCK_CONFIG  # the demo login the mock app declares
CUSTOMERS = 2500


@pytest.fixture(scope="module")
def served() -> Iterator[LoopbackServer]:
    with serve_connectors({"mock": MockErpConnector(customers=CUSTOMERS)}, token="tok") as s:
        yield s


async def _saved(client: ConnectorClient) -> str:
    guid = str(uuid.uuid4())
    assert (await client.save_connection(guid, DEMO)).ok
    return guid


async def _all(pages: Any) -> list[Page]:
    return [page async for page in pages]


def test_the_stream_answers_the_same_actors_as_the_pages(served: LoopbackServer) -> None:
    async def main() -> tuple[list[Page], list[Page], str]:
        async with ConnectorClient(served.url("mock"), token="tok") as client:
            guid = await _saved(client)
            await client.info()
            assert client.offers("changes_stream")
            streamed = await _all(client.changes_stream(guid, "customer", page_size=700))
            paged = await _all(client._paged(guid, "customer", "", "", ["NAME"], 700))
            return streamed, paged, client.next_since

    streamed, paged, next_since = asyncio.run(main())
    assert [len(p.actors) for p in streamed] == [700, 700, 700, 400]
    assert [a.erp_key for p in streamed for a in p.actors] == [str(i + 1) for i in range(CUSTOMERS)]
    assert streamed[-1].cursor == ""
    assert next_since == streamed[-1].actors[-1].last_modified
    assert [p.cursor for p in streamed] == [p.cursor for p in paged]
    assert [a.erp_key for p in paged for a in p.actors] == [
        a.erp_key for p in streamed for a in p.actors
    ]
    assert isinstance(streamed[0].actors[0], Actor)
    assert streamed[0].actors[0].field_values["CustNo"] == 1


def test_a_position_resumes_the_stream_after_the_actors_read(served: LoopbackServer) -> None:
    async def main() -> tuple[list[str], list[str]]:
        async with ConnectorClient(served.url("mock"), token="tok") as client:
            guid = await _saved(client)
            await client.info()
            whole = await _all(client.changes_stream(guid, "customer", page_size=1000))
            rest = await _all(
                client.changes_stream(guid, "customer", cursor=whole[0].cursor, page_size=1000)
            )
            keys = [a.erp_key for p in whole[1:] for a in p.actors]
            return keys, [a.erp_key for p in rest for a in p.actors]

    keys, resumed = asyncio.run(main())
    assert resumed == keys
    assert resumed[0] == "1001"


class Failing(Connector):
    """Pages of 10 actors; the third page fails with the connection's password in the text."""

    id = "failing"
    blocking = False
    config_fields = (ConfigField("password", "Password", FieldType.PASSWORD),)

    def changed_since(self, connection, actor_type, since, field_keys, cursor, limit):  # type: ignore[no-untyped-def]
        page = int(cursor or 0)
        if page == 2:
            raise RuntimeError(f"ERP said no to {connection.config['password']}")
        actors = [Actor("customer", f"{page}-{i}", f"{page:04d}") for i in range(10)]
        return Page(actors, str(page + 1))


def test_a_connector_failing_half_way_ends_the_stream_with_a_scrubbed_error() -> None:
    guid = str(uuid.uuid4())

    async def main() -> tuple[list[str], CallFailed]:
        async with ConnectorClient(server.url("failing"), secrets=["hunter2-secret"]) as client:
            assert (await client.save_connection(guid, {"password": "hunter2-secret"})).ok
            await client.info()
            keys: list[str] = []
            with pytest.raises(CallFailed) as caught:
                async for actor in client.changed_since(guid, "customer"):
                    keys.append(actor.erp_key)
            return keys, caught.value

    with serve_connectors({"failing": Failing()}) as server:
        keys, error = asyncio.run(main())
    assert len(keys) == 20  # the two pages before the failure, each at its position line
    assert error.response.error_code == "connector_error"
    assert "hunter2-secret" not in str(error) + error.response.tech_explanation


def test_a_stream_cut_off_goes_on_with_pages_from_the_last_position() -> None:
    """The server's connection breaks after the first position line: the client reads the
    rest as plain pages, every actor once."""
    app = create_app({"mock": MockErpConnector(customers=CUSTOMERS)}, token=None)
    cuts = []

    async def cutting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/changes/stream"):
            await app(scope, receive, send)
            return
        sent = []

        async def partial(message: Any) -> None:
            if message["type"] == "http.response.body":
                sent.append(message)
                if len(sent) == 2:  # the first page and a part of the second
                    body = message["body"]
                    await send({**message, "body": body[: len(body) // 2], "more_body": True})
                    cuts.append(True)
                    raise ConnectionError("cut")
            await send(message)

        await app(scope, receive, partial)

    async def main(base: str) -> list[str]:
        async with ConnectorClient(base + "/connectors/mock") as client:
            guid = await _saved(client)
            return [a.erp_key async for a in client.changed_since(guid, "customer", page_size=500)]

    with Server(cutting, "127.0.0.1", 0, lifespan="off", log_level="critical") as server:
        keys = asyncio.run(main(server.base))
    assert cuts == [True]
    assert keys == [str(i + 1) for i in range(CUSTOMERS)]


def test_a_refused_stream_goes_on_with_pages_which_resend_a_forgotten_config(
    served: LoopbackServer,
) -> None:
    guid = str(uuid.uuid4())

    async def lookup(asked: str) -> dict[str, Any] | None:
        return DEMO if asked == guid else None

    async def main() -> int:
        url = served.url("mock")
        async with ConnectorClient(url, token="tok", config_lookup=lookup) as client:
            return len([a async for a in client.changed_since(guid, "customer")])

    assert asyncio.run(main()) == CUSTOMERS  # the GUID was never saved: unknown_connection


def test_the_next_page_is_asked_for_only_once_the_last_was_taken() -> None:
    """Back-pressure: the generator under the streamed answer reads ahead by nothing."""
    asked: list[str] = []

    async def fetch(cursor: str) -> tuple[Response, Any]:
        asked.append(cursor)
        number = int(cursor or 0)
        actors = [Actor("customer", str(number), "s")]
        return Response.success(), {
            "actors": actors,
            "cursor": "" if number == 3 else str(number + 1),
        }

    async def main() -> list[bytes]:
        response = await stream.changes_stream(fetch, "", "")
        chunks = []
        async for chunk in response.body_iterator:
            chunks.append(chunk)
            assert len(asked) == len(chunks)  # the page after this one is not asked for yet
        return chunks

    chunks = asyncio.run(main())
    assert asked == ["", "1", "2", "3"]
    assert chunks[-1].endswith(b'{"end":true,"count":4,"next_since":"s"}\n')


def test_a_stream_error_before_the_first_line_is_an_ordinary_error_envelope(
    served: LoopbackServer,
) -> None:
    import httpx

    guid = str(uuid.uuid4())
    headers = {"Authorization": "Bearer tok"}
    base = served.url("mock") + f"/v1/connections/{guid}"
    httpx.put(base, json={"config": DEMO}, headers=headers)
    answer = httpx.get(base + "/actors/spaceship/changes/stream", headers=headers)
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["ok"] is False
    bad = httpx.get(base + "/actors/customer/changes/stream?cursor=nope", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error_code"] == "invalid_cursor"


def test_actor_lines_written_from_the_dataclasses_are_the_wire_dicts_bytes() -> None:
    connector = MockErpConnector(customers=3)
    page = connector.changed_since(Connection("g", DEMO), "customer", "", [], "", 2)
    assert stream.actor_lines(page.actors) == b"".join(
        stream._encoder.encode(a.to_dict()) + b"\n" for a in page.actors
    )
