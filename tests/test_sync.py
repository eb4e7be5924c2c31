"""Sync settings, import and the engine against a real `erpsync mock-server`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import assert_one_line_error
from helpers.mock_server import MockServer, start_mock_server, stop_process
from helpers.sync_env import SyncEnv, crm_matches_erp, make_env

from host import Actor

CUSTOMERS = 300


@pytest.fixture(scope="module")
def sync_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    """A mock ERP of its own: these tests change its data."""
    server = start_mock_server(tmp_path_factory.mktemp("sync-mock"), "--customers", str(CUSTOMERS))
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def env(sync_server: MockServer, erpsync_home: Path) -> SyncEnv:
    return make_env(sync_server, erpsync_home)


def fields(env: SyncEnv, connection: str, actor_type: str) -> dict[str, dict]:
    shown = env.json("mapping", "show", connection, actor_type)
    return {f["erp_field"]: f for f in shown["types"][0]["fields"]}


# --- settings ------------------------------------------------------------------------------


def test_automatic_mapping_maps_erp_keys_named_like_crm_fields(env: SyncEnv) -> None:
    env.add_connection("acme")
    customer = fields(env, "acme", "customer")
    assert customer["NAME"]["crm_field"] == "name"
    assert customer["POSTALZIP"]["crm_field"] == "postalzip"
    assert customer["COUNTRY"]["crm_field"] == "country"
    assert customer["CustNo"]["crm_field"] is None  # no CRM field named like it
    assert all(f["direction"] is None for f in customer.values())  # no direction set
    assert customer["NAME"]["in_search"] and not customer["URL"]["in_search"]
    person = fields(env, "acme", "person")
    assert {k: v["crm_field"] for k, v in person.items() if v["crm_field"]} == {
        k: k.lower()
        for k in (
            "FIRSTNAME", "MIDDLENAME", "LASTNAME", "TITLE", "PHONE_DIRECT", "PHONE_MOBILE",
            "EMAIL", "POSITION", "BIRTHDATE",
        )
    }  # fmt: skip
    project = fields(env, "acme", "project")
    assert {k for k, v in project.items() if v["crm_field"]} == {
        "NAME",
        "TEXT",
        "NUMBER",
        "URL",
        "ENDDATE",
    }


def test_activation_needs_an_enabled_actor_type(env: SyncEnv) -> None:
    env.add_connection("acme")
    refused = env.run("connections", "activate", "acme", expect=1)
    assert "no actor type enabled for sync (erpsync mapping enable" in refused.stderr
    answer = env.json("connections", "activate", "acme", expect=1)
    assert answer["activated"] is False and len(answer["reasons"]) == 1
    env.run("mapping", "enable", "acme", "customer")
    env.run("connections", "activate", "acme")
    customer = fields(env, "acme", "customer")
    assert customer["NAME"]["direction"] == "both"
    assert customer["CustNo"]["direction"] is None


def test_a_mapping_that_cannot_convert_is_refused_with_the_reason(env: SyncEnv) -> None:
    env.add_connection("acme")
    err = assert_one_line_error(
        env.run(
            "mapping", "set", "acme", "customer", "CREDITLIMIT", "--crm-field", "department",
            "--direction", "both", expect=1,
        ),
        1,
    )  # fmt: skip
    assert "a CRM text cannot be written to an ERP double" in err
    err = assert_one_line_error(
        env.run(
            "mapping", "set", "acme", "customer", "CustNo", "--crm-field", "number1",
            "--direction", "crm_to_erp", expect=1,
        ),
        1,
    )  # fmt: skip
    assert "CustNo is read-only in the ERP" in err
    # One way it converts: an ERP integer read into a CRM text field.
    env.run(
        "mapping", "set", "acme", "customer", "CustNo", "--crm-field", "number1",
        "--direction", "erp_to_crm",
    )  # fmt: skip
    err = assert_one_line_error(
        env.run("mapping", "set", "acme", "customer", "VATNO", "--crm-field", "number1", expect=1),
        1,
    )
    assert "already mapped to customer.CustNo" in err
    err = assert_one_line_error(
        env.run("mapping", "set", "acme", "customer", "URL", "--in-search", expect=1), 1
    )
    assert "not a searchable field" in err


def test_a_connector_token_the_key_cannot_open_is_a_sync_error_not_a_crash(
    env: SyncEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web's settings page and the CLI show list mapping through host.sync.lists: a token
    sealed with another key is one line there, as everywhere else."""
    import asyncio

    from cryptography.fernet import Fernet

    from host.crm import open_crm
    from host.registry import Registry
    from host.sync import SyncError
    from host.sync.lists import list_rows, set_default_checked

    guid = env.add_connection("acme", enable=("customer",))
    monkeypatch.setenv("ERPSYNC_SECRET_KEY", Fernet.generate_key().decode())
    registry = Registry.open()
    crm = open_crm()
    try:
        with pytest.raises(SyncError, match="cannot decrypt a stored secret"):
            asyncio.run(list_rows(registry, crm, "acme"))
        with pytest.raises(SyncError, match="cannot decrypt a stored secret"):
            asyncio.run(set_default_checked(registry, guid, "customer", "PAYTERMS", value="NET14"))
    finally:
        crm.close()
        registry.close()


