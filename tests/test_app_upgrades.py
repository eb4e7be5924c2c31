"""App versions over their lifetime: two versions of a small app built as wheels (hatchling,
offline), installed with real pip through `erpsync apps install`, saved connections upgraded
and downgraded between them; each kind of breaking change flagged with its reason, the app's
migrate_config applied and audited, unaffected connections carry on, rollback heals."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.apps import write_app_project
from helpers.cli import assert_one_line_error
from helpers.mock_server import MockServer, start_mock_server, stop_process
from test_cli_apps_admin import offline_pip, own_environment  # noqa: F401  (fixtures)

from host.admin.upgrades import field_reasons, fingerprint, protocol_reason
from host.connector import Field
from host.protocol import PROTOCOL_VERSION

Invoke = Callable[..., Result]

DIST = "erpsync-upgr-app"
MODULE = "erpsync_upgr_app"
SECRET = "s3cret-Upgr4de-pw"

V1_FIELDS = """
        ConfigField("base_url", "Server", access=Access.MANDATORY, rank=1),
        ConfigField("password", "Password", FieldType.PASSWORD, rank=2),
        ConfigField("region", "Region", rank=3),
        ConfigField("legacy_id", "Legacy id", rank=4),
        ConfigField("port", "Port", rank=5),
        ConfigField("mode", "Mode", FieldType.LIST, list_name="modes", rank=6),
"""
V1_MIGRATE = """
    def migrate_config(self, from_version, values):
        # back from 2.x (a downgrade): tenant was region
        if from_version.startswith("2.") and "tenant" in values:
            values["region"] = values.pop("tenant")
        values.pop("timeout", None)
        return values
"""
# 2.0.0: display names, descriptions and ranks change (presentation: never breaking),
# region -> tenant (mandatory, no default; migrate_config moves it), legacy_id removed,
# port text -> integer, mode chooses from another list, timeout mandatory with a default.
V2_FIELDS = """
        ConfigField("base_url", "Server address", access=Access.MANDATORY,
                    description="The ERP's address", rank=9),
        ConfigField("password", "Password", FieldType.PASSWORD, rank=2),
        ConfigField("tenant", "Tenant", access=Access.MANDATORY, rank=3),
        ConfigField("timeout", "Timeout", FieldType.INTEGER, access=Access.MANDATORY,
                    default=30, rank=4),
        ConfigField("port", "Port", FieldType.INTEGER, rank=5),
        ConfigField("mode", "Mode", FieldType.LIST, list_name="modes_v2", rank=6),
"""
V2_MIGRATE = """
    def migrate_config(self, from_version, values):
        if from_version.startswith("1.") and "region" in values:
            values["tenant"] = values.pop("region")
        return values
"""
APP = """\
from host import Access, ConfigField, Connector, FieldType, Response, hookimpl


class UpgradeConnector(Connector):
    id = "upgr"
    name = "Upgrade test ERP"
    vendor = "Test AS"
    version = "{version}"
    blocking = False
    config_fields = [{fields}
    ]

    def test_config(self, config):
        return Response.success("reached " + str(config.get("base_url")))

    def get_list(self, connection, list_name):
        lists = {{"modes": {{"fast": "Fast", "slow": "Slow"}}, "modes_v2": {{"quick": "Quick"}}}}
        return lists[list_name]
{migrate}

@hookimpl
def register_connectors(register):
    register(UpgradeConnector())
