"""App loading through real entry points: the bundled mock app, broken apps isolated one by one,
the ERPSYNC_LOAD_APPS allowlist and ERPSYNC_RAISE_APP_ERRORS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import importlib_metadata
import pytest
from click.testing import Result
from helpers.apps import AppFactory, good_app_source
from helpers.cli import assert_one_line_error

from host.apps import AppLoadError, AppStatus, load_apps


def test_the_bundled_mock_app_is_loaded_from_the_host_distribution() -> None:
    from erpsync_mock_erp import MockErpConnector

    loaded = load_apps()
    record = loaded.app("mock")
    assert record is not None
    assert record.status == AppStatus.LOADED, record.error
    assert record.distribution == "erpsync-host"
    assert record.version == importlib_metadata.version("erpsync-host")
    assert record.target == "erpsync_mock_erp"
    assert record.connectors == ["mock"]
    assert record.error == ""
    assert isinstance(loaded.connectors["mock"], MockErpConnector)
    assert loaded.connector_app["mock"] == "mock"


def test_apps_list_json_has_a_stable_shape(invoke: Callable[..., Result]) -> None:
    result = invoke("apps", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    mock = next(row for row in rows if row["name"] == "mock")
    assert mock == {
        "name": "mock",
        "distribution": "erpsync-host",
        "version": importlib_metadata.version("erpsync-host"),
        "module": "erpsync_mock_erp",
        "status": "loaded",
        "error": "",
        "connectors": ["mock"],
        "connections": 0,
    }


def test_a_valid_third_party_app_is_loaded_with_its_distribution(make_app: AppFactory) -> None:
    app = make_app("acme", good_app_source("acme"), distribution="acme-erpsync", version="3.1.4")
    loaded = load_apps()
    record = loaded.app("acme")
    assert record is not None
    assert (record.status, record.distribution, record.version) == (
        AppStatus.LOADED,
        "acme-erpsync",
        "3.1.4",
    )
    assert record.connectors == ["acme"]
    assert record.target == app.module
    assert loaded.connectors["acme"].name == "Test ERP acme"
    assert loaded.connector_app["acme"] == "acme"


# --- broken apps -----------------------------------------------------------------------------

APP_WITH_FIELDS = """
    from host import ConfigField, Connector, FieldType, hookimpl


    class Broken(Connector):
        id = {cid!r}
        name = "Broken"
        vendor = "Tests"
        version = "1.0"
        config_fields = [{field}]


    @hookimpl
    def register_connectors(register):
        register(Broken())
