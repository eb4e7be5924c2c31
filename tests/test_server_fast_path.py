"""The server's fast path for the hot read routes answers byte for byte what the full FastAPI
route answers: the same app twice on loopback, one with the fast path and one without, the
same connector and connection store behind both, the same requests sent to each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import MOCK_CONFIG

from erpsync_mock_erp import MockErpConnector
from host.server import create_app
from host.server.fastpath import FastPath
from host.server.run import Server
from host.server.store import ConnectionStore

DEMO = MOCK_CONFIG  # the demo login the mock app declares
TOKEN = "fast-path-token-0123456789"
GUID = str(uuid.uuid4())
UNKNOWN = str(uuid.uuid4())
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Pair:
    def __init__(self, fast: Server, full: Server, fast_app: Any) -> None:
        self.fast, self.full, self.fast_app = fast, full, fast_app

    def middleware(self) -> FastPath:
        layer = self.fast_app.middleware_stack
        while not isinstance(layer, FastPath):
            layer = layer.app
        return layer


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    connector = MockErpConnector(customers=250)
    store = ConnectionStore()
    fast_app = create_app({"mock": connector}, token=TOKEN, store=store)
    full_app = create_app({"mock": connector}, token=TOKEN, store=store, fast_path=False)
    with (
        Server(fast_app, "127.0.0.1", 0, lifespan="off") as fast,
        Server(full_app, "127.0.0.1", 0, lifespan="off") as full,
    ):
        answer = httpx.put(
            f"{fast.base}/connectors/mock/v1/connections/{GUID}",
            json={"config": DEMO},
            headers=AUTH,
        )
        assert answer.status_code == 200, answer.text
        yield Pair(fast, full, fast_app)


def _actors(guid: str = GUID, actor_type: str = "customer") -> str:
    return f"/connectors/mock/v1/connections/{guid}/actors/{actor_type}"


CHANGES = _actors() + "/changes"
# (name, method, path, query, json body, headers, the fast path answers it itself)
REQUESTS: list[tuple[str, str, str, Any, Any, dict[str, str], bool]] = [
    ("first page", "GET", CHANGES, {}, None, AUTH, True),
    (
        "page of 7 with fields",
        "GET",
        CHANGES,
        {"limit": 7, "fields": ["NAME", "EMAIL"]},
        None,
        AUTH,
        True,
    ),
    ("since", "GET", CHANGES, {"since": "00000000000200"}, None, AUTH, True),
    ("invalid cursor", "GET", CHANGES, {"cursor": "not-a-cursor"}, None, AUTH, True),
    ("unknown field", "GET", CHANGES, {"fields": "NOPE"}, None, AUTH, True),
    ("bad limit", "GET", CHANGES, {"limit": 0}, None, AUTH, False),
    ("limit not a number", "GET", CHANGES, {"limit": "ten"}, None, AUTH, False),
    ("limit too large", "GET", CHANGES, {"limit": 5000}, None, AUTH, False),
    ("limit twice", "GET", CHANGES, [("limit", "3"), ("limit", "4")], None, AUTH, False),
    ("unknown guid", "GET", _actors(UNKNOWN) + "/changes", {}, None, AUTH, True),
    ("guid not a uuid", "GET", _actors("nope") + "/changes", {}, None, AUTH, False),
    ("guid in capitals", "GET", _actors(GUID.upper()) + "/changes", {}, None, AUTH, False),
    ("unknown type", "GET", _actors(actor_type="spaceship") + "/changes", {}, None, AUTH, True),
    ("unknown connector", "GET", CHANGES.replace("/mock/", "/nope/"), {}, None, AUTH, False),
    ("no token", "GET", CHANGES, {}, None, {}, False),
    ("wrong token", "GET", CHANGES, {}, None, {"Authorization": "Bearer wrong"}, False),
    ("get", "POST", _actors() + "/get", None, {"erp_keys": ["1", "2", "zz"]}, AUTH, True),
    (
        "get some fields",
        "POST",
        _actors() + "/get",
        None,
        {"erp_keys": ["3"], "field_keys": ["NAME"]},
        AUTH,
        True,
    ),
    ("get without keys", "POST", _actors() + "/get", None, {"field_keys": []}, AUTH, False),
    ("get keys not strings", "POST", _actors() + "/get", None, {"erp_keys": [1]}, AUTH, False),
    ("get unknown guid", "POST", _actors(UNKNOWN) + "/get", None, {"erp_keys": ["1"]}, AUTH, True),
    ("get no token", "POST", _actors() + "/get", None, {"erp_keys": ["1"]}, {}, False),
    ("search all", "POST", _actors() + "/search", None, {"text": ""}, AUTH, True),
    ("search a page", "POST", _actors() + "/search", None, {"text": "AS", "limit": 5}, AUTH, True),
    (
        "search bad cursor",
        "POST",
        _actors() + "/search",
        None,
        {"text": "", "cursor": "x"},
        AUTH,
        True,
    ),
    (
        "search bad limit",
        "POST",
        _actors() + "/search",
        None,
        {"text": "", "limit": 0},
        AUTH,
        False,
    ),
    (
        "search unknown type",
        "POST",
        _actors(actor_type="spaceship") + "/search",
        None,
        {},
        AUTH,
        True,
    ),
]


def _send(base: str, method: str, path: str, query: Any, body: Any, headers: Any) -> httpx.Response:
    return httpx.request(method, base + path, params=query, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "headers", "answered"),
    [r[1:] for r in REQUESTS],
    ids=[r[0] for r in REQUESTS],
)
def test_fast_and_full_route_answer_the_same_bytes(
    pair: Pair, method: str, path: str, query: Any, body: Any, headers: Any, answered: bool
) -> None:
    middleware = pair.middleware()
    before = (middleware.answered, middleware.handed_on)
    fast = _send(pair.fast.base, method, path, query, body, headers)
    full = _send(pair.full.base, method, path, query, body, headers)
    assert fast.status_code == full.status_code
    assert fast.content == full.content
    assert fast.headers.get("content-type") == full.headers.get("content-type")
    assert fast.headers.get("content-length") == full.headers.get("content-length")
    after = (middleware.answered, middleware.handed_on)
    if answered:
        assert after == (before[0] + 1, before[1]), "the fast path should have answered"
    else:
        assert after[0] == before[0], "the fast path should have handed this on"


def test_the_fast_path_answers_a_whole_changed_since_run_as_the_full_route(pair: Pair) -> None:
    pages: dict[str, list[bytes]] = {"fast": [], "full": []}
    for name, server in (("fast", pair.fast), ("full", pair.full)):
        cursor = ""
        while True:
            answer = _send(server.base, "GET", CHANGES, {"cursor": cursor, "limit": 60}, None, AUTH)
            pages[name].append(answer.content)
            cursor = answer.json()["data"]["cursor"]
            if not cursor:
                break
    assert len(pages["fast"]) == 5
    assert pages["fast"] == pages["full"]


def test_values_that_are_not_plain_json_are_left_to_the_full_route() -> None:
    """A str subclass: the fast path hands the request on, FastAPI's model writes it."""
    from host.connector import Actor, Connector, Page

    class Name(str):
        pass

    class Odd(Connector):
        id = "odd"
        blocking = False

        def changed_since(self, connection, actor_type, since, field_keys, cursor, limit):  # type: ignore[no-untyped-def]
            return Page([Actor("customer", "1", "s", field_values={"NAME": Name("Acme")})])

    store = ConnectionStore()
    store.put("odd", GUID, {})
    app = create_app({"odd": Odd()}, token=None, store=store)
    with Server(app, "127.0.0.1", 0, lifespan="off") as server:
        answer = httpx.get(f"{server.base}/connectors/odd/v1/connections/{GUID}/actors/c/changes")
    assert answer.status_code == 200
    assert answer.json()["data"]["actors"][0]["field_values"] == {"NAME": "Acme"}
    layer = app.middleware_stack
    while not isinstance(layer, FastPath):
        layer = layer.app
    assert (layer.answered, layer.handed_on) == (0, 1)


def test_the_fast_path_leaves_the_openapi_document_alone() -> None:
    connector = MockErpConnector(customers=1)
    with_fast = create_app({"mock": connector}, token=None).openapi()
    without = create_app({"mock": connector}, token=None, fast_path=False).openapi()
    assert with_fast == without
