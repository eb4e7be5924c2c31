"""Protocol v1.1's rules (docs/protocol.md, "Rules" and around), each against the bundled
connectors served on a real loopback port: error codes and statuses, envelopes for every
answer, strict wire values, paging without silent caps, capabilities, and the rules that
were left open in 1.0."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import MOCK_CONFIG

from erpsync_mock_erp import MockErpConnector
from host import ERRORS, ErrorCode
from host.client import ConnectorClient, ProtocolError
from host.protocol import PROTOCOL_VERSION
from host.protocol import operations as ops
from host.protocol.errors import ERROR_STATUSES
from host.server import create_app
from host.server.run import Server

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = 1200


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """The mock (1,200 customers) served with a token on a loopback port."""
    app = create_app({"mock": MockErpConnector(customers=CUSTOMERS)}, token="t0ken")
    with Server(app) as server:
        yield server.base + "/connectors/mock/v1"


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer t0ken"}) as client:
        yield client


@pytest.fixture(scope="module")
def guid(http: httpx.Client) -> str:
    key = str(uuid.uuid4())
    assert http.put(f"/connections/{key}", json={"config": MOCK_CONFIG}).status_code == 200
    return key


def is_envelope(body: Any) -> bool:
    keys = {"ok", "state", "user_explanation", "tech_explanation", "error_code", "data"}
    return isinstance(body, dict) and keys <= set(body)


def error(answer: httpx.Response) -> str:
    """The error code of an error answer, after checking its status is the table's."""
    body = answer.json()
    assert is_envelope(body) and body["ok"] is False and body["state"] == "error", body
    code = body["error_code"]
    assert answer.status_code == (ERRORS[code].status if code in ERRORS else 400), answer.text
    return str(code)


# --- one set of error codes ---------------------------------------------------------------


def test_error_codes_are_one_table_in_sdk_docs_and_openapi() -> None:
    from host.server.openapi import openapi_document

    assert set(ERRORS) == {c.value for c in ErrorCode}
    docs = (ROOT / "docs/protocol.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| (\d{3}) \|", docs, re.MULTILINE))
    assert rows == {code: str(spec.status) for code, spec in ERRORS.items()}
    schema = openapi_document()["components"]["schemas"]["ErrorCode"]
    assert schema["enum"] == [c.value for c in ErrorCode]
    assert schema["x-http-status"] == {c: s.status for c, s in ERRORS.items()}
    for path in openapi_document()["paths"].values():
        for operation in path.values():
            declared = {int(s) for s in operation["responses"]}
            assert declared >= {200, *ERROR_STATUSES}, operation["operationId"]


def test_every_envelope_member_is_required_in_the_document() -> None:
    from host.server.openapi import openapi_document

    schemas = openapi_document()["components"]["schemas"]
    envelopes = [s for name, s in schemas.items() if "Envelope" in name]
    assert envelopes
    for schema in envelopes:
        assert set(schema["required"]) == {
            "ok",
            "state",
            "user_explanation",
            "tech_explanation",
            "error_code",
            "data",
        }


def test_both_bundled_apps_answer_the_same_codes(http: httpx.Client, guid: str) -> None:
    from erpsync_example_csv import CsvErpConnector
    from host import Connection, ConnectorError

    changes = f"/connections/{guid}/actors/customer/changes"
    assert error(http.get(changes, params={"cursor": "%%%"})) == "invalid_cursor"
    assert error(http.get(changes, params={"since": "yesterday"})) == "invalid_stamp"
    csv = CsvErpConnector()
    directory = ROOT / "example_connector_app" / "sample_data"
    connection = Connection("g", {"directory": str(directory)})
    for call, code in [
        (lambda: csv.changed_since(connection, "customer", "", [], "%%%", 10), "invalid_cursor"),
        (
            lambda: csv.changed_since(connection, "customer", "yesterday", [], "", 10),
            "invalid_stamp",
        ),
        (lambda: csv.get_list(connection, "nope"), "unknown_list"),
        (lambda: csv.actor_fields(connection, "supplier"), "unknown_actor_type"),
    ]:
        with pytest.raises(ConnectorError) as caught:
            call()
        assert caught.value.response.error_code == code
        assert code in ERRORS


# --- every answer is a documented envelope ---------------------------------------------------


