"""Broken apps, all installed at once (real .dist-info entry points): the host lists each with a
one-line reason, and every command, `erpsync serve` included, keeps working with the good ones.

tests/test_apps.py tries most broken kinds one at a time through load_apps and `apps list`;
this module puts the whole matrix in one environment, adds the kinds it lacks (a hook that
returns connectors instead of registering them, an invalid field type, a protocol-version
mismatch, a connector whose operations answer garbage), runs the admin commands and a real
`erpsync serve` against it, and checks ERPSYNC_RAISE_APP_ERRORS=1 in a real process per kind.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from helpers.apps import AppFactory, good_app_source
from helpers.mock_server import env_without_erpsync, stop_process

from host.apps import AppStatus, load_apps

Invoke = Callable[..., Result]

APP_WITH = """
    from host import ConfigField, Connector, FieldType, hookimpl


    class Declared(Connector):
        id = {cid!r}
        name = "Declared {cid}"
        vendor = "Tests"
        version = "1.0"
        {extra}
        config_fields = [{field}]


    @hookimpl
    def register_connectors(register):
        register(Declared())
"""


def declared(cid: str, field: str = 'ConfigField("path", "Path")', extra: str = "") -> str:
    return APP_WITH.format(cid=cid, field=field, extra=extra)


GARBAGE_OPERATIONS = """
    from host import Connector, hookimpl


    class Garbage(Connector):
        id = "garbage-ops"
        name = "Answers garbage"
        vendor = "Tests"
        version = "1.0"

        def test_config(self, config):
            return 42

        def actor_types(self, connection):
            return {"not": "a list"}


    @hookimpl
    def register_connectors(register):
        register(Garbage())
"""

NOISY = """
    import sys

    print("hello from the app at import")
    sys.stdout.write("more noise\\n")
    sys.stdout.flush()

    from host import Connector, hookimpl


    class Noisy(Connector):
        id = "noisy"
        name = "Noisy"
        vendor = "Tests"
        version = "1.0"


    @hookimpl
    def register_connectors(register):
        print("hello from the hook")
        register(Noisy())
