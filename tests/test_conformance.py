"""`erpsync apps check` and the conformance suite: the bundled mock and a real `erpsync serve`
pass, a deliberately broken connector fails with each broken rule named, and the pytest
plugin runs the same checks as one pytest test each."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_CONFIG, MOCK_PASSWORD
from helpers.apps import AppFactory
from helpers.cli import assert_one_line_error
from helpers.fake_http import Answer, fake_server
from helpers.mock_server import (
    MockServer,
    _first_line,
    _wait_until_serving,
    env_without_erpsync,
    stop_process,
)

from host.cli.errors import EXIT_CONNECTOR_REFUSED, EXIT_ERROR, EXIT_PROTOCOL, EXIT_UNREACHABLE
from host.conformance import CHECKS

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "example_connector_app" / "sample_data"
Invoke = Callable[..., Result]
ALL_IDS = [c.id for c in CHECKS]
WRITES = len([i for i in ALL_IDS if i.startswith("write.")])


def report_of(result: Result, exit_code: int = 0) -> dict[str, object]:
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def statuses(report: dict[str, object]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checks"]}  # type: ignore[attr-defined,index]


# --- passing connectors ----------------------------------------------------------------------


def test_the_mock_passes_every_check_in_process_with_its_demo_login(invoke: Invoke) -> None:
    report = report_of(invoke("apps", "check", "mock", "--write", "--json"))
    assert statuses(report) == dict.fromkeys(ALL_IDS, "pass"), report
    assert report["ok"] is True
    assert report["config_source"] == "demo"
    assert report["connector"] == {
        "id": "mock",
        "name": "Mock ERP",
        "vendor": "erpsync",
        "version": "0.1.0",
        "protocol_version": "1.1",
    }


def test_human_output_lists_every_check_and_says_read_only_checks_skip(invoke: Invoke) -> None:
    result = invoke("apps", "check", "mock")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Conformance of mock (Mock ERP 0.1.0 by erpsync, protocol 1.1)")
    assert lines[1] == "config: the mock ERP's demo login (no --config given)"
    for check_id in ALL_IDS:
        status = "SKIP" if check_id.startswith("write.") else "PASS"
        assert any(line.split()[:2] == [status, check_id] for line in lines), check_id
    assert "read-only run: pass --write" in result.stdout
    assert lines[-1] == (
        f"{len(ALL_IDS)} checks: {len(ALL_IDS) - WRITES} passed, 0 failed, {WRITES} skipped"
    )
    assert MOCK_PASSWORD not in result.stdout


def test_the_example_app_passes_with_its_writes_not_applicable_as_read_only(
    invoke: Invoke, tmp_path: Path
) -> None:
    config_file = tmp_path / "csv.json"
    config_file.write_text(json.dumps({"directory": "/nowhere", "delimiter": "comma"}))
    result = invoke(
        "apps", "check", "example-csv", "--config-file", str(config_file),
        "--config", f"directory={SAMPLE}", "--write", "--json",
    )  # fmt: skip
    report = report_of(result)
    found = statuses(report)
    assert set(found.values()) == {"pass"}, report  # strict-clean: nothing skipped
    checks = {c["id"]: c for c in report["checks"]}  # type: ignore[attr-defined]
    for read_only in ("write.create", "write.save", "write.conflict"):
        assert checks[read_only]["message"].startswith("not applicable: "), read_only
    assert checks["test_config.rejects_wrong_password"]["message"] == (
        "not applicable: no password config field: no login to refuse"
    )
    assert checks["search.advanced"]["message"].startswith("checked customer")


@pytest.fixture(scope="module")
def served_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `erpsync serve --port 0 --no-auth --app mock` subprocess; yields the mock's URL."""
    directory = tmp_path_factory.mktemp("serve")
    process = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "serve", "--port", "0", "--no-auth", "--app", "mock"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**env_without_erpsync(), "ERPSYNC_HOME": str(directory / "home")},
        cwd=str(directory),
    )
    assert process.stdout is not None
    try:
        line = _first_line(process.stdout, timeout=60).strip()
        prefix = "serving connector mock at "
        assert line.startswith(prefix), line
        url = line[len(prefix) :]
        _wait_until_serving(url.split("/connectors/")[0], timeout=30)
        yield url
    finally:
        stop_process(process)


def test_a_url_of_erpsync_serve_passes_every_read_only_check(
    invoke: Invoke, served_mock: str
) -> None:
    report = report_of(invoke("apps", "check", served_mock, "--json"))
    expected = {i: "skip" if i.startswith(("write.", "auth.")) else "pass" for i in ALL_IDS}
    assert statuses(report) == expected, report
    assert report["target"] == served_mock