"""

BROKEN_APPS = {
    "import-error": (
        "import erpsync_no_such_dependency_xyz\n",
        ["import of", "ModuleNotFoundError", "erpsync_no_such_dependency_xyz"],
    ),
    "syntax-error": (
        "from host import hookimpl\n\n@hookimpl\ndef register_connectors(register:\n    pass\n",
        ["import of", "SyntaxError"],
    ),
    "hook-raises": (
        """
        from host import hookimpl

        @hookimpl
        def register_connectors(register):
            raise RuntimeError("the ERP SDK is not configured\\nsecond line of detail")
        """,
        ["register_connectors raised RuntimeError: the ERP SDK is not configured"],
    ),
    "list-without-list": (
        APP_WITH_FIELDS.format(cid="nolist", field='ConfigField("group", "Group", FieldType.LIST)'),
        ["list field 'group'", "list_name"],
    ),
    "secret-as-text": (
        APP_WITH_FIELDS.format(
            cid="secret-text", field='ConfigField("api_key", "API key", FieldType.TEXT)'
        ),
        ["'api_key' looks like a secret", "password"],
    ),
    "bad-connector-id": (
        APP_WITH_FIELDS.format(cid="Bad ID!", field='ConfigField("path", "Path")'),
        ["connector id 'Bad ID!'"],
    ),
    "wrong-hook-arguments": (
        """
        from host import hookimpl

        @hookimpl
        def register_connectors(add_connector):
            pass
        """,
        ["invalid hook", "add_connector"],
    ),
    "misspelled-hook": (
        """
        from host import hookimpl

        @hookimpl
        def register_conectors(register):
            pass
        """,
        ["invalid hook", "register_conectors"],
    ),
    "not-a-connector": (
        """
        from host import hookimpl

        @hookimpl
        def register_connectors(register):
            register("just a string")
        """,
        ["is not a host.Connector"],
    ),
    "exits-at-import": (
        'raise SystemExit("this app needs a licence file")\n',
        ["SystemExit", "this app needs a licence file"],
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN_APPS))
def test_a_broken_app_is_listed_with_its_cause_and_the_others_load(
    name: str,
    make_app: AppFactory,
    invoke: Callable[..., Result],
    erpsync_home: Path,
) -> None:
    source, expected = BROKEN_APPS[name]
    installed = set(load_apps().connectors)  # mock, and whatever else this venv holds
    assert "mock" in installed
    broken = make_app(name, source, version="0.9.1")
    make_app("zz-good", good_app_source("zz-good"))

    loaded = load_apps()
    record = loaded.app(name)
    assert record is not None
    assert record.status == AppStatus.BROKEN
    assert (record.distribution, record.version) == (broken.distribution, "0.9.1")
    assert record.error and "\n" not in record.error
    for part in expected:
        assert part in record.error, record.error
    assert "second line" not in record.error
    assert record.connectors == []
    assert set(loaded.connectors) == installed | {"zz-good"}
    for other in ("mock", "zz-good"):
        assert loaded.app(other).status == AppStatus.LOADED  # type: ignore[union-attr]

    table = invoke("apps", "list")
    assert table.exit_code == 0, table.output
    line = next(row for row in table.stdout.splitlines() if row.startswith(name + " "))
    assert "broken" in line and broken.distribution in line and "0.9.1" in line

    listed = invoke("apps", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[name]["status"] == "broken"
    assert rows[name]["error"] == record.error
    assert rows[name]["distribution"] == broken.distribution
    assert rows["mock"]["status"] == rows["zz-good"]["status"] == "loaded"

    shown = invoke("apps", "show", name, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["error"] == record.error

    connectors = invoke("connectors", "list", "--json")
    assert connectors.exit_code == 0, connectors.output
    assert json.loads(connectors.stdout) == []


def test_two_apps_registering_the_same_connector_id(make_app: AppFactory) -> None:
    make_app("dup-a", good_app_source("dupe"))
    make_app("dup-b", good_app_source("dupe"))
    make_app("zz-mock-clone", good_app_source("mock"))
    loaded = load_apps()
    first, second, clone = (loaded.app(n) for n in ("dup-a", "dup-b", "zz-mock-clone"))
    assert first is not None and second is not None and clone is not None
    assert first.status == AppStatus.LOADED and first.connectors == ["dupe"]
    assert second.status == AppStatus.BROKEN
    assert second.error == "connector id 'dupe' is already registered by app 'dup-a'"
    assert clone.status == AppStatus.BROKEN
    assert "already registered by app 'mock'" in clone.error
    assert loaded.connector_app["dupe"] == "dup-a"
    assert loaded.connector_app["mock"] == "mock"
    assert type(loaded.connectors["mock"]).__name__ == "MockErpConnector"


def test_one_app_registering_the_same_id_twice_is_broken(make_app: AppFactory) -> None:
    once = "register(TestConnector())"
    source = good_app_source("twice").replace(once, f"{once}\n        {once}")
    make_app("twice", source)
    record = load_apps().app("twice")
    assert record is not None and record.status == AppStatus.BROKEN
    assert "registered twice by this app" in record.error


PRINTING_APP = """
    import sys

    print("hello from the app at import")
    sys.stdout.write("more noise\\n")

    from host import ConfigField, Connector, FieldType, Response, hookimpl


    class Noisy(Connector):
        id = "noisy"
        name = "Noisy ERP"
        vendor = "Tests"
        version = "1.0"


    @hookimpl
    def register_connectors(register):
        print("hello from the hook")
        register(Noisy())
