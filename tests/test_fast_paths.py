"""The performance shortcuts answer exactly what the slow paths they replace would."""

from __future__ import annotations

from typing import Any

import importlib_metadata
import pytest
from fastapi.responses import Response as HTTPResponse
from helpers import MOCK_CONFIG
from pydantic import TypeAdapter

from erpsync_mock_erp import MockErpConnector
from host.apps import _name_and_version
from host.connector import Connection, Response
from host.protocol import models as m
from host.server.calls import _reply
from host.server.shapes import _page

DEMO = {k: MOCK_CONFIG[k] for k in ("server", "username", "password")}


def _slow_path(response: Response, data: Any) -> bytes:
    """What FastAPI does with the route's dict: validate against the model, then dump."""
    adapter = TypeAdapter(m.Envelope[m.ChangesPage])
    return adapter.dump_json(adapter.validate_python({**response.to_dict(), "data": data}))


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    connector = MockErpConnector(customers=300)
    result = connector.changed_since(Connection("g", DEMO), "customer", "", [], "", 100)
    return _page(result)


def test_a_page_of_plain_values_is_serialized_to_the_same_bytes(page: dict[str, Any]) -> None:
    page["actors"][0]["field_values"]["CREDITLIMIT"] = float("nan")  # written as null
    reply = _reply(Response.success(), page)
    assert isinstance(reply, HTTPResponse)
    assert reply.media_type == "application/json"
    assert reply.body == _slow_path(Response.success(), page)


def test_an_error_envelope_without_data_is_serialized_the_same() -> None:
    failed = Response.error("No.", "because", "invalid_cursor")
    reply = _reply(failed, None)
    assert isinstance(reply, HTTPResponse)
    assert reply.body == _slow_path(failed, None)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda a: a["field_values"].update(WHEN=object()),
        lambda a: a["field_values"].update({1: "int key"}),
        lambda a: a.update(erp_key=7),
        lambda a: a.pop("last_modified"),
    ],
)
def test_anything_but_plain_values_goes_through_the_response_model(
    page: dict[str, Any], spoil: Any
) -> None:
    actors = [dict(a, field_values=dict(a["field_values"])) for a in page["actors"]]
    spoil(actors[5])
    reply = _reply(Response.success(), {"actors": actors, "cursor": page["cursor"]})
    assert isinstance(reply, dict)  # FastAPI validates it against the route's model


def test_name_and_version_match_the_full_metadata_parse() -> None:
    for dist in list(importlib_metadata.distributions())[:40]:
        assert _name_and_version(dist) == (dist.name, dist.version)
    assert _name_and_version(None) == ("", "")
