"""The admin core (host.admin) called directly, as the web admin will: against real connector
servers on loopback and a real registry, with no click in between."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from helpers import MOCK_PASSWORD
from helpers.faults import registry_dump, serve_asgi
from helpers.mock_server import MockServer, free_port

from host.admin import connections, connectors, forms
from host.admin.errors import (
    KINDS,
    ActivationRefused,
    Conflict,
    InvalidInput,
    NotFound,
    ProtocolMismatch,
    TestFailed,
    Unreachable,
)
from host.registry import Registry
from host.server.store import ConnectionStore

T = TypeVar("T")
PASSWORD = MOCK_PASSWORD
LOGIN = {"server": "erp.mock.local", "username": "demo", "password": PASSWORD}


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class Served:
    """The bundled mock connector served over real HTTP, with its connection store in reach."""

    url: str
    store: ConnectionStore


@pytest.fixture
def served() -> Iterator[Served]:
    from host.apps import load_apps
    from host.server import create_app

    store = ConnectionStore()
    mock = load_apps(disabled=()).connectors["mock"]  # through its entry point
    with serve_asgi(create_app({"mock": mock}, token="t0ken", store=store)) as base:
        yield Served(f"{base}/connectors/mock", store)


@pytest.fixture
def registry(erpsync_home: Path) -> Iterator[Registry]:
    reg = Registry.open(str(erpsync_home / "registry.db"))
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def mock(registry: Registry, served: Served) -> str:
    """Connector `m` registered for the served mock."""
    run(connectors.add(registry, "m", served.url, "t0ken"))
    return "m"


def add_connection(registry: Registry, name: str, **config: Any) -> connections.Saved:
    async def go() -> connections.Saved:
        form = await forms.form(registry, "m")
        check = await forms.check_config(registry, form, {**LOGIN, **config})
        return await connections.add(registry, name, check)

    return run(go())


# --- error kinds ------------------------------------------------------------------------------


def test_every_error_kind_has_one_exit_code_as_documented() -> None:
    from host.cli.errors import EXIT_BY_KIND

    assert set(EXIT_BY_KIND) == set(KINDS)
    assert {kind: EXIT_BY_KIND[kind] for kind in KINDS} == {
        "error": 1,
        "not_found": 1,
        "invalid_input": 1,
        "conflict": 1,
        "activation_refused": 1,
        "test_failed": 3,
        "unreachable": 4,
        "busy": 4,
        "protocol_mismatch": 5,
        "needs_attention": 6,
        "aborted": 130,
    }


def test_client_failures_map_to_admin_kinds_through_one_classification() -> None:
    from host import client
    from host.admin.errors import from_client_error
    from host.connector import Response, State

    cases = {
        client.ConnectorUnreachable("x"): "unreachable",
        client.ConnectorBusy("x"): "busy",
        client.Unauthorized("x"): "protocol_mismatch",
        client.CertificateError("x"): "protocol_mismatch",
        client.ProtocolError("x"): "protocol_mismatch",
        client.CallFailed("x", Response(State.ERROR, error_code="boom")): "test_failed",
    }
    assert {type(e).__name__: from_client_error(e).kind for e in cases} == {
        type(e).__name__: kind for e, kind in cases.items()
    }
    # Whose move it is stays as it was; only the failure decides retries and exit codes.
    assert client.Unauthorized("x").kind == "config_error" and not client.Unauthorized("x").retry
    assert client.ConnectorBusy("x").retry and client.ConnectorBusy("x").ends_run


def test_connector_add_refuses_bad_input_with_its_own_kinds(registry: Registry, mock: str) -> None:
    with pytest.raises(InvalidInput, match="is not a connector URL"):
        run(connectors.add(registry, "x", "ftp://example.com"))
    with pytest.raises(InvalidInput, match="the token holds whitespace") as caught:
        run(connectors.add(registry, "x", "http://127.0.0.1:1", "two words", check=False))
    assert "two words" not in str(caught.value)
    with pytest.raises(InvalidInput, match="contains a control character"):
        run(connectors.add(registry, "a\nb", "http://127.0.0.1:1"))
    with pytest.raises(Conflict, match="a connector named 'm' already exists"):
        run(connectors.add(registry, "m", "http://127.0.0.1:1", check=False))
    with pytest.raises(NotFound, match="no connector named 'nope'"):
        run(connectors.show(registry, "nope"))
    assert [c["name"] for c in connectors.list_all(registry)] == ["m"]


def test_an_unreachable_or_wrong_connector_is_refused_before_it_is_stored(
    registry: Registry, served: Served
) -> None:
    with pytest.raises(Unreachable, match="connector 'down'"):
        run(connectors.add(registry, "down", f"http://127.0.0.1:{free_port()}/c"))
    with pytest.raises(ProtocolMismatch, match="refused the token"):
        run(connectors.add(registry, "bad-token", served.url, "wrong"))
    assert registry.connectors() == []
    added = run(connectors.add(registry, "m", served.url, "t0ken"))
    assert added.info is not None and added.info["id"] == "mock"
    shown = run(connectors.show(registry, "m", check=True))
    assert shown["token"] == "****" and shown["info"]["protocol_version"].startswith("1.")


# --- the form and testing values without saving -----------------------------------------------


def test_the_form_lists_fields_in_rank_order_with_their_list_items(
    registry: Registry, mock: str
) -> None:
    form = run(forms.form(registry, mock))
    assert [f.key for f in form.ranked] == [
        "server",
        "username",
        "password",
        "company",
        "decimal_separator",
        "read_only",
        "read_only_reason",
        "note",
    ]
    assert form.secret_keys == ["password"]
    assert set(form.lists["decimal_separators"]) >= {".", ","}
    assert form.to_dict()["fields"][0]["key"] == "server"


def test_testing_values_saves_nothing_here_or_at_the_connector(
    registry: Registry, mock: str, served: Served, erpsync_home: Path
) -> None:
    before = registry_dump(erpsync_home / "registry.db")

    passed = run(forms.test_values(registry, mock, LOGIN))
    assert passed.passed and passed.state == "ok"
    assert "Connected to erp.mock.local as demo" in passed.message

    wrong = run(forms.test_values(registry, mock, {**LOGIN, "password": "not-it-" + PASSWORD}))
    assert not wrong.passed and wrong.state == "error"
    assert "wrong username or password" in wrong.message
    assert wrong.to_dict()["error_code"] == "login_failed"
    assert PASSWORD not in str(wrong.to_dict())

    invalid = run(forms.test_values(registry, mock, {**LOGIN, "company": "two", "bogus": 1}))
    assert invalid.state == "invalid" and invalid.response is None  # never sent
    assert set(invalid.errors) == {"company", "bogus"}
    assert invalid.to_dict()["validation"]["error_count"] == 2
    secret = next(f for f in invalid.to_dict()["validation"]["fields"] if f["name"] == "password")
    assert secret["value"] == "****"

    assert registry_dump(erpsync_home / "registry.db") == before
    assert served.store.guids("mock") == []


def test_testing_changes_to_a_saved_connection_merges_its_stored_secret(
    registry: Registry, mock: str, served: Served
) -> None:
    saved = add_connection(registry, "acme")
    stored = dict(served.store.get("mock", saved.record.guid) or {})

    changed = run(forms.test_values(registry, None, {"company": 3}, editing="acme"))
    assert changed.passed, changed.message  # the password was not given: the stored one is used
    assert changed.config["company"] == 3 and changed.config["password"] == PASSWORD
    assert registry.connection_config(saved.record.guid)["company"] == 1  # nothing saved
    assert served.store.get("mock", saved.record.guid) == stored

    with pytest.raises(InvalidInput, match="uses connector 'm', not 'other'"):
        run(forms.test_values(registry, "other", {}, editing="acme"))


# --- add, edit, test many, activate, remove ---------------------------------------------------


def test_add_needs_a_passed_check_and_leaves_nothing_when_the_test_fails(
    registry: Registry, mock: str, served: Served
) -> None:
    async def checked(values: dict[str, Any]) -> forms.ConfigCheck:
        return await forms.check_config(registry, await forms.form(registry, mock), values)

    failing = run(checked({**LOGIN, "company": 9}))
    with pytest.raises(TestFailed, match="Company 9 does not exist") as caught:
        run(connections.add(registry, "acme", failing))
    assert caught.value.response.error_code == "unknown_company"
    invalid = run(checked({"username": "demo"}))
    with pytest.raises(InvalidInput) as refused:
        run(connections.add(registry, "acme", invalid))
    assert refused.value.report is not None and "password" in refused.value.report.problems()[0]
    assert registry.connections() == [] and served.store.guids("mock") == []

    saved = add_connection(registry, "acme")
    assert saved.record.last_test_state == "ok" and saved.warning is None
    assert served.store.guids("mock") == [saved.record.guid]
    assert "customer" in registry.actor_types(saved.record.guid)
    with pytest.raises(Conflict, match="already exists"):
        connections.check_new(registry, "acme")


def test_editing_config_needs_the_connection_inactive_and_a_passed_test(
    registry: Registry, mock: str
) -> None:
    saved = add_connection(registry, "acme")
    registry.set_active(saved.record.guid, True)
    with pytest.raises(Conflict, match="is active; deactivate it"):
        connections.start_edit(registry, "acme", config=True)
    renamed = run(
        connections.edit(registry, connections.start_edit(registry, "acme", new_name="b"))
    )
    assert renamed.record.name == "b"

    connections.deactivate(registry, "b")
    editing = connections.start_edit(registry, "b", config=True)
    assert editing.current["password"] == PASSWORD  # merged here, never shown

    async def change() -> connections.Saved:
        form = await forms.form(registry, mock)
        check = await forms.check_config(registry, form, {"company": 2}, editing.current)
        return await connections.edit(registry, editing, check)

    edited = run(change())
    shown = edited.record.to_dict()["config"]
    assert shown["company"] == 2 and shown["password"] == "****"
    stale = editing  # based on what was there before the edit just written
    with pytest.raises(Conflict, match="changed by someone else"):
        run(connections.edit(registry, stale, run_check(registry, mock, {"company": 3}, stale)))


def run_check(
    registry: Registry, mock: str, values: dict[str, Any], editing: connections.Editing
) -> forms.ConfigCheck:
    async def go() -> forms.ConfigCheck:
        form = await forms.form(registry, mock)
        return await forms.check_config(registry, form, values, editing.current)

    return run(go())


def test_test_many_reports_progress_and_records_every_result(
    registry: Registry, mock: str, served: Served
) -> None:
    names = ["a", "b", "c"]
    for name in names:
        add_connection(registry, name)
    served.store.delete("mock", registry.connection("b").guid)  # re-sent from the registry
    registry.add_connector("down", f"http://127.0.0.1:{free_port()}/c")
    registry.add_connection(
        guid="00000000-0000-4000-8000-00000000000d",
        name="d",
        connector="down",
        config=LOGIN,
        secret_keys=["password"],
    )
    seen: list[tuple[int, int]] = []

    outcomes = run(
        connections.test_many(
            registry,
            registry.connections(),
            concurrency=2,
            timeout_each=10,
            progress=lambda done, total: seen.append((done, total)),
        )
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    by_name = {o.name: o for o in outcomes}
    assert [by_name[n].passed for n in names] == [True, True, True]
    assert by_name["d"].state == "unreachable" and by_name["d"].kind == "unreachable"
    assert PASSWORD not in str([o.to_dict() for o in outcomes])
    assert registry.connection("d").last_test_state == "unreachable"
    assert registry.connection("b").last_test_state == "ok"


def test_activation_lists_every_reason_including_the_sync_settings(
    registry: Registry, mock: str
) -> None:
    from host.sync.settings import enable

    registry.add_connection(
        guid="00000000-0000-4000-8000-0000000000e1",
        name="untested",
        connector="m",
        config={"server": "erp.mock.local", "username": "demo"},
        secret_keys=["password"],
    )
    with pytest.raises(ActivationRefused) as refused:
        run(connections.activate(registry, "untested"))
    reasons = refused.value.reasons
    assert reasons[0] == "it was never tested (erpsync connections test)"
    assert "mandatory field missing: password" in reasons
    assert any("no actor type enabled for sync" in r for r in reasons)
    assert refused.value.blocked_by is None
    assert not registry.connection("untested").active

    saved = add_connection(registry, "acme")
    enable(registry, saved.record.guid, "customer")
    assert run(connections.activate(registry, "acme")).active


def test_activation_blocked_by_an_unreachable_connector_says_which_kind(
    registry: Registry, mock: str, served: Served
) -> None:
    from host.cli.errors import admin_exit_code

    saved = add_connection(registry, "acme")
    registry.update_connector("m", url=f"http://127.0.0.1:{free_port()}/c")
    with pytest.raises(ActivationRefused) as refused:
        run(connections.activate(registry, "acme"))
    assert refused.value.blocked_by == "unreachable"
    assert admin_exit_code(refused.value) == 4
    assert any("cannot be asked for its fields" in r for r in refused.value.reasons)
    assert not registry.connection_by_guid(saved.record.guid).active  # type: ignore[union-attr]


def test_remove_tells_the_connector_and_warns_when_it_cannot(
    registry: Registry, mock: str, served: Served
) -> None:
    saved = add_connection(registry, "acme")
    assert run(connections.remove(registry, "acme")) == []
    assert served.store.guids("mock") == [] and registry.connections() == []

    add_connection(registry, "b")
    registry.update_connector("m", url=f"http://127.0.0.1:{free_port()}/c")
    warnings = run(connections.remove(registry, "b"))
    assert len(warnings) == 1 and warnings[0].endswith("; removed here anyway")
    assert registry.connections() == []
    with pytest.raises(NotFound):
        connections.get(registry, saved.record.name)


def test_the_audit_names_the_admin_of_the_callers_context(registry: Registry, mock: str) -> None:
    from host.registry import acting_admin

    with acting_admin("alice"):
        add_connection(registry, "acme")
        connections.deactivate(registry, "acme")
    actions = {(e["action"], e["who"]) for e in registry.audit_log()}
    assert ("connection.add", "alice") in actions


# --- the CLI face of "test without saving" ----------------------------------------------------


def test_try_config_tests_values_without_saving_and_exits_by_the_result(
    invoke: Any, erpsync_home: Path, mock_server: MockServer, tmp_path: Path
) -> None:
    import json

    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD)
    assert (
        invoke(
            "connectors", "add", "m", mock_server.url, "--token-file", str(mock_server.token_file)
        ).exit_code
        == 0
    )
    before = registry_dump(erpsync_home / "registry.db")
    login = ["--config", "username=demo", "--config", f"password=@{secret}"]

    passed = invoke("connections", "try-config", "--connector", "m", *login)
    assert passed.exit_code == 0, passed.stderr
    assert passed.stdout.startswith("Config test passed: ok: Connected to erp.mock.local")

    wrong = ["--config", "username=demo", "--config", "password=nope", "--json"]
    failed = invoke("connections", "try-config", "--connector", "m", *wrong)
    assert failed.exit_code == 3
    assert json.loads(failed.stdout)["error_code"] == "login_failed"
    assert failed.stderr.startswith("Error: config test failed: Login to erp.mock.local failed")

    bad = invoke("connections", "try-config", "--connector", "m", *login, "--config", "company=x")
    assert bad.exit_code == 1 and "company" in bad.stderr and PASSWORD not in bad.output

    usage = invoke("connections", "try-config", *login)
    assert usage.exit_code == 2 and "give --connector NAME or --connection NAME" in usage.stderr
    assert registry_dump(erpsync_home / "registry.db") == before