def test_trailing_slash_unknown_route_and_wrong_method_are_envelopes(base: str) -> None:
    with httpx.Client(base_url=base) as anonymous:  # without a token, too
        for path in ("/info/", "/no-such-operation", "/connections/"):
            answer = anonymous.get(path)
            assert (answer.status_code, answer.json()["error_code"]) == (404, "not_found")
            assert "location" not in answer.headers
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer t0ken"}) as http:
        assert error(http.get("/info/")) == "not_found"
        assert error(http.delete("/info")) == "method_not_allowed"
        assert error(http.post("/config-fields", json={})) == "method_not_allowed"
        assert http.get("/info").status_code == 200
        anonymous_op = httpx.get(base + "/info")
        assert (anonymous_op.status_code, anonymous_op.json()["error_code"]) == (
            401,
            "unauthorized",
        )


def test_raw_non_utf8_path_bytes_answer_an_invalid_request_envelope(base: str) -> None:
    url = httpx.URL(base)
    with socket.create_connection((url.host, url.port)) as sock:
        sock.sendall(b"GET " + url.raw_path + b"/lists/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    envelope = json.loads(body)
    assert is_envelope(envelope) and envelope["error_code"] == "invalid_request"


def test_connector_errors_answer_their_status(http: httpx.Client, guid: str) -> None:
    assert error(http.get(f"/connections/{guid}/lists/nope")) == "unknown_list"
    assert error(http.get(f"/connections/{guid}/actor-types/employee/fields")) == (
        "unknown_actor_type"
    )
    get = f"/connections/{guid}/actors/customer/get"
    assert error(http.post(get, json={"erp_keys": ["1"], "field_keys": ["NOPE"]})) == (
        "unknown_field"
    )
    assert error(http.get(f"/connections/{guid}/actors/customer/changes?limit=0")) == (
        "invalid_request"
    )


# --- strict wire values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [("company", "1"), ("read_only", "yes"), ("server", 12), ("company", 1.5), ("read_only", 1)],
)
def test_config_values_must_be_native_json_of_their_type(
    http: httpx.Client, key: str, value: Any
) -> None:
    config = {**MOCK_CONFIG, key: value}
    for answer in (
        http.post("/config/test", json={"config": config}),
        http.put(f"/connections/{uuid.uuid4()}", json={"config": config}),
    ):
        assert error(answer) == "invalid_config"
        assert key in answer.json()["user_explanation"]


def test_config_lists_and_lengths_are_checked_on_the_wire(http: httpx.Client) -> None:
    for config, named in [
        ({**MOCK_CONFIG, "decimal_separator": ";"}, "decimal_separator"),
        ({**MOCK_CONFIG, "server": "x" * 501}, "server"),
        ({**MOCK_CONFIG, "username": ""}, "username"),
    ]:
        answer = http.post("/config/test", json={"config": config})
        assert error(answer) == "invalid_config" and named in answer.json()["user_explanation"]


def test_actor_values_must_be_native_json_of_their_type(http: httpx.Client, guid: str) -> None:
    create = f"/connections/{guid}/actors/customer"
    for values in ({"NAME": 12}, {"NAME": "A", "CREDITLIMIT": "12.5"}, {"NAME": "A", "ACTIVE": 1}):
        answer = http.post(
            create, json={"actor": {"actor_type": "customer", "field_values": values}}
        )
        assert error(answer) == "invalid_value", values


# --- paging: no silent caps ----------------------------------------------------------------


