"""ConnectorClient against the real mock connector server, purpose-built loopback servers that
answer badly, and the in-process `app:mock` transport."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import pytest
from helpers import MOCK_CONFIG, MOCK_PASSWORD
from helpers.fake_http import Answer, fake_server
from helpers.mock_server import MockServer

from host.admin.clients import make_client
from host.admin.errors import NotFound
from host.client import (
    CallFailed,
    ConnectorBusy,
    ConnectorClient,
    ConnectorUnreachable,
    ProtocolError,
    Unauthorized,
)
from host.connector import ALL_ZERO_GUID, Actor, FieldType, State
from host.protocol import PROTOCOL_VERSION

T = TypeVar("T")


def run(client: ConnectorClient, call: Callable[[ConnectorClient], Awaitable[T]]) -> T:
    """Run one call on `client` in a fresh event loop and close the client."""

    async def go() -> T:
        async with client:
            return await call(client)

    return asyncio.run(go())


def client_for(server: MockServer, **kwargs: Any) -> ConnectorClient:
    kwargs.setdefault("token", server.token)
    return ConnectorClient(server.url, timeout=10, **kwargs)


def new_guid() -> str:
    return str(uuid.uuid4())


# --- the real mock server --------------------------------------------------------------------


def test_info_names_the_connector_and_the_protocol_version(mock_server: MockServer) -> None:
    info = run(client_for(mock_server), lambda c: c.info())
    assert info["id"] == "mock"
    assert info["name"] == "Mock ERP"
    assert info["protocol_version"] == PROTOCOL_VERSION
    assert isinstance(info["version"], str) and info["version"]


def test_config_fields_come_in_rank_order_with_their_types(mock_server: MockServer) -> None:
    fields = run(client_for(mock_server), lambda c: c.config_fields())
    by_key = {f.key: f for f in fields}
    assert [f.rank for f in fields] == sorted(f.rank for f in fields)
    assert by_key["password"].type is FieldType.PASSWORD
    assert by_key["company"].type is FieldType.INTEGER
    assert by_key["username"].access.value == "mandatory"
    decimal = by_key["decimal_separator"]
    assert decimal.type is FieldType.LIST and decimal.list_name == "decimal_separators"


def test_lists_are_answered_for_the_all_zero_guid(mock_server: MockServer) -> None:
    items = run(client_for(mock_server), lambda c: c.get_list(ALL_ZERO_GUID, "decimal_separators"))
    assert set(items) == {".", ","}
    only = run(
        client_for(mock_server), lambda c: c.get_list(ALL_ZERO_GUID, "decimal_separators", ["."])
    )
    assert list(only) == ["."]


def test_list_items_can_be_asked_for_by_a_key_holding_a_comma(mock_server: MockServer) -> None:
    """The mock's own list has the item key ",": asking for it by key must find it."""
    items = run(
        client_for(mock_server),
        lambda c: c.get_list(ALL_ZERO_GUID, "decimal_separators", [",", "."]),
    )
    assert set(items) == {",", "."}


def test_test_config_with_the_right_password_passes(mock_server: MockServer) -> None:
    response = run(client_for(mock_server), lambda c: c.test_config(MOCK_CONFIG))
    assert response.ok
    assert response.state is State.OK
    assert "erp.mock.local" in response.user_explanation


def test_test_config_with_a_wrong_password_explains_the_login(mock_server: MockServer) -> None:
    config = {**MOCK_CONFIG, "password": "not-the-password"}
    response = run(client_for(mock_server), lambda c: c.test_config(config))
    assert not response.ok
    assert response.state is State.ERROR
    assert response.error_code == "login_failed"
    assert "Login" in response.user_explanation
    assert "wrong" in response.user_explanation.lower()


def test_test_config_with_a_mistyped_value_is_refused_by_the_host(
    mock_server: MockServer,
) -> None:
    config = {**MOCK_CONFIG, "company": "first"}
    response = run(client_for(mock_server), lambda c: c.test_config(config))
    assert not response.ok
    assert response.error_code == "invalid_config"
    assert "company" in response.user_explanation
    assert MOCK_PASSWORD not in response.user_explanation + response.tech_explanation


def test_save_test_delete_lifecycle(mock_server: MockServer) -> None:
    guid = new_guid()

    async def lifecycle(c: ConnectorClient) -> list[Any]:
        return [
            await c.save_connection(guid, MOCK_CONFIG),
            await c.test_connection(guid),
            await c.delete_connection(guid),
            await c.test_connection(guid),
            await c.delete_connection(guid),
        ]

    saved, tested, deleted, after_delete, deleted_again = run(client_for(mock_server), lifecycle)
    assert saved.ok, saved
    assert tested.ok and "Connected" in tested.user_explanation
    assert deleted.ok
    assert after_delete.error_code == "unknown_connection"
    assert deleted_again.ok  # v1.1: deleting a GUID not held is idempotent