def test_a_url_with_a_token_is_checked_and_a_wrong_token_exits_5(
    invoke: Invoke, mock_server: MockServer, tmp_path: Path
) -> None:
    only = ["--only", "info", "--only", "config_fields", "--only", "connection"]
    good = invoke(
        "apps", "check", mock_server.url, "--token-file", str(mock_server.token_file),
        *only, "--config", "username=demo", "--config", f"password={MOCK_PASSWORD}", "--json",
    )  # fmt: skip
    report = report_of(good)
    assert report["config_source"] == "given"
    assert set(statuses(report).values()) == {"pass"}
    assert len(report["checks"]) == 10  # type: ignore[arg-type]
    bad = invoke("apps", "check", mock_server.url, "--token", "wrong", *only)
    assert "refused the token" in assert_one_line_error(bad, EXIT_PROTOCOL)


# --- failing connectors ----------------------------------------------------------------------

BROKEN_APP = """
    from host import (
        Access, Actor, ConfigField, Connector, FieldType, Field, Page, Response, hookimpl,
    )

    CUSTOMERS = [
        Actor("customer", str(n), f"{n:06d}",
              field_values={"NAME": f"C{n}", "EMAIL": "", "NUMBER": n})
        for n in range(1, 7)
    ]


    class BrokenConnector(Connector):
        id = "broken"
        name = "Broken ERP"
        vendor = "Tests"
        version = "1.0.0"
        config_fields = [
            ConfigField("server", "Server", FieldType.TEXT, access=Access.MANDATORY),
            ConfigField("password", "Password", FieldType.PASSWORD, access=Access.MANDATORY),
        ]

        def info(self):
            return {**super().info(), "version": ""}  # info: no version

        def get_config_fields(self):
            return [
                *self.config_fields,
                ConfigField("api_token", "API token", FieldType.TEXT),  # secrets: not a password
                ConfigField("region", "Region", FieldType.LIST, list_name="regions"),  # unserved
                ConfigField("timeout", "Timeout", FieldType.INTEGER, default="soon"),  # default
            ]

        def test_config(self, config):
            return Response.success("anything goes")  # accepts a wrong password

        def delete_connection(self, connection):
            return Response.error("cannot forget", error_code="stuck")  # lifecycle

        def actor_types(self, connection):
            return ["customer", "customer"]  # listed twice

        def actor_fields(self, connection, actor_type):
            return [
                Field("NUMBER", "Number", FieldType.INTEGER, Access.READONLY),
                Field("NAME", "Name", FieldType.TEXT, Access.MANDATORY),
                Field("EMAIL", "E-mail", FieldType.TEXT),
            ]

        def searchable_fields(self, connection, actor_type):
            return ["NAME", "PHONE"]  # PHONE is no field

        def search_actors(self, connection, actor_type, text, field_keys):
            return list(CUSTOMERS)  # ignores field_keys

        def get_actors(self, connection, actor_type, erp_keys, field_keys):
            found = [a for a in CUSTOMERS if a.erp_key in erp_keys[:-1]]  # drops one
            return [Actor("customer", a.erp_key, a.last_modified,
                          field_values={k: a.field_values[k] for k in field_keys}) for a in found]

        def changed_since(self, connection, actor_type, since, field_keys, cursor, limit):
            rows = sorted(CUSTOMERS, key=lambda a: a.last_modified, reverse=True)  # not monotonic
            start = int(cursor or 0)  # and `since` and `field_keys` are ignored
            page = rows[start : start + limit]
            return Page(page, str(start + limit) if start + limit < len(rows) else "")

        def create_actor(self, connection, actor):
            return Actor(actor.actor_type, "7", "", field_values=dict(actor.field_values))

        def save_actors(self, connection, actors):
            return actors  # last_modified does not grow


    @hookimpl
    def register_connectors(register):
        register(BrokenConnector())
"""

BROKEN_FAILURES = {
    "info": "info has no version",
    "config_fields.secrets": "api_token (text)",
    "config_fields.defaults": "timeout 'soon'",
    "config_fields.lists": "region: list 'regions'",
    "test_config.rejects_wrong_password": "test config accepted a wrong password",
    "config.invalid_test": "region = 'erpsync-conformance-not-an-item': accepted",
    "config.invalid_save": "region = 'erpsync-conformance-not-an-item': accepted",
    "capabilities.honoured": "search advanced answers not_supported",
    "connection.lifecycle": "delete connection refused",
    "actor_types.allowed": "more than once",
    "searchable_fields.subset": "['PHONE'] are not fields",
    "search.field_keys": "has fields ['EMAIL', 'NAME', 'NUMBER']",
    "get.field_keys": "asked for ['1', '2', '3'], got ['1', '2']",
    "get.unknown_keys": "answered []",
    "lists.unique_keys": "list 'regions': HTTP 501",
    "lists.keys": "list 'regions': HTTP 501",
    "changed_since.order": "came after",
    "changed_since.since": "returned",
    "changed_since.field_keys": "has fields",
    "stamps.format": "sorts before it as a string",
    "errors.saved_connection": "an unknown list: HTTP 501",
    "write.create": "has no last_modified",
    "write.save": "did not grow",
}