"""

# name -> (source, status, parts of the one-line reason, parts of the traceback with RAISE=1)
MATRIX: dict[str, tuple[str, str, list[str], list[str]]] = {
    "import-error": (
        "import erpsync_no_such_dependency_xyz\n",
        AppStatus.BROKEN,
        ["import of", "ModuleNotFoundError", "erpsync_no_such_dependency_xyz"],
        ["ModuleNotFoundError: No module named 'erpsync_no_such_dependency_xyz'"],
    ),
    "syntax-error": (
        "from host import hookimpl\n\n@hookimpl\ndef register_connectors(register:\n    pass\n",
        AppStatus.BROKEN,
        ["import of", "SyntaxError"],
        ["SyntaxError", "erpsync_test_syntax_error.py"],
    ),
    "hook-raises": (
        """
        from host import hookimpl

        @hookimpl
        def register_connectors(register):
            raise RuntimeError("the ERP SDK is not configured\\nsecond line")
        """,
        AppStatus.BROKEN,
        ["register_connectors raised RuntimeError: the ERP SDK is not configured"],
        ['raise RuntimeError("the ERP SDK is not configured', "RuntimeError"],
    ),
    "hook-returns-garbage": (
        good_app_source("returned").replace(
            "register(TestConnector())", "return [TestConnector(), 'and a string']"
        ),
        AppStatus.BROKEN,
        ["register_connectors returned [", "must call register(connector)"],
        ["AppLoadError: register_connectors returned"],
    ),
    "dup-a": (good_app_source("dupe"), AppStatus.LOADED, [], []),
    "dup-b": (
        good_app_source("dupe"),
        AppStatus.BROKEN,
        ["connector id 'dupe' is already registered by app 'dup-a'"],
        ["AppLoadError: connector id 'dupe' is already registered by app 'dup-a'"],
    ),
    "invalid-field-type": (
        declared("colours", 'ConfigField("colour", "Colour", "rainbow")'),
        AppStatus.BROKEN,
        ["import of", "'rainbow' is not a valid FieldType"],
        ["ValueError: 'rainbow' is not a valid FieldType"],
    ),
    "list-without-list": (
        declared("nolist", 'ConfigField("group", "Group", FieldType.LIST)'),
        AppStatus.BROKEN,
        ["list field 'group' names no list"],
        ["AppLoadError: connector 'nolist': list field 'group' names no list"],
    ),
    "secret-as-text": (
        declared("secret-text", 'ConfigField("client_secret", "Client secret", FieldType.TEXT)'),
        AppStatus.BROKEN,
        ["'client_secret' looks like a secret", "declare it as type 'password'"],
        ["AppLoadError: connector 'secret-text': field 'client_secret' looks like a secret"],
    ),
    "misspelled-hook": (
        """
        from host import hookimpl

        @hookimpl
        def register_conectors(register):
            pass
        """,
        AppStatus.BROKEN,
        ["invalid hook", "register_conectors"],
        ["PluginValidationError", "register_conectors"],
    ),
    "protocol-2": (
        declared("future", extra='requires_protocol = "2.0"'),
        AppStatus.BROKEN,
        ["connector 'future' requires protocol '2.0'; this host speaks 1.1", "upgrade"],
        ["AppLoadError: connector 'future' requires protocol '2.0'"],
    ),
    "fields-garbage": (
        GARBAGE_OPERATIONS.replace("garbage-ops", "fields-garbage").replace(
            "def test_config",
            "def get_config_fields(self):\n            return 'oops'\n\n        def test_config",
        ),
        AppStatus.BROKEN,
        ["get_config_fields() returned 'oops', not a list of ConfigField"],
        ["AppLoadError: connector 'fields-garbage': get_config_fields() returned 'oops'"],
    ),
    "noisy": (NOISY, AppStatus.LOADED, [], []),
    "garbage-ops": (GARBAGE_OPERATIONS, AppStatus.LOADED, [], []),
    "zz-good": (good_app_source("zz-good"), AppStatus.LOADED, [], []),
}

BROKEN = sorted(name for name, case in MATRIX.items() if case[1] == AppStatus.BROKEN)
GOOD_CONNECTORS = {"mock", "zz-good", "dupe", "noisy", "garbage-ops"}


@pytest.fixture
def matrix(make_app: AppFactory, erpsync_home: Path) -> AppFactory:
    for name, (source, *_rest) in MATRIX.items():
        make_app(name, source, version="0.9.1")
    return make_app


def test_every_broken_app_is_listed_in_one_line_and_the_good_ones_load(
    matrix: AppFactory,
) -> None:
    loaded = load_apps()
    for name, (_source, status, reason, _trace) in MATRIX.items():
        record = loaded.app(name)
        assert record is not None, name
        assert record.status == status, (name, record.error)
        assert "\n" not in record.error
        for part in reason:
            assert part in record.error, (name, record.error)
        assert "second line" not in record.error
    assert set(loaded.connectors) >= GOOD_CONNECTORS
    assert loaded.connector_app["dupe"] == "dup-a"
    assert not {"returned", "colours", "nolist", "secret-text", "future"} & set(loaded.connectors)


def test_every_command_keeps_working_beside_the_broken_apps(
    matrix: AppFactory, invoke: Invoke
) -> None:
    def ok(*args: str) -> Result:
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        assert "hello from" not in result.stdout  # what an app prints never reaches stdout
        return result

    ok("--help")
    table = ok("apps", "list").stdout
    for name in BROKEN:
        line = next(row for row in table.splitlines() if row.startswith(name + " "))
        assert "broken" in line, line
    rows = {row["name"]: row for row in json.loads(ok("apps", "list", "--json").stdout)}
    for name, (_source, status, reason, _trace) in MATRIX.items():
        assert rows[name]["status"] == status
        assert all(part in rows[name]["error"] for part in reason)
    for name in MATRIX:
        shown = json.loads(ok("apps", "show", name, "--json").stdout)
        assert shown["status"] == MATRIX[name][1]

    assert json.loads(ok("connectors", "list", "--json").stdout) == []
    assert json.loads(ok("connections", "list", "--json").stdout) == []
    ok("connectors", "add", "good", "app:zz-good")
    ok("connections", "add", "c1", "--connector", "good", "--config", "path=/tmp/x", "--no-input")
    ok("connections", "test", "c1")
    assert [r["name"] for r in json.loads(ok("connections", "list", "--json").stdout)] == ["c1"]

    # A connector of a broken app is not there; the line names the installed ones.
    missing = invoke("connectors", "add", "fut", "app:future")
    assert missing.exit_code == 1
    assert "no installed app provides connector 'future'" in missing.stderr
    assert "zz-good" in missing.stderr and "Traceback" not in missing.output


def _first_line(stream: Any, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout).strip()
    except queue.Empty:
        return ""


def _request(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _get(url: str) -> tuple[int, Any]:
    return _request(url)


def _post(url: str, body: Any) -> tuple[int, Any]:
    return _request(url, "POST", body)


def _put(url: str, body: Any) -> tuple[int, Any]:
    return _request(url, "PUT", body)


@pytest.fixture
def served(matrix: AppFactory, tmp_path: Path) -> Iterator[str]:
    """A real `erpsync serve --port 0 --no-auth` with the whole matrix installed."""
    env = {**env_without_erpsync(), "PYTHONPATH": matrix.pythonpath()}
    env["ERPSYNC_HOME"] = str(tmp_path / "serve-home")
    process = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "serve", "--port", "0", "--no-auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = _first_line(process.stdout, timeout=60)
        assert line.startswith("serving connector "), line
        base = line.split(" at ", 1)[1].split("/connectors/", 1)[0]
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(base + "/")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.05)
        yield base
    finally:
        stop_process(process)


def test_serve_serves_the_good_apps_beside_the_broken_ones(served: str) -> None:
    status, index = _get(served + "/")
    assert status == 200
    assert set(index["connectors"]) >= GOOD_CONNECTORS
    for cid in GOOD_CONNECTORS - {"garbage-ops"}:
        status, body = _get(f"{served}/connectors/{cid}/v1/info")
        assert status == 200 and body["ok"] is True and body["data"]["id"] == cid
    for cid in ("future", "nolist", "secret-text", "colours", "returned", "fields-garbage"):
        status, body = _get(f"{served}/connectors/{cid}/v1/info")
        assert status == 404 and body["error_code"] == "unknown_connector"
    # A connector whose operations answer garbage: an error envelope, never a bare 500 (the
    # status of connector_error is 500, the body says what happened).
    status, body = _post(f"{served}/connectors/garbage-ops/v1/config/test", {"config": {}})
    assert status == 500 and body["ok"] is False
    assert body["error_code"] == "connector_error"
    assert "expected a host.Response, got int" in body["tech_explanation"]
    assert "\n" not in body["tech_explanation"]
    guid = "6f1c9a52-6c43-4a8e-9d0b-3f3e3f1d2a11"
    status, body = _put(f"{served}/connectors/garbage-ops/v1/connections/{guid}", {"config": {}})
    assert status == 200, body
    status, body = _get(f"{served}/connectors/garbage-ops/v1/connections/{guid}/actor-types")
    assert status == 500 and body["error_code"] == "connector_error", body


def test_raise_app_errors_shows_the_full_traceback_of_each_broken_app(
    matrix: AppFactory,
) -> None:
    """For app authors: one real process per broken app, loading only that app (both apps for
    the duplicate id), with ERPSYNC_RAISE_APP_ERRORS=1."""
    base = {**env_without_erpsync(), "PYTHONPATH": matrix.pythonpath()}
    processes = {}
    for name in BROKEN:
        allowed = "dup-a,dup-b" if name == "dup-b" else name
        env = {**base, "ERPSYNC_LOAD_APPS": allowed, "ERPSYNC_RAISE_APP_ERRORS": "1"}
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "host.cli", "apps", "list"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    for name, process in processes.items():
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 1, (name, err)
        assert err.startswith("Traceback (most recent call last):"), (name, err)
        assert "host/apps.py" in err
        for part in MATRIX[name][3]:
            assert part in err, (name, part, err)
    # Without the variable the same process lists the app and exits 0.
    quiet = subprocess.run(
        [sys.executable, "-m", "host.cli", "apps", "list", "--json"],
        capture_output=True,
        text=True,
        env={**base, "ERPSYNC_LOAD_APPS": "protocol-2"},
        timeout=120,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
    (row,) = [r for r in json.loads(quiet.stdout) if r["name"] == "protocol-2"]
    assert row["status"] == "broken"