def test_a_saved_wrong_password_fails_its_connection_test(mock_server: MockServer) -> None:
    guid = new_guid()

    async def go(c: ConnectorClient) -> Any:
        await c.save_connection(guid, {**MOCK_CONFIG, "password": "wrong"})
        try:
            return await c.test_connection(guid)
        finally:
            await c.delete_connection(guid)

    tested = run(client_for(mock_server), go)
    assert not tested.ok and tested.error_code == "login_failed"


def test_an_unknown_guid_answers_unknown_connection(mock_server: MockServer) -> None:
    response = run(client_for(mock_server), lambda c: c.test_connection(new_guid()))
    assert not response.ok
    assert response.error_code == "unknown_connection"


def test_a_call_needing_a_payload_on_an_unknown_guid_raises_call_failed(
    mock_server: MockServer,
) -> None:
    with pytest.raises(CallFailed) as caught:
        run(client_for(mock_server), lambda c: c.get_list(new_guid(), "decimal_separators"))
    assert caught.value.response.error_code == "unknown_connection"


def test_unknown_connection_is_re_sent_from_the_lookup_and_retried(
    mock_server: MockServer,
) -> None:
    guid = new_guid()
    asked: list[str] = []

    async def lookup(wanted: str) -> Mapping[str, Any] | None:
        asked.append(wanted)
        return MOCK_CONFIG

    async def go(c: ConnectorClient) -> list[Any]:
        first = await c.test_connection(guid)  # the connector never heard of it
        second = await c.test_connection(guid)  # now it is saved there: no lookup
        items = await c.get_list(guid, "decimal_separators")
        await c.delete_connection(guid)
        return [first, second, items]

    first, second, items = run(client_for(mock_server, config_lookup=lookup), go)
    assert first.ok, first
    assert "Connected" in first.user_explanation
    assert second.ok
    assert asked == [guid]
    assert "." in items


def test_a_lookup_that_knows_nothing_leaves_unknown_connection(mock_server: MockServer) -> None:
    asked: list[str] = []

    async def lookup(wanted: str) -> Mapping[str, Any] | None:
        asked.append(wanted)
        return None

    guid = new_guid()
    response = run(client_for(mock_server, config_lookup=lookup), lambda c: c.test_connection(guid))
    assert response.error_code == "unknown_connection"
    assert asked == [guid]


def test_a_wrong_token_is_unauthorized(mock_server: MockServer) -> None:
    with pytest.raises(Unauthorized, match="refused the token") as caught:
        run(client_for(mock_server, token="not-the-token"), lambda c: c.info())
    assert caught.value.kind == "config_error"
    assert "not-the-token" not in str(caught.value)


def test_no_token_is_unauthorized(mock_server: MockServer) -> None:
    with pytest.raises(Unauthorized):
        run(client_for(mock_server, token=None), lambda c: c.config_fields())