BROKEN_SKIPS = {
    "search.by_parent": "customer: no actor with a parent among the first found",
    "search.advanced": "customer: not supported",
    "search.operators": "customer: no searchable field with a value among the first actors found",
    "search.restriction_values": "customer: not supported",
    "write.conflict": "the created actor is gone",
}


def test_a_broken_connector_fails_with_each_broken_rule_named(
    invoke: Invoke, make_app: AppFactory
) -> None:
    make_app("broken", BROKEN_APP)
    args = ["apps", "check", "broken", "--config", "server=x", "--config", "password=p"]
    result = invoke(*args, "--write", "--json")
    report = report_of(result, EXIT_CONNECTOR_REFUSED)
    checks = {c["id"]: c for c in report["checks"]}  # type: ignore[attr-defined]
    failed = {i for i, c in checks.items() if c["status"] == "fail"}
    assert failed == set(BROKEN_FAILURES), {i: checks[i]["message"] for i in checks}
    for check_id, words in BROKEN_FAILURES.items():
        assert words in checks[check_id]["message"], (check_id, checks[check_id])
        assert checks[check_id]["expected"] is not None, check_id
        assert checks[check_id]["got"] is not None, check_id
    skipped = {i: c["message"] for i, c in checks.items() if c["status"] == "skip"}
    assert skipped == BROKEN_SKIPS
    assert {i for i, c in checks.items() if c["status"] == "pass"} == (
        set(ALL_IDS) - failed - set(skipped)
    )
    assert result.stderr.strip() == (
        f"Error: {len(failed)} of {len(ALL_IDS)} checks failed: "
        + ", ".join(i for i in ALL_IDS if i in failed)
    )

    human = invoke(*args, "--write")
    assert human.exit_code == EXIT_CONNECTOR_REFUSED
    for check_id in BROKEN_FAILURES:
        assert f"FAIL  {check_id} " in human.stdout
    assert "expected: " in human.stdout and "got:      " in human.stdout


def test_a_url_that_speaks_another_protocol_version_and_no_envelopes_fails(
    invoke: Invoke,
) -> None:
    with fake_server() as server:
        base = "/connectors/other/v1"
        info = {
            "id": "other",
            "name": "Other",
            "vendor": "X",
            "version": "1",
            "protocol_version": "2.0",
        }
        server.routes[f"{base}/info"] = Answer.json(
            {"ok": True, "state": "ok", "user_explanation": "", "tech_explanation": "",
             "error_code": "", "data": info}
        )  # fmt: skip
        server.routes[f"{base}/config-fields"] = Answer(500, b"<html>boom</html>")
        result = invoke("apps", "check", f"{server.base}/connectors/other", "--json")
    report = report_of(result, EXIT_CONNECTOR_REFUSED)
    checks = {c["id"]: c for c in report["checks"]}  # type: ignore[attr-defined]
    assert checks["info"]["status"] == "fail"
    assert checks["info"]["got"] == "2.0"
    assert checks["info"]["expected"] == "1.x (this host speaks 1.1)"
    assert checks["errors.envelope"]["status"] == "fail"
    assert "not JSON" in checks["errors.envelope"]["message"] or "HTTP 404" in str(
        checks["errors.envelope"]["got"]
    )
    assert checks["config.complete"]["status"] == "fail"
    assert checks["connection.unknown_guid"]["status"] == "fail"


def test_missing_values_are_named_by_the_first_check_and_the_rest_skip(invoke: Invoke) -> None:
    report = report_of(invoke("apps", "check", "example-csv", "--json"), EXIT_CONNECTOR_REFUSED)
    first, *rest = report["checks"]  # type: ignore[misc]
    assert first["id"] == "config.complete" and first["status"] == "fail"
    assert "directory: is mandatory" in first["message"]
    assert "--config KEY=VALUE" in first["message"]
    assert first["expected"] == "values for the mandatory fields ['directory']"
    skipped = [c for c in rest if c["status"] == "skip" and not c["id"].startswith("write.")]
    assert skipped and all("see config.complete" in c["message"] for c in skipped)
    assert [c["id"] for c in rest if c["status"] == "fail"] == []
    assert report["config_source"] == "none"


# --- usage errors ----------------------------------------------------------------------------