def test_list_mapping_is_proposed_by_key_or_name_and_reports_unmapped(env: SyncEnv) -> None:
    env.add_connection("acme", enable=("project",))
    env.run(
        "mapping", "set", "acme", "project", "PROJSTATUS", "--crm-field", "status",
        "--direction", "both",
    )  # fmt: skip
    answer = env.json("mapping", "lists", "acme", "--auto")
    items = {(i["erp_list"], i["erp_item"]): i["crm_item"] for i in answer["items"]}
    assert items["countries", "NO"] == "NO"  # by key
    assert items["project_statuses", "ACTIVE"] == "2"  # by name: "In progress"
    assert items["project_statuses", "CANC"] is None
    assert answer["unmapped"] == ["project_statuses:CANC"]
    err = assert_one_line_error(
        env.run("mapping", "lists", "acme", "--map", "project_statuses:CANC=2", expect=1), 1
    )
    assert "mapped twice" in err
    answer = env.json(
        "mapping", "lists", "acme",
        "--map", "project_statuses:DONE=", "--map", "project_statuses:CANC=4",
    )  # fmt: skip
    assert answer["unmapped"] == ["project_statuses:DONE"]


def test_enabling_a_type_maps_its_list_items_so_the_country_arrives(env: SyncEnv) -> None:
    guid = env.add_connection("acme")
    out = env.run("mapping", "enable", "acme", "customer").stdout
    assert "List items mapped by key or name" in out and "countries" in out
    erp = env.erp_all(guid, "customer")["1"].field_values["COUNTRY"]
    assert erp  # the mock gives every customer a country
    env.run("import", "run", "acme", "customer", "--key", "1")
    shown = env.json("crm", "show", "company", "1")
    assert shown["record"]["country"] == erp
    # An item mapping the admin chose is kept when the type is enabled again.
    other = "SE" if erp != "SE" else "DK"
    env.run(
        "mapping",
        "lists",
        "acme",
        "--map",
        f"countries:{other}=",
        "--map",
        f"countries:{erp}={other}",
    )
    audited = [r["action"] for r in env.json("audit")].count("sync.lists")
    env.run("mapping", "enable", "acme", "customer")
    assert [r["action"] for r in env.json("audit")].count("sync.lists") == audited  # unchanged
    items = env.json("mapping", "lists", "acme")["items"]
    assert {(i["erp_list"], i["erp_item"]): i["crm_item"] for i in items}["countries", erp] == other
    # --no-lists leaves the lists alone (no connector call).
    env.run("mapping", "enable", "acme", "project", "--no-lists")


def test_links_and_audit_targets_show_the_connection_name(env: SyncEnv) -> None:
    guid = env.add_connection("acme", enable=("customer",))
    env.run("import", "run", "acme", "customer", "--key", "1")
    shown = env.run("crm", "show", "company", "1").stdout
    links = shown.split("Links:")[1]
    assert "acme" in links and guid not in links
    link = env.json("crm", "show", "company", "1")["links"][0]
    assert (link["connection"], link["connection_name"]) == (guid, "acme")
    audit = env.run("audit").stdout
    assert "acme/customer" in audit and guid not in audit
    assert f"{guid}/customer" in {r["target"] for r in env.json("audit")}
    env.run("connections", "edit", "acme", "--rename", "acme-north")
    assert "acme-north" in env.run("crm", "show", "company", "1").stdout.split("Links:")[1]


