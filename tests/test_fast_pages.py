"""A changes page written straight from the connector's `Actor` objects (no dict per actor)
is byte for byte what the response model would write, and anything that is not plain takes
the old way; the mock's page of an unchanged table equals the one of its merging loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.responses import Response as HTTPResponse
from helpers import MOCK_CONFIG
from pydantic import TypeAdapter

from erpsync_mock_erp import MockErpConnector
from erpsync_mock_erp.store import Table
from host.connector import Actor, Connection, Page, Response
from host.protocol import models as m
from host.server.calls import _call, _reply
from host.server.shapes import PlainPage, _page, _page_objects


def _slow_path(data: Any) -> bytes:
    """What FastAPI does with the route's dict: validate against the model, then dump."""
    adapter = TypeAdapter(m.Envelope[m.ChangesPage])
    return adapter.dump_json(
        adapter.validate_python({**Response.success().to_dict(), "data": data})
    )


@pytest.fixture(scope="module")
def page() -> Page:
    connector = MockErpConnector(customers=300)
    return connector.changed_since(Connection("g", MOCK_CONFIG), "customer", "", [], "", 100)


def _copy(page: Page) -> Page:
    actors = [
        Actor(
            a.actor_type,
            a.erp_key,
            a.last_modified,
            a.parent_actor_type,
            a.parent_erp_key,
            dict(a.field_values),
        )
        for a in page.actors
    ]
    return Page(actors, page.cursor)


def test_a_plain_page_is_written_from_the_objects_to_the_same_bytes(page: Page) -> None:
    copy = _copy(page)
    copy.actors[0].field_values["CREDITLIMIT"] = float("nan")  # written as null
    copy.actors[1].field_values["NAME"] = 'Ærlig \u2028 "quoted" \\ ☃'
    shaped = _page_objects(copy)
    assert isinstance(shaped, PlainPage)
    reply = _reply(Response.success(), shaped)
    assert isinstance(reply, HTTPResponse)
    assert reply.body == _slow_path(_page(copy))
    assert reply.body == _reply(Response.success(), _page(copy)).body


@dataclass
class SubActor(Actor):
    extra: str = "not on the wire"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda p: p.actors[5].field_values.update(WHEN=object()),
        lambda p: p.actors[5].field_values.update({1: "int key"}),
        lambda p: setattr(p.actors[5], "erp_key", 7),
        lambda p: setattr(p.actors[5], "field_values", {"A": 2**70}),
        lambda p: p.actors.__setitem__(5, SubActor(**vars(p.actors[5]))),
    ],
)
def test_anything_but_plain_actors_is_shaped_as_before(page: Page, spoil: Any) -> None:
    copy = _copy(page)
    spoil(copy)
    shaped = _page_objects(copy)
    if isinstance(shaped, PlainPage):  # plain types: written here, as the model writes them
        reply = _reply(Response.success(), shaped)
        if isinstance(reply, HTTPResponse):
            assert reply.body == _slow_path(_page(copy))
        else:  # msgspec could not write it: the response model's way
            assert reply["data"] == _page(copy)
    else:
        assert shaped == _page(copy)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (["not a page"], "expected a host.Page, got list"),
        (Page([Actor("customer", "1"), "an actor?"], ""), "expected a host.Actor, got str"),  # type: ignore[list-item]
    ],
)
def test_a_wrong_answer_is_the_same_connector_error(answer: Any, message: str) -> None:
    def changed_since() -> Any:
        return answer

    response, data = asyncio.run(_call(changed_since, shape=_page_objects))
    assert not response.ok and data is None
    assert response.error_code == "connector_error"
    assert message in response.tech_explanation


def test_a_page_missing_an_attribute_is_a_connector_error(page: Page) -> None:
    copy = _copy(page)
    del copy.actors[3].actor_type  # (the other members have class defaults)

    def changed_since() -> Page:
        return copy

    response, _ = asyncio.run(_call(changed_since, shape=_page_objects))
    assert response.error_code == "connector_error"
    assert "actor_type" in response.tech_explanation


def _merged(table: Table, since: str, after: tuple[str, str] | None, limit: int) -> Any:
    """The page as the general merging loop finds it: an over-table that is not empty (a key
    no generated actor has, outside the stamp order) takes the loop, which then sees only the
    generated actors."""
    table.over["not-generated"] = Actor("customer", "not-generated")
    try:
        return table.page(since, after, limit)
    finally:
        del table.over["not-generated"]


@pytest.mark.parametrize("customers", [0, 1, 37, 250])
def test_an_unchanged_tables_page_is_the_merging_loops(customers: int) -> None:
    connector = MockErpConnector(customers=customers)
    table = connector._company(Connection("g", MOCK_CONFIG)).tables["customer"]
    stamps = [a.last_modified for a in table] or [""]
    entries = [None, ("", ""), (stamps[len(stamps) // 2], str(len(stamps) // 2 + 1))]
    for since in ("", stamps[0], stamps[-1], stamps[len(stamps) // 3], "9" * 20):
        for after in entries:
            for limit in (1, 7, 100, 1000):
                assert table.page(since, after, limit) == _merged(table, since, after, limit)