def test_usage_errors_are_one_line(invoke: Invoke, tmp_path: Path) -> None:
    error = assert_one_line_error(invoke("apps", "check", "nope"), EXIT_ERROR)
    assert "no installed app provides connector 'nope'" in error
    error = assert_one_line_error(invoke("apps", "check", "mock", "--token", "t"), EXIT_ERROR)
    assert "apply to connector URLs" in error
    error = assert_one_line_error(invoke("apps", "check", "mock", "--only", "nah"), EXIT_ERROR)
    assert "no check named 'nah'" in error
    error = assert_one_line_error(invoke("apps", "check", "ftp://x/y"), EXIT_ERROR)
    assert "not a connector URL" in error
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    error = assert_one_line_error(
        invoke("apps", "check", "mock", "--config-file", str(bad)), EXIT_ERROR
    )
    assert "must hold one JSON object" in error
    error = assert_one_line_error(invoke("apps", "check", "mock", "--config", "x"), EXIT_ERROR)
    assert "is not KEY=VALUE" in error


def test_an_unreachable_url_exits_4_with_one_line(invoke: Invoke, refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/connectors/mock"
    error = assert_one_line_error(invoke("apps", "check", url), EXIT_UNREACHABLE)
    assert "cannot connect" in error


def test_every_check_is_documented_in_the_partner_guide() -> None:
    guide = (ROOT / "docs" / "partner-guide.md").read_text(encoding="utf-8")
    for check in CHECKS:
        assert f"`{check.id}`" in guide, f"docs/partner-guide.md does not list {check.id}"


# --- the pytest plugin -----------------------------------------------------------------------

pytest_plugins = ["pytester"]

SUITE_MODULE = f"""
import pytest

from host.pytest_plugin import ConformanceSuite


class TestMock(ConformanceSuite):
    connector_id = "mock"
    config = {MOCK_CONFIG!r}
    write = True


class TestOnlyChangedSince(ConformanceSuite):
    connector_id = "mock"
    only = ["changed_since"]

    @pytest.fixture(scope="class")
    @classmethod
    def erpsync_conformance_config(cls, tmp_path_factory):
        assert tmp_path_factory.mktemp("any").is_dir()
        return {MOCK_CONFIG!r}


def test_fixtures(erpsync_mock_server, erpsync_serve, erpsync_run):
    served = erpsync_serve("mock")
    assert served.url.startswith("http://127.0.0.1:") and served.token
    mock = erpsync_mock_server
    assert mock.config["username"] == "demo" and mock.url != served.url

    async def both():
        async with mock.client() as client:
            return await client.test_config(mock.config), await client.info()

    response, info = erpsync_run(both())
    assert response.ok and info["id"] == "mock"


class TestClient:
    connector_id = "mock"

    def test_client(self, erpsync_client, erpsync_run, erpsync_app):
        assert erpsync_client.url == erpsync_app.url
        assert erpsync_run(erpsync_client.info())["protocol_version"] == "1.1"
"""


def test_the_pytest_plugin_runs_one_test_per_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE_MODULE)
    result = pytester.runpytest_inprocess("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(ALL_IDS) + 3 + 2)
    for check_id in ALL_IDS:
        result.stdout.fnmatch_lines([f"*TestMock::test_conformance[[]{check_id}[]] PASSED*"])
    result.stdout.fnmatch_lines(
        ["*TestOnlyChangedSince::test_conformance[[]changed_since.since[]]*"]
    )


def test_the_pytest_plugin_names_each_failure(
    pytester: pytest.Pytester, make_app: AppFactory
) -> None:
    make_app("broken", BROKEN_APP)
    pytester.makepyfile(
        test_broken="""
        from host.pytest_plugin import ConformanceSuite

        class TestBroken(ConformanceSuite):
            connector_id = "broken"
            config = {"server": "x", "password": "p"}
            write = True
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    skipped = len(BROKEN_SKIPS)
    result.assert_outcomes(
        passed=len(ALL_IDS) - len(BROKEN_FAILURES) - skipped,
        failed=len(BROKEN_FAILURES),
        skipped=skipped,
    )
    for check_id in BROKEN_FAILURES:
        result.stdout.fnmatch_lines([f"*test_conformance[[]{check_id}[]]*"])
    result.stdout.fnmatch_lines(["*changed_since.order: *came after*", "*  expected: *"])


def test_the_suite_fails_clearly_when_the_app_is_not_installed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_missing="""
        from host.pytest_plugin import ConformanceSuite

        class TestMissing(ConformanceSuite):
            connector_id = "not-installed"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=len(ALL_IDS))
    result.stdout.fnmatch_lines(["*no installed app provides connector 'not-installed'*"])