def test_defaults_are_checked_and_forced_mandatory(env: SyncEnv) -> None:
    env.add_connection("acme")
    shown = env.json("defaults", "show", "acme", "customer")["defaults"]
    name = next(d for d in shown if d["erp_field"] == "NAME")
    assert name["mandatory"] and name["forced"]
    assert "CustNo" not in {d["erp_field"] for d in shown}  # read-only: the ERP sets it
    err = assert_one_line_error(
        env.run("defaults", "set", "acme", "customer", "NAME", "--optional", expect=1), 1
    )
    assert "mandatory in the ERP" in err
    err = assert_one_line_error(
        env.run("defaults", "set", "acme", "customer", "CREDITLIMIT", "--value", "lots", expect=1),
        1,
    )
    assert "CREDITLIMIT" in err
    answer = env.json("defaults", "set", "acme", "customer", "CREDITLIMIT", "--value", "5000.5")
    assert answer["value"] == 5000.5
    env.run("defaults", "set", "acme", "customer", "PAYTERMS", "--ask")
    shown = env.json("defaults", "show", "acme", "customer")["defaults"]
    assert next(d for d in shown if d["erp_field"] == "PAYTERMS")["ask"] is True
    # a list field's default is an item of the ERP list as the connector says it now
    err = assert_one_line_error(
        env.run("defaults", "set", "acme", "customer", "PAYTERMS", "--value", "NET999", expect=1),
        1,
    )
    assert "NET999" in err and "payment_terms" in err and "NET30" in err
    shown = env.json("defaults", "show", "acme", "customer")["defaults"]
    assert next(d for d in shown if d["erp_field"] == "PAYTERMS")["value"] is None
    answer = env.json("defaults", "set", "acme", "customer", "PAYTERMS", "--value", "NET45")
    assert answer["value"] == "NET45"