"""


def test_an_app_printing_at_import_loads_and_json_output_still_parses(
    make_app: AppFactory, invoke: Callable[..., Result]
) -> None:
    make_app("noisy", PRINTING_APP)
    result = invoke("apps", "list", "--json")
    assert result.exit_code == 0, result.output
    assert "hello from" not in result.stdout
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["noisy"]["status"] == "loaded"
    assert rows["noisy"]["connectors"] == ["noisy"]


def test_an_app_printing_at_import_in_a_real_process(make_app: AppFactory) -> None:
    make_app("noisy", PRINTING_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPSYNC_")}
    env["PYTHONPATH"] = make_app.pythonpath()
    done = subprocess.run(
        [sys.executable, "-m", "host.cli", "apps", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["noisy"]["status"] == "loaded"
    assert rows["mock"]["status"] == "loaded"


# --- allowlist and raising -------------------------------------------------------------------


def test_load_apps_allowlist_loads_only_the_named_apps(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, invoke: Callable[..., Result]
) -> None:
    make_app("extra", good_app_source("extra"))
    monkeypatch.setenv("ERPSYNC_LOAD_APPS", " mock , ")
    loaded = load_apps()
    assert set(loaded.connectors) == {"mock"}
    extra = loaded.app("extra")
    assert extra is not None
    assert extra.status == AppStatus.NOT_ALLOWED
    assert "ERPSYNC_LOAD_APPS" in extra.error

    rows = {r["name"]: r for r in json.loads(invoke("apps", "list", "--json").stdout)}
    assert rows["extra"]["status"] == "not_allowed"
    assert rows["mock"]["status"] == "loaded"


def test_an_empty_allowlist_loads_no_app(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app("extra", good_app_source("extra"))
    monkeypatch.setenv("ERPSYNC_LOAD_APPS", "")
    loaded = load_apps()
    assert loaded.connectors == {}
    assert {a.name for a in loaded.apps} >= {"mock", "extra"}
    assert all(a.status == AppStatus.NOT_ALLOWED for a in loaded.apps)
    assert app.module not in sys.modules  # not even imported


def test_an_unset_allowlist_loads_every_app(make_app: AppFactory) -> None:
    make_app("extra", good_app_source("extra"))
    assert {"mock", "extra"} <= set(load_apps().connectors)


def test_raise_app_errors_raises_the_load_error(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_app("import-error", "import erpsync_no_such_dependency_xyz\n")
    monkeypatch.setenv("ERPSYNC_RAISE_APP_ERRORS", "0")
    assert load_apps().app("import-error").status == AppStatus.BROKEN  # type: ignore[union-attr]
    monkeypatch.setenv("ERPSYNC_RAISE_APP_ERRORS", "1")
    with pytest.raises(AppLoadError, match="erpsync_no_such_dependency_xyz") as caught:
        load_apps()
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_apps_show_of_an_unknown_app_is_one_line(invoke: Callable[..., Result]) -> None:

    result = invoke("apps", "show", "no-such-app")
    text = assert_one_line_error(result, 1)
    assert "no-such-app" in text and "mock" in text


def test_apps_show_lists_the_mock_connector_and_its_fields(
    invoke: Callable[..., Result],
) -> None:
    result = invoke("apps", "show", "mock", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    detail = data["connector_details"][0]
    assert detail["id"] == "mock" and detail["url"] == "app:mock"
    keys = [f["key"] for f in detail["config_fields"]]
    assert {"server", "username", "password", "company"} <= set(keys)
    ranks = [f["rank"] for f in detail["config_fields"]]
    assert ranks == sorted(ranks)