"""


def build_wheel(root: Path, version: str, fields: str, migrate: str, wheels: Path) -> None:
    """A wheel of one version of the app, built offline with hatchling (no isolation)."""
    source = APP.format(version=version, fields=fields, migrate=migrate)
    project = write_app_project(root / f"upgr-{version}", DIST, version, "upgr", MODULE, source)
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index"),
            *("--no-build-isolation", "--disable-pip-version-check", "-q", "-w", str(wheels)),
            str(project),
        ],
        check=True,
    )


@pytest.fixture
def wheels(tmp_path: Path, offline_pip: None) -> Path:  # noqa: F811
    found = tmp_path / "wheels"
    build_wheel(tmp_path, "1.0.0", V1_FIELDS, V1_MIGRATE, found)
    build_wheel(tmp_path, "2.0.0", V2_FIELDS, V2_MIGRATE, found)
    assert sorted(p.name.split("-")[1] for p in found.glob("*.whl")) == ["1.0.0", "2.0.0"]
    return found


@pytest.fixture
def cli(
    invoke: Invoke,
    erpsync_home: Path,
    own_environment: Path,  # noqa: F811
) -> Iterator[Invoke]:
    """`erpsync` in-process, as a new process would run it: the app's module is imported
    afresh by every command (pip changes it between commands)."""

    def run(*args: str) -> Result:
        import importlib

        for name in [m for m in sys.modules if m == MODULE or m.startswith(MODULE + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        return invoke(*args)

    yield run
    sys.modules.pop(MODULE, None)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def install(cli: Invoke, wheels: Path, spec: str, *extra: str) -> dict:
    pip = ["--pip-arg=--no-index", f"--pip-arg=--find-links={wheels}", "--pip-arg=--no-deps"]
    return json.loads(ok(cli("apps", "install", *pip, *extra, "--json", spec)).stdout)


def connections(cli: Invoke) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads(ok(cli("connections", "list", "--json")).stdout)}


def add(cli: Invoke, name: str, *config: str) -> None:
    values = [f"--config={c}" for c in ("base_url=erp.example", f"password={SECRET}", *config)]
    ok(cli("connections", "add", name, "--connector", "upgr", "--no-input", *values))


def sync_run(cli: Invoke, name: str) -> dict:
    """One `sync run` of a connection: its run row (exit 3 when the pass failed)."""
    result = cli("sync", "run", "--connection", name, "--json")
    assert result.exit_code in (0, 3), (result.stdout, result.stderr)
    (run,) = json.loads(result.stdout)
    return dict(run)


FLAGGED = {
    "missing": ["new mandatory field 'tenant' has no default and no value"],
    "removed": ["field 'legacy_id' was removed but holds a value"],
    "typed": ["field 'port' changed type from text to integer"],
    "listed": ["field 'mode' now chooses from list 'modes_v2', not 'modes'"],
}


@pytest.mark.slow
def test_upgrade_flags_each_break_migrates_values_and_a_downgrade_heals(
    cli: Invoke, wheels: Path, erpsync_home: Path
) -> None:
    report = install(cli, wheels, f"{DIST}==1.0.0")
    assert [a["version"] for a in report["added"]] == ["1.0.0"]
    ok(cli("connectors", "add", "upgr", "app:upgr"))
    add(cli, "plain", "region=eu")  # migrate_config moves region to tenant: unaffected
    add(cli, "missing")  # no region: the new mandatory tenant has no value
    add(cli, "removed", "region=eu", "legacy_id=L-17")
    add(cli, "typed", "region=eu", "port=8080")
    add(cli, "listed", "region=eu", "mode=fast")

    # Versions recorded: per connection, and on the connector record.
    before = connections(cli)
    assert before["plain"]["tested_with"]["app"] == "upgr"
    assert before["plain"]["tested_with"]["app_distribution"] == DIST
    assert before["plain"]["tested_with"]["app_version"] == "1.0.0"
    assert before["plain"]["tested_with"]["connector_version"] == "1.0.0"
    assert before["plain"]["tested_with"]["protocol_version"].startswith("1.")
    assert len(before["plain"]["tested_with"]["fields_fingerprint"]) == 64
    assert all(row["needs_attention"] == [] for row in before.values())
    (connector,) = json.loads(ok(cli("connectors", "list", "--json")).stdout)
    assert connector["versions"]["app_version"] == "1.0.0"
    shown = ok(cli("connectors", "show", "upgr")).stdout
    assert f"app:         upgr {DIST} 1.0.0" in shown and "version:     1.0.0" in shown
    listed_apps = {a["name"]: a for a in json.loads(ok(cli("apps", "list", "--json")).stdout)}
    assert listed_apps["upgr"]["connections"] == 5
    assert listed_apps["mock"]["connections"] == 0

    # Upgrade: the check runs right after pip.
    report = install(cli, wheels, DIST, "--upgrade")
    assert [(a["previous_version"], a["version"]) for a in report["changed"]] == [
        ("1.0.0", "2.0.0")
    ]
    (check,) = report["upgrade_checks"]
    outcomes = {o["connection"]: o for o in check["connections"]}
    assert {n: o["reasons"] for n, o in outcomes.items() if o["reasons"]} == FLAGGED
    assert outcomes["plain"] == {
        "connection": "plain",
        "needs_attention": False,
        "reasons": [],
        "migrated_keys": ["region", "tenant"],
    }
    after = connections(cli)
    assert {n: r["needs_attention"] for n, r in after.items() if r["needs_attention"]} == FLAGGED
    assert after["plain"]["config"] == {
        "base_url": "erp.example",
        "password": "****",
        "tenant": "eu",  # moved by 2.0.0's migrate_config
        "timeout": 30,  # the default of a field 2.0.0 added
    }
    assert after["plain"]["tested_with"]["connector_version"] == "2.0.0"
    assert after["typed"]["tested_with"]["connector_version"] == "1.0.0"
    shown = ok(cli("connections", "show", "typed")).stdout
    assert "tested with: connector 1.0.0, protocol" in shown and "app upgr 1.0.0" in shown
    assert "NEEDS ATTENTION: field 'port' changed type from text to integer" in shown
    table = ok(cli("connections", "list")).stdout
    assert [line.split()[0] for line in table.splitlines() if "NEEDS ATTENTION" in line] == sorted(
        FLAGGED
    )

    # The migration is audited by key, never by value; no secret anywhere.
    audit = json.loads(ok(cli("audit", "--json", "--limit", "500")).stdout)
    migrations = [a for a in audit if a["action"] == "connection.migrate"]
    assert [(a["target"], a["detail"]) for a in migrations] == [
        ("plain", "migrate_config 1.0.0 -> 2.0.0: region, tenant")
    ]
    assert SECRET not in json.dumps(audit) and "L-17" not in json.dumps(audit)
    assert SECRET not in json.dumps(report)

    # A flagged connection cannot be activated (exit 6, the reason named) nor synced.
    refused = cli("connections", "activate", "typed")
    text = assert_one_line_error(refused, 6)
    assert "needs attention after an app upgrade" in text
    assert "field 'port' changed type from text to integer" in text
    unaffected = cli("connections", "activate", "plain")  # refused only for its sync settings
    assert unaffected.exit_code == 1 and "needs attention" not in unaffected.stderr
    assert "no actor type enabled" in unaffected.stderr
    ok(cli("connections", "test", "plain"))
    run = sync_run(cli, "typed")
    assert run["status"] == "skipped"
    assert "field 'port' changed type from text to integer" in run["message"]
    assert sync_run(cli, "typed") == run  # skipped again: no second history row for it
    history = json.loads(ok(cli("sync", "history", "--connection", "typed", "--json")).stdout)
    assert [r["status"] for r in history] == ["skipped"]
    status = {r["connection"]: r for r in json.loads(ok(cli("sync", "status", "--json")).stdout)}
    assert "needs attention after an app upgrade" in status["typed"]["reason"]
    run = sync_run(cli, "plain")  # runs (and fails only for want of sync settings)
    assert run["status"] == "failed" and "no actor type enabled" in run["message"]

    # doctor reports them too (and keeps the marks).
    doctor = cli("doctor", "--json")
    findings = {f["check"]: f for f in json.loads(doctor.stdout)["findings"]}
    assert findings["connection typed"]["status"] == "problem"
    assert "changed type from text to integer" in findings["connection typed"]["detail"]

    # Editing and passing a re-test clears the mark.
    edited = cli("connections", "edit", "missing", "--no-input", "--config", "tenant=acme")
    ok(edited)
    assert connections(cli)["missing"]["needs_attention"] == []
    assert connections(cli)["missing"]["tested_with"]["connector_version"] == "2.0.0"

    # Rollback: PKG==OLD; the connections tested with 1.0.0 are fine again, the migrated
    # and the edited ones are moved back by 1.0.0's migrate_config.
    pip = ["--pip-arg=--no-index", f"--pip-arg=--find-links={wheels}", "--pip-arg=--no-deps"]
    told = ok(cli("apps", "install", *pip, f"{DIST}==1.0.0")).stdout.splitlines()
    assert told == [
        f"Updated app upgr ({DIST} 2.0.0 -> 1.0.0): loaded, connectors upgr",
        "Connection listed (connector upgr) is fine",
        "Connection missing (connector upgr) is fine; its config was migrated "
        "(region, tenant, timeout)",  # edited under 2.0.0: 1.0.0's migrate_config moves back
        "Connection plain (connector upgr) is fine; its config was migrated "
        "(region, tenant, timeout)",
        "Connection removed (connector upgr) is fine",
        "Connection typed (connector upgr) is fine",
    ]
    back = connections(cli)
    assert all(r["needs_attention"] == [] for r in back.values())
    assert back["plain"]["config"]["region"] == "eu" and "tenant" not in back["plain"]["config"]
    assert back["missing"]["config"]["region"] == "acme"
    assert back["typed"]["config"]["port"] == "8080"
    ok(cli("connections", "test", "typed"))
    assert sync_run(cli, "typed")["status"] == "failed"  # synced again: not skipped
    ok(cli("connections", "test", "plain"))


@pytest.mark.slow
def test_the_next_command_checks_an_app_pip_upgraded_behind_the_hosts_back(
    cli: Invoke, wheels: Path
) -> None:
    install(cli, wheels, f"{DIST}==1.0.0")
    ok(cli("connectors", "add", "upgr", "app:upgr"))
    add(cli, "typed", "region=eu", "port=8080")
    pip = [sys.executable, "-m", "pip", "install", "--no-index", f"--find-links={wheels}"]
    subprocess.run([*pip, "--no-deps", "-q", f"{DIST}==2.0.0"], check=True)

    assert connections(cli)["typed"]["needs_attention"] == []  # a list asks no connector
    refused = cli("connections", "activate", "typed")
    text = assert_one_line_error(refused, 6)
    assert "field 'port' changed type from text to integer" in text
    assert connections(cli)["typed"]["needs_attention"] == FLAGGED["typed"]
    (connector,) = json.loads(ok(cli("connectors", "list", "--json")).stdout)
    assert connector["versions"]["app_version"] == "2.0.0"


def test_a_major_protocol_change_is_flagged(
    invoke: Invoke, erpsync_home: Path, mock_server: MockServer, tmp_path: Path
) -> None:
    ok(invoke("connectors", "add", "m", mock_server.url, "--token", mock_server.token))
    good = ["server=erp.mock.local", "username=demo", f"password={MOCK_PASSWORD}"]
    ok(invoke("connections", "add", "acme", "--connector", "m", "--no-input",
              *[f"--config={c}" for c in good]))  # fmt: skip
    tested = connections(invoke)["acme"]["tested_with"]
    assert tested["protocol_version"] == PROTOCOL_VERSION and tested["app"] is None

    upgraded = start_mock_server(tmp_path, "--fail", "wrong-version")  # speaks "9.0"
    try:
        ok(invoke("connectors", "edit", "m", "--url", upgraded.url, "--token", upgraded.token,
                  "--no-check"))  # fmt: skip
        doctor = json.loads(invoke("doctor", "--json").stdout)
        findings = {f["check"]: f for f in doctor["findings"]}
        reason = f"protocol version changed from {PROTOCOL_VERSION} to 9.0 (a major change)"
        assert findings["connection acme"] == {
            "check": "connection acme",
            "status": "problem",
            "detail": f"needs attention after an app upgrade: {reason}",
        }
        assert connections(invoke)["acme"]["needs_attention"] == [reason]
        refused = invoke("connections", "activate", "acme")
        assert reason in assert_one_line_error(refused, 5)  # the connector blocks it too
        # Nor is anything imported from it (the engine skips it the same way).
        refused = invoke("import", "run", "acme", "customer", "--all")
        assert reason in assert_one_line_error(refused, 6)
        assert "cannot import from 'acme'" in refused.stderr

        # Back to a connector speaking 1.x: re-pointing it checks its connections again.
        ok(invoke("connectors", "edit", "m", "--url", mock_server.url, "--token",
                  mock_server.token))  # fmt: skip
        assert connections(invoke)["acme"]["needs_attention"] == []
    finally:
        stop_process(upgraded.process)


# --- what counts as breaking (the rules, on declarations) -------------------------------------


def _f(key: str, **kw: object) -> dict:
    return Field(key, key.title(), **kw).to_dict()  # type: ignore[arg-type]


def test_presentation_never_changes_the_fingerprint() -> None:
    before = [_f("url", access="mandatory"), _f("mode", type="list", list_name="modes")]
    after = [
        {**_f("url", access="mandatory"), "display_name": "Address", "rank": 7},
        {**_f("mode", type="list", list_name="modes"), "description": "How"},
    ]
    presentation = {  # field metadata v1.1 (another branch adds it): never breaking
        "visible_when": {"field": "url", "equals": "x"},
        "required_when": {"field": "url", "equals": "y"},
        "group": "Advanced",
        "placeholder": "https://",
        "help": "Ask your admin",
        "pattern": "^h",
        "pattern_message": "starts with h",
    }
    after[0] |= presentation
    assert fingerprint(before) == fingerprint(list(reversed(after)))
    assert field_reasons(before, after, {"url": "x", "mode": "a"}) == []
    for changed in (
        {"type": "integer"},
        {"access": "normal"},
        {"default": "z"},
        {"list_name": "other"},
        {"list_values": ["a"]},
    ):
        assert fingerprint([{**before[0], **changed}, before[1]]) != fingerprint(before)


def test_the_rules_look_at_the_values_each_connection_holds() -> None:
    old = [
        _f("url", access="mandatory"),
        _f("note"),
        _f("size"),
        _f("key"),
        _f("mode", type="list", list_name="modes"),
        _f("gone"),
    ]
    new = [
        _f("url", access="mandatory"),
        _f("note", access="mandatory"),  # became mandatory
        _f("size", type="integer"),  # a text holding "12" is no integer on the wire
        _f("key", type="password"),  # a value in clear must be re-entered as a secret
        _f("mode", type="list", list_name="modes"),
        _f("added", access="mandatory", default="d"),  # has a default: fine
    ]
    lists = {"modes": {"a": "A"}}
    values = {"url": "u", "size": "12", "key": "k", "mode": "b", "gone": "g"}
    assert field_reasons(old, new, values, lists) == [
        "field 'note' became mandatory and has no value",
        "field 'gone' was removed but holds a value",
        "field 'size' changed type from text to integer",
        "field 'key' changed type from text to password",
        "field 'mode' holds a value list 'modes' no longer offers",
    ]
    # Fields holding nothing break nothing (but a new mandatory one without a default).
    assert field_reasons(old, new, {"url": "u", "note": "n", "gone": ""}, lists) == []
    assert field_reasons(old, new, {"url": "u", "note": "n", "size": 12}, lists) == []
    assert protocol_reason("1.1", "1.4") is None
    assert (
        protocol_reason("1.1", "2.0") == "protocol version changed from 1.1 to 2.0 (a major change)"
    )


def test_apps_list_counts_connections_without_heavy_imports(erpsync_home: Path) -> None:
    from host.registry import Registry

    registry = Registry.open()
    registry.add_connector("local", "app:mock")
    registry.add_connector("served", "http://127.0.0.1:9/connectors/mock")
    registry.add_connector("far", "https://erp.example/connectors/mock")
    for n, connector in enumerate(("local", "local", "served", "far")):
        registry.add_connection(
            guid=f"00000000-0000-0000-0000-00000000000{n}",
            name=f"c{n}",
            connector=connector,
            config={},
            secret_keys=[],
        )
    registry.close()
    code = (
        "import json, sys\nfrom host.cli import main\n"
        "sys.argv = ['erpsync', 'apps', 'list', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in ('sqlite_utils', 'httpx', 'cryptography') "
        "if m in sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert rows["mock"]["connections"] == 3  # app:mock twice, and `erpsync serve` on loopback
    assert json.loads(done.stderr.splitlines()[-1]) == []


def test_the_web_admin_badges_a_connection_that_needs_attention() -> None:
    from host.registry import ConnectionRecord
    from host.web.app import make_environment
    from host.web.sync import connection_row

    record = ConnectionRecord(
        guid="g", name="acme", connector="m", scope="everyone", description="", config={},
        secret_keys=[], active=False, last_test_state="ok", last_test_message="",
        last_tested_at=None, attention=["field 'port' changed type from text to <integer>"],
    )  # fmt: skip
    fine = ConnectionRecord(**{**record.__dict__, "name": "fine", "attention": []})
    html = (
        make_environment()
        .get_template("_connections.html")
        .render(
            connections=[connection_row(record, None), connection_row(fine, None)], csrf_token="t"
        )
    )
    assert html.count("needs attention</span>") == 1
    assert 'title="field &#39;port&#39; changed type from text to &lt;integer&gt;"' in html


def test_a_failing_migration_names_its_type_never_its_message() -> None:
    import asyncio

    from host.admin.upgrades import Current, _migrate
    from host.connector import Connector

    class Raising(Connector):
        version = "2.0.0"

        def migrate_config(self, from_version: str, values: dict) -> dict:
            raise ValueError(f"cannot use {values['password']}")

    class Async(Connector):
        version = "2.0.0"

        async def migrate_config(self, from_version: str, values: dict) -> dict:  # type: ignore[override]
            return {**values, "moved": from_version}

    def now(connector: Connector) -> Current:
        return Current({"connector_version": "2.0.0"}, [], {}, connector)

    values = {"password": SECRET}
    result, changed, failure = asyncio.run(_migrate(now(Raising()), "1.0.0", values))
    assert (result, changed) == (values, [])
    assert failure == "the app's migrate_config from 1.0.0 failed (ValueError)"
    result, changed, failure = asyncio.run(_migrate(now(Async()), "1.0.0", values))
    assert (result, changed, failure) == ({**values, "moved": "1.0.0"}, ["moved"], None)
    assert asyncio.run(_migrate(now(Async()), "2.0.0", values)) == (values, [], None)  # once


def test_a_connection_saved_before_versions_were_recorded_adopts_what_it_finds(
    invoke: Invoke, erpsync_home: Path
) -> None:
    import sqlite3

    ok(invoke("connectors", "add", "local", "app:mock"))
    good = ["server=erp.mock.local", "username=demo", f"password={MOCK_PASSWORD}"]
    ok(invoke("connections", "add", "acme", "--connector", "local", "--no-input",
              *[f"--config={c}" for c in good]))  # fmt: skip
    recorded = connections(invoke)["acme"]["tested_with"]
    assert recorded["app"] == "mock" and recorded["app_distribution"] == "erpsync-host"
    with sqlite3.connect(erpsync_home / "registry.db") as conn:  # as m005 finds older rows
        conn.execute(
            "update connections set app = null, app_distribution = null, app_version = null, "
            "connector_version = null, protocol_version = null, fields_fingerprint = null, "
            "config_fields = null, config_version = null"
        )
        conn.execute("update connectors set app_version = '0.0.1'")  # the app changed since
    assert connections(invoke)["acme"]["tested_with"]["app"] is None

    refused = invoke("connections", "activate", "acme")  # the lazy check runs first
    assert "needs attention" not in refused.stderr
    assert connections(invoke)["acme"]["tested_with"] == recorded
    assert connections(invoke)["acme"]["needs_attention"] == []