def test_settings_export_and_import_round_trip(env: SyncEnv, tmp_path: Path) -> None:
    env.add_connection("acme", enable=("customer", "person"))
    env.run(
        "mapping", "set", "acme", "customer", "CUSTGROUP", "--crm-field", "category",
        "--direction", "erp_to_crm",
    )  # fmt: skip
    env.run("mapping", "lists", "acme", "--auto")
    env.run("defaults", "set", "acme", "customer", "CURRENCY", "--value", "EUR")
    env.run("mapping", "order", "acme", "customer", "VATNO", "NAME")
    env.run("sync", "interval", "acme", "600")
    exported = tmp_path / "acme.json"
    env.run("mapping", "export", "acme", "-o", str(exported))
    env.add_connection("beta", company=2)
    env.run("mapping", "import", "beta", str(exported))
    again = tmp_path / "beta.json"
    env.run("mapping", "export", "beta", "-o", str(again))
    import json

    first, second = json.loads(exported.read_text()), json.loads(again.read_text())
    assert first.pop("connection") == "acme" and second.pop("connection") == "beta"
    assert first == second
    assert first["types"]["customer"]["enabled"] is True
    order = [
        f["erp_field"]
        for f in sorted(first["types"]["customer"]["fields"], key=lambda f: f["rank"])
    ]
    assert order[:2] == ["VATNO", "NAME"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert "not a sync settings file" in assert_one_line_error(
        env.run("mapping", "import", "beta", str(bad), expect=1), 1
    )


def test_sync_priority_orders_connections(env: SyncEnv) -> None:
    for name in ("alpha", "beta", "gamma"):
        env.add_connection(name)
    assert [r["connection"] for r in env.json("sync", "priority", "show")] == [
        "alpha",
        "beta",
        "gamma",
    ]
    env.run("sync", "priority", "set", "gamma", "alpha")
    assert [r["connection"] for r in env.json("sync", "priority", "show")] == [
        "gamma",
        "alpha",
        "beta",
    ]
    assert_one_line_error(env.run("sync", "priority", "set", "nope", expect=1), 1)


# --- import --------------------------------------------------------------------------------


def test_import_everything_then_again_updates_and_never_duplicates(env: SyncEnv) -> None:
    guid = env.add_connection("acme", enable=("customer", "person", "project"))
    env.run("mapping", "lists", "acme", "--auto")
    for actor_type in ("customer", "person", "project"):
        job = env.json("import", "run", "acme", actor_type, "--all", "--page-size", "97")
        count = len(env.erp_all(guid, actor_type))
        assert (job["read"], job["created"], job["done"]) == (count, count, 1)
        assert crm_matches_erp(env, guid, actor_type) == []
    again = env.json("import", "run", "acme", "customer", "--all")
    assert again["created"] == 0 and again["read"] == CUSTOMERS
    companies = env.json("crm", "list", "company")["total"]
    assert companies == CUSTOMERS
    # Persons hang under their company.
    person = env.json("crm", "list", "person", "--limit", "1")["records"][0]
    assert person["company_id"] is not None


def test_import_preview_and_criteria(env: SyncEnv) -> None:
    guid = env.add_connection("acme", enable=("customer",))
    rows = env.json("import", "preview", "acme", "customer", "--where", "POSTALCITY = oslo")
    assert rows and all(r["crm"]["postalcity"] == "OSLO" for r in rows)
    assert all(r["linked_to"] is None for r in rows)
    job = env.json("import", "run", "acme", "customer", "--where", "POSTALCITY = oslo")
    oslo = [
        a for a in env.erp_all(guid, "customer").values() if a.field_values["POSTALCITY"] == "OSLO"
    ]
    assert job["created"] == len(oslo)
    rows = env.json("import", "preview", "acme", "customer", "--where", "POSTALCITY = oslo")
    assert all(r["linked_to"] is not None for r in rows)
    keyed = env.json("import", "run", "acme", "customer", "--key", "1", "--key", "2")
    assert keyed["read"] == 2
    err = assert_one_line_error(
        env.run("import", "run", "acme", "customer", "--where", "URL = x", expect=1), 1
    )
    assert "not searchable" in err
    err = assert_one_line_error(
        env.run("import", "run", "acme", "customer", "--where", "CREDITLIMIT begins 1", expect=1), 1
    )
    assert "CREDITLIMIT" in err
    assert_one_line_error(env.run("import", "run", "acme", "customer", expect=2), 2)


@pytest.mark.parametrize(
    ("where", "holds"),
    [
        ("CREDITLIMIT >= 25000", lambda v: v["CREDITLIMIT"] >= 25000),
        ("ACTIVE = no", lambda v: v["ACTIVE"] is False),
        ("CUSTGROUP oneof A,B", lambda v: v["CUSTGROUP"] in ("A", "B")),
        ("CREATED before 2030-01-01", lambda v: v["CREATED"] < "2030-01-01"),
    ],
)
def test_import_where_values_are_sent_as_native_json_of_the_field_type(
    env: SyncEnv, where: str, holds: Any
) -> None:
    # --where gives strings; the wire takes only native JSON ("25000" for a double is refused),
    # so the admin side converts them by the field's declared type before it searches.
    guid = env.add_connection("acme", enable=("customer",))
    erp = env.erp_all(guid, "customer")
    rows = env.json("import", "preview", "acme", "customer", "--where", where)
    assert rows and all(holds(erp[r["erp_key"]].field_values) for r in rows)
    bad = where.rsplit(" ", 1)[0] + " lots"
    if not where.startswith("CUSTGROUP"):  # any text is an item key
        err = assert_one_line_error(
            env.run("import", "preview", "acme", "customer", "--where", bad, expect=1), 1
        )
        assert where.split()[0] in err and "'lots'" in err


def test_import_shows_a_progress_bar_on_a_terminal_only(env: SyncEnv) -> None:
    import os
    import pty
    import subprocess
    import sys

    env.add_connection("acme", enable=("customer",))
    quiet = env.run("import", "run", "acme", "customer", "--key", "1", "--key", "2")
    assert "importing" not in quiet.stderr  # not a terminal: no bar
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "import", "run", "acme", "customer", "--all",
         "--page-size", "50"],
        stdout=subprocess.PIPE, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    screen = b""
    while True:  # read as it comes: a full terminal buffer would block the child
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its side and everything was read
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0, screen
    text = screen.decode()
    assert "importing customer" in text and f"{CUSTOMERS} " in text and "/0" not in text
    assert "created" in text and "\r" in text  # redrawn in place
    assert "Imported customer" in stdout.decode()  # the result stays on stdout