def test_a_closed_port_is_unreachable(refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/connectors/mock"
    with pytest.raises(ConnectorUnreachable, match="cannot connect") as caught:
        run(ConnectorClient(url, timeout=5, backoff=0.01), lambda c: c.info())
    assert caught.value.kind == "transient"
    assert url in str(caught.value)


def test_an_unknown_connector_id_is_a_call_failure(mock_server: MockServer) -> None:
    url = mock_server.url.rsplit("/", 1)[0] + "/nope"
    with pytest.raises(CallFailed) as caught:
        run(ConnectorClient(url, token=mock_server.token), lambda c: c.info())
    assert caught.value.response.error_code == "unknown_connector"


# --- purpose-built loopback servers that answer badly ----------------------------------------


def envelope(data: Any = None, **overrides: Any) -> dict[str, Any]:
    body = {
        "ok": True,
        "state": "ok",
        "user_explanation": "",
        "tech_explanation": "",
        "error_code": "",
        "data": data,
    }
    return {**body, **overrides}


INFO = {"id": "fake", "name": "Fake", "vendor": "Tests", "version": "1.0"}


def test_a_non_json_answer_is_a_protocol_error() -> None:
    with fake_server() as server:
        server.routes["/c/v1/info"] = Answer(
            200, b"<html>hello</html>", {"Content-Type": "text/html"}
        )
        with pytest.raises(ProtocolError, match="without a JSON body"):
            run(ConnectorClient(server.base + "/c"), lambda c: c.info())


@pytest.mark.parametrize(
    "body",
    [
        {"hello": "world"},
        [1, 2, 3],
        {"ok": "yes", "state": "ok"},
        {"ok": True, "state": "fine"},
    ],
)
def test_json_that_is_not_an_envelope_is_a_protocol_error(body: Any) -> None:
    with fake_server() as server:
        server.routes["/c/v1/info"] = Answer.json(body)
        with pytest.raises(ProtocolError, match="not a protocol envelope"):
            run(ConnectorClient(server.base + "/c"), lambda c: c.info())


@pytest.mark.parametrize(
    ("path", "data", "call"),
    [
        ("/c/v1/info", "just a string", lambda c: c.info()),
        ("/c/v1/config-fields", [{"no_key": 1}], lambda c: c.config_fields()),
        ("/c/v1/config-fields", [{"key": "x", "type": "colour"}], lambda c: c.config_fields()),
        (
            f"/c/v1/connections/{ALL_ZERO_GUID}/lists/l",
            {"not": "a list"},
            lambda c: c.get_list(ALL_ZERO_GUID, "l"),
        ),
    ],
)
def test_an_envelope_with_a_payload_of_the_wrong_shape_is_a_protocol_error(
    path: str, data: Any, call: Callable[[ConnectorClient], Awaitable[Any]]
) -> None:
    with fake_server() as server:
        server.routes[path] = Answer.json(envelope(data))
        with pytest.raises(ProtocolError, match="wrong shape"):
            run(ConnectorClient(server.base + "/c"), call)


def test_a_server_error_with_an_ok_envelope_is_a_protocol_error() -> None:
    with fake_server() as server:
        server.routes["/c/v1/info"] = Answer.json(
            envelope({**INFO, "protocol_version": "1.0"}), 500
        )
        with pytest.raises(ProtocolError, match="HTTP 500"):
            run(ConnectorClient(server.base + "/c"), lambda c: c.info())


@pytest.mark.parametrize("version", ["9.0", "0.9", None, 1, "one"])
def test_an_unknown_protocol_version_is_refused(version: Any) -> None:
    with fake_server() as server:
        server.routes["/c/v1/info"] = Answer.json(envelope({**INFO, "protocol_version": version}))
        with pytest.raises(ProtocolError, match="protocol version") as caught:
            run(ConnectorClient(server.base + "/c"), lambda c: c.info())
    assert repr(version) in str(caught.value)
    assert PROTOCOL_VERSION in str(caught.value)


def test_a_newer_minor_version_of_protocol_1_is_accepted() -> None:
    with fake_server() as server:
        server.routes["/c/v1/info"] = Answer.json(envelope({**INFO, "protocol_version": "1.7"}))
        info = run(ConnectorClient(server.base + "/c"), lambda c: c.info())
    assert info["id"] == "fake"


def test_a_redirect_is_refused_and_the_token_never_reaches_its_target() -> None:
    with fake_server() as target, fake_server() as first:
        target.routes["/c/v1/info"] = Answer.json(envelope({**INFO, "protocol_version": "1.0"}))
        first.routes["/c/v1/info"] = Answer(302, b"", {"Location": target.base + "/c/v1/info"})
        client = ConnectorClient(first.base + "/c", token="sekrit-token")
        with pytest.raises(ProtocolError, match="redirect") as caught:
            run(client, lambda c: c.info())
    assert target.base in str(caught.value)
    assert "sekrit-token" not in str(caught.value)
    # The token was sent to the registered URL, and nothing at all to the redirect target.
    assert [r.headers.get("authorization") for r in first.requests] == ["Bearer sekrit-token"]
    assert target.requests == []


def test_the_client_sends_its_protocol_version() -> None:
    with fake_server() as server:
        server.routes["/c/v1/info"] = Answer.json(envelope({**INFO, "protocol_version": "1.0"}))
        run(ConnectorClient(server.base + "/c"), lambda c: c.info())
    (seen,) = server.requests
    assert PROTOCOL_VERSION in seen.headers["user-agent"]
    assert "authorization" not in seen.headers  # no token, no header


BUSY = Answer(503, b"upstream is restarting", {"Content-Type": "text/plain"})


def test_a_busy_answer_is_retried_with_backoff_until_it_passes() -> None:
    with fake_server() as server:
        good = Answer.json(envelope({**INFO, "protocol_version": "1.0"}))
        server.routes["/c/v1/info"] = [BUSY, BUSY, good]
        info = run(ConnectorClient(server.base + "/c", retries=2, backoff=0.01), lambda c: c.info())
    assert info["id"] == "fake"
    assert server.hits("/c/v1/info") == 3


def test_a_connector_that_stays_busy_is_reported_as_transient() -> None:
    with fake_server() as server:
        server.routes["/c/v1/info"] = BUSY
        with pytest.raises(ConnectorBusy, match="503") as caught:
            run(ConnectorClient(server.base + "/c", retries=2, backoff=0.01), lambda c: c.info())
    assert caught.value.kind == "transient"
    assert server.hits("/c/v1/info") == 3


def test_creating_an_actor_is_never_retried() -> None:
    guid = new_guid()
    path = f"/c/v1/connections/{guid}/actors/customer"
    with fake_server() as server:
        server.routes[path] = BUSY
        client = ConnectorClient(server.base + "/c", retries=3, backoff=0.01)
        with pytest.raises(ConnectorBusy):
            run(client, lambda c: c.create_actor(guid, Actor("customer")))
    assert server.hits(path) == 1  # a retry could create the actor twice


def test_an_answer_larger_than_the_cap_is_refused() -> None:
    with fake_server() as server:
        big = envelope({**INFO, "protocol_version": "1.0", "description": "x" * 5000})
        server.routes["/c/v1/info"] = Answer.json(big)
        client = ConnectorClient(server.base + "/c", max_response_bytes=4096)
        with pytest.raises(ProtocolError, match="larger than"):
            run(client, lambda c: c.info())
        small = ConnectorClient(server.base + "/c", max_response_bytes=1 << 20)
        assert run(small, lambda c: c.info())["id"] == "fake"


# --- app:<id>: the installed app in-process, through the same ASGI app -----------------------


def test_make_client_runs_an_installed_app_in_process() -> None:
    guid = new_guid()

    async def go(c: ConnectorClient) -> list[Any]:
        return [
            await c.info(),
            await c.test_config({**MOCK_CONFIG, "password": "wrong"}),
            await c.save_connection(guid, MOCK_CONFIG),
            await c.test_connection(guid),
        ]

    info, wrong, saved, tested = run(make_client("app:mock", token=None), go)
    assert info["id"] == "mock" and info["protocol_version"] == PROTOCOL_VERSION
    assert wrong.error_code == "login_failed"
    assert saved.ok and tested.ok


def test_app_client_re_sends_a_config_it_forgot_from_the_registry(erpsync_home: Any) -> None:
    """Each app: client is a fresh in-process host, so a saved GUID is forgotten; the registry
    lookup re-sends it."""
    from host.registry import Registry

    registry = Registry.open()
    registry.add_connector("local", "app:mock")
    guid = new_guid()
    registry.add_connection(
        guid=guid, name="acme", connector="local", config=MOCK_CONFIG, secret_keys=["password"]
    )
    response = run(
        make_client("app:mock", token=None, registry=registry), lambda c: c.test_connection(guid)
    )
    assert response.ok, response
    without_registry = run(make_client("app:mock", token=None), lambda c: c.test_connection(guid))
    assert without_registry.error_code == "unknown_connection"


def test_make_client_for_an_unknown_app_connector_names_the_installed_ones() -> None:
    with pytest.raises(NotFound, match="no installed app provides connector 'nope'") as caught:
        make_client("app:nope", token=None)
    assert "mock" in str(caught.value)


def test_a_connector_that_repeats_the_password_never_leaks_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Explanations, tech explanations and log lines have the password values scrubbed."""
    import logging

    import httpx

    from host import ConfigField, Connector, FieldType, Response
    from host.server import create_app

    class Leaky(Connector):
        id = "leaky"
        name = "Leaky"
        vendor = "tests"
        version = "1.0"
        config_fields = (ConfigField("password", "Password", FieldType.PASSWORD),)

        def test_config(self, config: Any) -> Response:
            return Response.error(f"password {config['password']} is wrong", config["password"])

        def test_connection(self, connection: Any) -> Response:
            raise RuntimeError(f"cannot log in with {connection.config['password']}")

    app = create_app({"leaky": Leaky()}, token=None)

    async def go() -> tuple[Any, Any]:
        transport = httpx.ASGITransport(app=app)
        async with ConnectorClient("http://app/connectors/leaky", transport=transport) as c:
            first = await c.test_config({"password": "hunter2-secret"})
            await c.save_connection(GUID, {"password": "hunter2-secret"})
            second = await c.test_connection(GUID)
            return first, second

    GUID = "11111111-2222-3333-4444-555555555555"
    with caplog.at_level(logging.DEBUG):
        first, second = asyncio.run(go())
    texts = [first.user_explanation, first.tech_explanation, second.tech_explanation, caplog.text]
    assert "****" in first.user_explanation and "****" in second.tech_explanation
    assert "cannot log in" in caplog.text
    assert all("hunter2-secret" not in text for text in texts)