def test_a_blank_search_pages_every_actor_exactly_once(http: httpx.Client, guid: str) -> None:
    search = f"/connections/{guid}/actors/customer/search"
    first = http.post(search, json={"text": "", "field_keys": ["NAME"]}).json()
    assert first["state"] == "ok_with_info" and first["next_cursor"]
    # The mock takes the host's `limit` hint, so it stops early and the total is not known.
    assert (
        len(first["data"]) == 500
        and "Showing matches 1-500; more match" in (first["user_explanation"])
    )
    keys = [a["erp_key"] for a in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        body = {"text": "", "field_keys": ["NAME"], "cursor": cursor, "limit": 300}
        page = http.post(search, json=body).json()
        keys += [a["erp_key"] for a in page["data"]]
        cursor = page["next_cursor"]
    assert len(keys) == len(set(keys)) == CUSTOMERS
    small = http.post(search, json={"text": "zzz-no-match"}).json()
    assert small["state"] == "ok" and small["next_cursor"] == "" and small["data"] == []


def test_a_search_cursor_continues_only_its_own_request(http: httpx.Client, guid: str) -> None:
    search = f"/connections/{guid}/actors/customer/search"
    cursor = http.post(search, json={"text": "", "limit": 10}).json()["next_cursor"]
    assert error(http.post(search, json={"text": "a", "cursor": cursor})) == "invalid_cursor"
    assert error(http.post(search, json={"text": "", "cursor": "garbage"})) == "invalid_cursor"
    assert error(http.post(search, json={"text": "", "limit": 1001})) == "invalid_request"
    advanced = f"/connections/{guid}/actors/customer/search-advanced"
    page = http.post(advanced, json={"restrictions": [], "limit": 700}).json()
    assert len(page["data"]) == 700 and page["next_cursor"]


class _CountingMock(MockErpConnector):
    """The mock, recording the `limit` each search got and how many actors it returned."""

    def __init__(self) -> None:
        super().__init__(customers=CUSTOMERS)
        self.calls: list[tuple[int | None, int]] = []

    def search_actors(self, connection, actor_type, text, field_keys, limit=None):  # type: ignore[no-untyped-def]
        found = super().search_actors(connection, actor_type, text, field_keys, limit)
        self.calls.append((limit, len(found)))
        return found


class _NoLimitMock(MockErpConnector):
    """A 1.0-style search without `limit`: every match, every time."""

    def search_actors(self, connection, actor_type, text, field_keys):  # type: ignore[no-untyped-def,override]
        return super().search_actors(connection, actor_type, text, field_keys)


def test_a_search_that_takes_limit_is_asked_for_no_more_than_the_page_needs() -> None:
    counting, plain = _CountingMock(), _NoLimitMock(customers=CUSTOMERS)
    app = create_app({"counting": counting, "plain": plain}, token="t0ken")
    with (
        Server(app) as server,
        httpx.Client(base_url=server.base, headers={"Authorization": "Bearer t0ken"}) as http,
    ):
        keys_by_app = {}
        for name in ("counting", "plain"):
            prefix, key = f"/connectors/{name}/v1", str(uuid.uuid4())
            assert http.put(f"{prefix}/connections/{key}", json={"config": MOCK_CONFIG}).is_success
            search, keys, cursor, words = (
                f"{prefix}/connections/{key}/actors/customer/search",
                [],
                None,
                [],
            )
            while True:
                body = {"text": "", "field_keys": ["NAME"], "limit": 400, "cursor": cursor}
                page = http.post(search, json={k: v for k, v in body.items() if v}).json()
                keys += [a["erp_key"] for a in page["data"]]
                words.append(page["user_explanation"])
                cursor = page["next_cursor"]
                if not cursor:
                    break
            keys_by_app[name] = keys
            if name == "plain":
                assert words[0].startswith(f"Showing matches 1-400 of {CUSTOMERS};")
    # The same matches in the same order, each once, whichever way the connector searched.
    assert keys_by_app["counting"] == keys_by_app["plain"]
    assert len(set(keys_by_app["counting"])) == CUSTOMERS
    # Asked for the first match + page size + 1 each time, and it stopped there.
    assert counting.calls == [(401, 401), (801, 801), (1201, 1200)]


def test_the_client_follows_search_pages(base: str, guid: str) -> None:
    async def go() -> int:
        async with ConnectorClient(base.removesuffix("/v1"), token="t0ken") as client:
            return len(await client.search_actors(guid, "customer", "", ["NAME"]))

    assert asyncio.run(go()) == CUSTOMERS


# --- capabilities --------------------------------------------------------------------------


def test_info_declares_capabilities_and_the_client_holds_the_connector_to_them(
    http: httpx.Client,
) -> None:
    info = http.get("/info").json()["data"]
    assert info["protocol_version"] == PROTOCOL_VERSION == "1.1"
    caps = info["capabilities"]
    assert set(caps["operations"]) == set(ops.OPTIONAL_OPERATIONS)
    assert caps["page_size"] == {"default": 100, "max": 1000}
    assert caps["search_page_size"] == {"default": 500, "max": 1000}
    assert caps["check_last_modified"] is True


def test_a_declared_page_size_above_the_protocols_is_capped_at_it() -> None:
    """A connector declaring pages of 2,000 would announce a maximum the wire refuses."""
    from host.server.paging import page_sizes

    class Big(MockErpConnector):
        max_page_size = 2000
        search_page_size = 1500

    sizes = page_sizes(Big(customers=1))
    assert sizes["page_size"]["max"] == sizes["search_page_size"]["max"] == ops.MAX_PAGE_SIZE
    assert sizes["search_page_size"]["default"] == ops.MAX_PAGE_SIZE


def test_the_csv_app_offers_search_advanced_since_it_lists_searchable_fields() -> None:
    from erpsync_example_csv import CsvErpConnector
    from host.server.capabilities import capabilities

    declared = capabilities(CsvErpConnector())["operations"]
    assert "searchable_fields" in declared and "search_advanced" in declared
    assert "create_actor" not in declared and "save_actors" not in declared


def test_a_declared_operation_answering_not_supported_is_a_protocol_error() -> None:
    from host import Connector

    class Liar(Connector):
        id, name, vendor = "liar", "Liar", "t"

        def search_advanced(self, *args: Any) -> Any:
            from host import NotSupported

            raise NotSupported("search_advanced")

    app = create_app({"liar": Liar()}, token=None)

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with ConnectorClient("http://h/connectors/liar", transport=transport) as client:
            await client.info()
            assert client.offers("search_advanced") and not client.offers("save_actors")
            guid = str(uuid.uuid4())
            await client.save_connection(guid, {})
            with pytest.raises(ProtocolError, match="declares search_advanced"):
                await client.search_advanced(guid, "customer", [])
            from host.client import CallFailed

            with pytest.raises(CallFailed, match="not offered"):
                await client.save_actors(guid, [])

    asyncio.run(go())


# --- the rules left open in 1.0 -------------------------------------------------------------


def test_since_is_inclusive_and_a_cursor_repeats_since_limit_and_fields(
    http: httpx.Client, guid: str
) -> None:
    changes = f"/connections/{guid}/actors/customer/changes"
    everything = http.get(changes, params={"limit": 1000}).json()["data"]["actors"]
    since = everything[10]["last_modified"]
    page = http.get(changes, params={"since": since, "limit": 3, "fields": ["NAME"]}).json()
    assert page["data"]["actors"][0]["last_modified"] == since  # inclusive
    nxt = http.get(
        changes,
        params={"since": since, "limit": 3, "fields": ["NAME"], "cursor": page["data"]["cursor"]},
    ).json()["data"]
    assert len(nxt["actors"]) == 3 and all(
        set(a["field_values"]) == {"NAME"} for a in nxt["actors"]
    )
    stamps = [a["last_modified"] for a in everything]
    assert stamps == sorted(stamps)  # stamps compare as plain strings
    assert all(s.isascii() and s.isprintable() and " " not in s for s in stamps)


def test_a_single_valued_parameter_given_twice_takes_the_last(
    http: httpx.Client, guid: str
) -> None:
    changes = f"/connections/{guid}/actors/customer/changes?limit=500&limit=2"
    assert len(http.get(changes).json()["data"]["actors"]) == 2


def test_get_leaves_out_unknown_keys_in_the_order_asked(http: httpx.Client, guid: str) -> None:
    get = f"/connections/{guid}/actors/customer/get"
    found = http.post(get, json={"erp_keys": ["3", "no-such", "1"]}).json()["data"]
    assert [a["erp_key"] for a in found] == ["3", "1"]


def test_restrictions_between_is_inclusive_and_operators_take_their_counts(
    http: httpx.Client, guid: str
) -> None:
    advanced = f"/connections/{guid}/actors/customer/search-advanced"

    def find(*restrictions: dict[str, Any]) -> httpx.Response:
        return http.post(advanced, json={"restrictions": list(restrictions), "limit": 1000})

    found = find({"field_key": "CustNo", "operator": "between", "values": [5, 7]}).json()
    assert sorted(a["field_values"]["CustNo"] for a in found["data"]) == [5, 6, 7]
    for operator, values in [("between", [5]), ("=", [1, 2]), ("oneof", []), ("~", [1])]:
        bad = find({"field_key": "CustNo", "operator": operator, "values": values})
        assert error(bad) == "invalid_restriction", (operator, values)
    name = find({"field_key": "CustNo", "operator": "=", "values": [3]}).json()["data"][0]
    upper = name["field_values"]["NAME"].upper()
    same = find({"field_key": "NAME", "operator": "=", "values": [upper]}).json()["data"]
    assert name["erp_key"] in {a["erp_key"] for a in same}  # case-insensitive
    search = f"/connections/{guid}/actors/customer/search"
    simple = http.post(search, json={"text": upper.lower()}).json()["data"]
    assert name["erp_key"] in {a["erp_key"] for a in simple}


@pytest.mark.parametrize(
    ("key", "operator", "values", "expected"),
    [
        ("CustNo", "=", ["12"], "JSON integer"),
        ("CustNo", ">", [12.0], "JSON integer"),
        ("CustNo", "between", [1, "9"], "JSON integer"),
        ("CREDITLIMIT", ">=", ["12.5"], "JSON number"),
        ("ACTIVE", "=", ["true"], "true or false"),
        ("ACTIVE", "=", [1], "true or false"),
        ("NAME", "=", [12], "JSON string"),
        ("CUSTGROUP", "oneof", ["A", 1], "JSON string"),
        ("CREATED", "after", [1767225600], "JSON string"),
        ("parent_erp_key", "=", [1], "JSON string"),
    ],
)
def test_restriction_values_must_be_native_json_of_their_type(
    http: httpx.Client, guid: str, key: str, operator: str, values: list[Any], expected: str
) -> None:
    advanced = f"/connections/{guid}/actors/customer/search-advanced"
    restriction = {"field_key": key, "operator": operator, "values": values}
    answer = http.post(advanced, json={"restrictions": [restriction]})
    assert error(answer) == "invalid_restriction"
    explanation = answer.json()["user_explanation"]
    assert key in explanation and operator in explanation and expected in explanation
    native = [int(v) if key == "CustNo" else v for v in values]
    if key == "CustNo":  # the same restriction with native values is answered
        assert http.post(
            advanced, json={"restrictions": [{**restriction, "values": native}]}
        ).json()["ok"]


def test_save_is_partial_and_check_last_modified_answers_conflict(
    http: httpx.Client, guid: str
) -> None:
    get = f"/connections/{guid}/actors/customer/get"
    save = f"/connections/{guid}/actors"
    before = http.post(get, json={"erp_keys": ["2"]}).json()["data"][0]
    partial = {**before, "field_values": {"PHONE": "+47 1"}}
    saved = http.put(save, json={"actors": [partial]}).json()["data"][0]
    assert saved["field_values"]["NAME"] == before["field_values"]["NAME"]  # kept
    assert saved["field_values"]["PHONE"] == "+47 1"
    stale = {**before, "field_values": {"PHONE": "+47 2"}}  # before's last_modified is old
    answer = http.put(save, json={"actors": [stale], "check_last_modified": True})
    assert error(answer) == "conflict"
    now = http.post(get, json={"erp_keys": ["2"]}).json()["data"][0]
    assert now["field_values"]["PHONE"] == "+47 1"  # nothing saved
    fresh = {**now, "field_values": {"PHONE": "+47 3"}}
    assert http.put(save, json={"actors": [fresh], "check_last_modified": True}).status_code == 200
    assert http.put(save, json={"actors": [stale]}).status_code == 200  # last write wins


def test_delete_is_idempotent_and_guids_are_case_insensitive(http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    assert http.put(f"/connections/{key.upper()}", json={"config": MOCK_CONFIG}).status_code == 200
    assert http.post(f"/connections/{key}/test").json()["ok"] is True
    assert key in http.get("/connections").json()["data"]
    for _ in range(2):
        answer = http.delete(f"/connections/{key}")
        assert answer.status_code == 200 and answer.json()["ok"] is True
    assert error(http.post(f"/connections/{key}/test")) == "unknown_connection"


def test_saving_a_wrong_password_stores_it_and_every_use_says_login_failed(
    http: httpx.Client,
) -> None:
    key = str(uuid.uuid4())
    config = {**MOCK_CONFIG, "password": "wrong"}
    assert http.put(f"/connections/{key}", json={"config": config}).status_code == 200
    assert error(http.post(f"/connections/{key}/test")) == "login_failed"
    assert error(http.get(f"/connections/{key}/actor-types")) == "login_failed"
    http.delete(f"/connections/{key}")


def test_a_1_0_connector_still_works_with_the_1_1_client() -> None:
    from helpers.hostile_connector import hostile_connector

    async def go(url: str) -> None:
        async with ConnectorClient(url) as client:
            info = await client.info()
            assert info["protocol_version"] == "1.0" and client.capabilities is None
            assert all(client.offers(name) for name in ops.OPTIONAL_OPERATIONS)
            deleted = await client.delete_connection(str(uuid.uuid4()))
            assert deleted.ok  # its unknown_connection is taken as done

    with hostile_connector() as legacy:
        asyncio.run(go(legacy.url))