# --- the engine ----------------------------------------------------------------------------


def _imported(env: SyncEnv, name: str, company: int) -> str:
    guid = env.add_connection(name, company, enable=("customer", "person", "project"))
    env.run("mapping", "lists", name, "--auto")
    for actor_type in ("customer", "person", "project"):
        env.run("import", "run", name, actor_type, "--all")
    env.run("connections", "activate", name)
    return guid


def _erp_change(env: SyncEnv, guid: str, actor_type: str, keys: list[str], values: dict) -> None:
    async def go(c):  # type: ignore[no-untyped-def]
        await c.save_actors(guid, [Actor(actor_type, k, field_values=values) for k in keys])

    env.erp(go)


def test_incremental_pass_moves_exactly_the_changes(env: SyncEnv) -> None:
    guid = _imported(env, "acme", 2)
    first = env.json("sync", "run", "--connection", "acme")[0]
    assert (first["created"], first["updated"], first["pushed"]) == (0, 0, 0)
    erp_keys = [str(k) for k in range(10, 10 + 25)]
    _erp_change(env, guid, "customer", erp_keys, {"PHONE": "+47 11 22 33 44"})
    crm_ids = list(range(100, 100 + 7))
    for crm_id in crm_ids:
        env.run("crm", "edit", "company", str(crm_id), "--set", f"department=Dept {crm_id}")
    run = env.json("sync", "run", "--connection", "acme")[0]
    assert (run["created"], run["updated"], run["pushed"], run["errors"]) == (0, 25, 7, 0)
    assert run["conflicts"] == 0
    assert crm_matches_erp(env, guid, "customer") == []
    # Nothing moves twice: the next pass reads back only what it pushed and skips it.
    quiet = env.json("sync", "run", "--connection", "acme")[0]
    assert (quiet["updated"], quiet["pushed"], quiet["created"]) == (0, 0, 0)
    history = env.json("sync", "history", "--connection", "acme")
    assert [h["status"] for h in history] == ["ok", "ok", "ok"]
    status = env.json("sync", "status")[0]
    assert status["status"] == "idle" and status["last_run"]["pushed"] == 0


def test_a_field_changed_on_both_sides_goes_to_the_erp_value(env: SyncEnv) -> None:
    guid = _imported(env, "acme", 3)
    env.json("sync", "run", "--connection", "acme")
    # Same field on both sides: the ERP wins. Different fields: both changes survive.
    _erp_change(env, guid, "customer", ["5"], {"PHONE": "ERP phone", "URL": "https://erp.example"})
    link = env.json("crm", "list", "company", "--limit", "500")["records"]
    crm_id = next(
        r["id"]
        for r in link
        if r["name"] == env.erp_all(guid, "customer")["5"].field_values["NAME"]
    )
    env.run(
        "crm",
        "edit",
        "company",
        str(crm_id),
        "--set",
        "phone=CRM phone",
        "--set",
        "email=crm@example.com",
    )
    run = env.json("sync", "run", "--connection", "acme")[0]
    assert run["conflicts"] == 1 and run["updated"] == 1 and run["pushed"] == 1
    record = env.json("crm", "show", "company", str(crm_id))["record"]
    actor = env.erp_all(guid, "customer")["5"].field_values
    assert record["phone"] == actor["PHONE"] == "ERP phone"
    assert record["email"] == actor["EMAIL"] == "crm@example.com"
    assert record["url"] == actor["URL"] == "https://erp.example"


def test_new_crm_records_are_created_in_the_erp_with_defaults(env: SyncEnv) -> None:
    guid = env.add_connection("acme", 1, enable=("customer",))
    env.run("mapping", "enable", "acme", "customer", "--create-in-erp")
    env.run("defaults", "set", "acme", "customer", "PAYTERMS", "--value", "NET14")
    env.run("defaults", "set", "acme", "customer", "VATNO", "--mandatory")
    env.run("connections", "activate", "acme")
    env.run("sync", "run", "--connection", "acme")  # pulls what the ERP has
    ok = env.json("crm", "add", "company", "--set", "name=Brand New AS", "--set", "vatno=NO1")
    bad = env.json("crm", "add", "company", "--set", "name=No Vat AS")
    run = env.json("sync", "run", "--connection", "acme")[0]
    assert run["pushed"] == 1 and run["errors"] == 1
    assert "VATNO" in run["message"]
    links = env.json("crm", "show", "company", str(ok["record"]["id"]))["links"]
    assert len(links) == 1
    actor = env.erp_all(guid, "customer")[links[0]["erp_key"]].field_values
    assert (actor["NAME"], actor["PAYTERMS"], actor["VATNO"]) == ("Brand New AS", "NET14", "NO1")
    assert env.json("crm", "show", "company", str(bad["record"]["id"]))["links"] == []
    again = env.json("sync", "run", "--connection", "acme")[0]
    assert (again["pushed"], again["created"]) == (0, 0)  # created once, never twice
    # What the ERP filled in itself (its default COUNTRY) comes back to the record.
    record = env.json("crm", "show", "company", str(ok["record"]["id"]))["record"]
    assert record["country"] == actor["COUNTRY"] != ""
    assert crm_matches_erp(env, guid, "customer") == []


def test_repeated_failures_stop_the_connection_with_a_reason(
    env: SyncEnv, refused_port: int
) -> None:
    env.add_connection("acme", enable=("customer",))
    env.run("connections", "activate", "acme")
    env.run(
        "connectors",
        "edit",
        "mock-erp",
        "--url",
        f"http://127.0.0.1:{refused_port}/c",
        "--no-check",
    )
    for attempt in range(1, 6):
        err = assert_one_line_error(env.run("sync", "run", "--connection", "acme", expect=3), 3)
        assert "cannot connect" in err
        status = env.json("sync", "status")[0]
        assert status["failures"] == attempt
    assert status["status"] == "stopped"
    assert "stopped after 5 failed runs in a row" in status["reason"]
    assert "erpsync sync start acme" in status["reason"]
    env.run("sync", "start", "acme")
    assert env.json("sync", "status")[0]["status"] == "idle"


def test_crm_cli_rejects_bad_values_in_one_line(env: SyncEnv) -> None:
    err = assert_one_line_error(
        env.run("crm", "add", "company", "--set", "country=XX", expect=1), 1
    )
    assert "company.country: 'XX' is not an item of the CRM list country" in err
    err = assert_one_line_error(env.run("crm", "add", "company", "--set", "nope=1", expect=1), 1)
    assert "company has no field 'nope'" in err
    err = assert_one_line_error(
        env.run("crm", "edit", "company", "999", "--set", "name=x", expect=1), 1
    )
    assert "no company with id 999" in err
    assert env.json("crm", "list", "company")["total"] == 0


def test_a_pass_whose_position_the_erp_forgot_starts_over_and_ends_equal(env: SyncEnv) -> None:
    from host.crm import open_crm
    from host.sync import state

    guid = _imported(env, "acme", 1)
    env.run("sync", "run", "--connection", "acme")
    _erp_change(env, guid, "customer", [str(k) for k in range(10, 40)], {"PHONE": "+47 5566"})
    crm = open_crm(env.home / "registry.db")
    try:  # as if a pass was killed after a page that ended at a position the ERP then forgot
        stamp = state.get_cursor(crm, guid, "customer").erp_stamp
        with crm.transaction():
            state.save_cursor(crm, guid, "customer", state.Cursor(stamp, stamp, "gone", stamp))
        run = env.json("sync", "run", "--connection", "acme")[0]
        assert (run["status"], run["updated"], run["errors"]) == ("ok", 30, 0), run
        assert crm_matches_erp(env, guid, "customer") == []
        assert state.get_cursor(crm, guid, "customer").pass_cursor is None  # the pass ended
    finally:
        crm.close()
