"""Trust at the input (issue #10, items 3, 6, 7, 13, 18, 19): what an admin types or points at
is checked where it enters, in one line, before anything is stored or read without bound.

Each test performs the attack or the mistake as the issue states it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.apps import AppFactory, good_app_source
from helpers.cli import assert_one_line_error
from helpers.mock_server import MockServer, env_without_erpsync

Invoke = Callable[..., Result]
REPO = Path(__file__).resolve().parents[1]
SECRET = "trust-input-token-0123456789abcdefXYZ"


def connector_rows(home: Path) -> list[tuple[str, str]]:
    db = home / "registry.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return list(conn.execute("select name, url from connectors order by name"))


def run_cli(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`erpsync ARGS` in a subprocess: a regression that reads forever fails on the timeout
    instead of hanging the suite (or eating the machine's memory)."""
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(home),
        env={**env_without_erpsync(), "ERPSYNC_HOME": str(home), **(env or {})},
    )


def assert_one_line_exit_1(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    text = done.stderr.strip()
    assert "\n" not in text and text.startswith("Error: "), text
    assert "Traceback" not in done.stdout + done.stderr
    return text


# --- item 3: a token with whitespace or control characters ----------------------------------


@pytest.mark.parametrize("bad", [SECRET + " ", " " + SECRET, SECRET + "\n", "ab\x01" + SECRET])
def test_a_token_with_whitespace_or_control_characters_is_refused_and_never_echoed(
    invoke: Invoke, erpsync_home: Path, mock_server: MockServer, bad: str
) -> None:
    """`connectors add ... --token "$TOKEN "`: once exit 4 with the token in httpx's error."""
    for extra in ([], ["--no-check"]):
        result = invoke("connectors", "add", "m", mock_server.url, "--token", bad, *extra)
        text = assert_one_line_error(result, 1)
        assert "--token" in text
        assert SECRET not in result.output
    assert connector_rows(erpsync_home) == []


def test_a_bad_token_from_the_environment_or_a_token_file_is_refused(
    invoke: Invoke, erpsync_home: Path, tmp_path: Path, mock_server: MockServer
) -> None:
    result = invoke(
        "connectors", "add", "m", mock_server.url, "--no-check",
        env={"ERPSYNC_CONNECTOR_TOKEN": SECRET + "\r"},
    )  # fmt: skip
    assert "ERPSYNC_CONNECTOR_TOKEN" in assert_one_line_error(result, 1)
    assert SECRET not in result.output
    token_file = tmp_path / "tok"
    token_file.write_text(SECRET + " \n", encoding="utf-8")
    result = invoke("connectors", "add", "m", mock_server.url, "--token-file", str(token_file))
    assert "--token-file" in assert_one_line_error(result, 1)
    assert SECRET not in result.output
    assert connector_rows(erpsync_home) == []
    # One trailing line break in a file is what editors write: that one is forgiven.
    token_file.write_text(mock_server.token + "\n", encoding="utf-8")
    result = invoke("connectors", "add", "m", mock_server.url, "--token-file", str(token_file))
    assert result.exit_code == 0, result.output
    result = invoke("connectors", "edit", "m", "--token", SECRET + "\t", "--no-check")
    assert_one_line_error(result, 1)
    assert SECRET not in result.output


def test_apps_check_and_serve_refuse_a_bad_token_without_echoing_it(
    invoke: Invoke, mock_server: MockServer
) -> None:
    result = invoke("apps", "check", mock_server.url, "--token", SECRET + " ")
    assert_one_line_error(result, 1)
    assert SECRET not in result.output
    result = invoke("serve", "--token", SECRET + "\nX-Forged: 1", "--app", "none")
    assert_one_line_error(result, 1)
    assert SECRET not in result.output


def test_the_client_itself_never_sends_or_echoes_a_token_http_cannot_carry(
    mock_server: MockServer,
) -> None:
    from host.client import ConnectorClient, InvalidTarget

    with pytest.raises(InvalidTarget) as caught:
        ConnectorClient(mock_server.url, token=SECRET + " ")
    assert SECRET not in str(caught.value)

    # Defence in depth: should a bad header value ever get past the checks, httpx's own
    # "Illegal header value b'Bearer ...'" (the whole token) must still not come out.
    import asyncio

    async def send_forged() -> None:
        async with ConnectorClient(mock_server.url, token=mock_server.token) as client:
            client._http.headers["Authorization"] = f"Bearer {SECRET} "
            await client.info()

    with pytest.raises(InvalidTarget) as caught:
        asyncio.run(send_forged())
    assert SECRET not in str(caught.value) and "Illegal" not in str(caught.value)


# --- item 6: connector URLs no request can use ------------------------------------------------

BAD_URLS = [
    "http://127.0.0.1:1/x\nFORGED: y",
    "http://127.0.0.1:1/x\rFORGED: y",
    "http://127.0.0.1:1/a b",
    "http://127.0.0.1:1/\x1b[31mred",
    "http://127.0.0.1:0/x",
    "http://127.0.0.1:65536/x",
    "http://127.0.0.1:99999/x",
    "http://127.0.0.1:-1/x",
    "http://127.0.0.1:1/" + "a" * 2100,
    "app:Mock",
    "app:../mock",
    "app:mock\n",
    "app:mock x",
]


@pytest.mark.parametrize("url", BAD_URLS, ids=range(len(BAD_URLS)))
def test_a_connector_url_no_request_can_use_is_refused_even_with_no_check(
    invoke: Invoke, erpsync_home: Path, url: str
) -> None:
    result = invoke("connectors", "add", "bad", url, "--no-check")
    text = assert_one_line_error(result, 1)
    assert "URL" in text and len(text) < 400
    invoke("connectors", "add", "good", "app:mock")
    result = invoke("connectors", "edit", "good", "--url", url, "--no-check")
    assert_one_line_error(result, 1)
    assert connector_rows(erpsync_home) == [("good", "app:mock")]


def test_apps_check_refuses_a_url_with_a_control_character(invoke: Invoke) -> None:
    assert_one_line_error(invoke("apps", "check", "http://127.0.0.1:1/x\nFORGED: y"), 1)


FORGED = "http://127.0.0.1:1/x\nFORGED: y"


@pytest.fixture
def stored_bad_url(invoke: Invoke, erpsync_home: Path) -> Path:
    """A registry holding a good connector and one whose URL an older version let in."""
    assert invoke("connectors", "add", "good", "app:mock").exit_code == 0
    db = erpsync_home / "registry.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "insert into connectors (name, url, token, created_at, updated_at) "
            "values ('bad', ?, null, '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')",
            [FORGED],
        )
    return db


def test_doctor_reports_a_stored_bad_url_for_its_connector_alone(
    invoke: Invoke, stored_bad_url: Path
) -> None:
    result = invoke("doctor", "--json")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    findings = {f["check"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["connector bad"]["status"] == "problem"
    assert "invalid stored URL" in findings["connector bad"]["detail"]
    assert findings["connector good"]["status"] == "ok"


def test_show_check_and_connections_add_on_a_stored_bad_url_are_one_line(
    invoke: Invoke, stored_bad_url: Path
) -> None:
    text = assert_one_line_error(invoke("connectors", "show", "bad", "--check"), 1)
    assert "connectors edit bad --url" in text
    result = invoke(
        "connections", "add", "c1", "--connector", "bad",
        "--config", "username=demo", "--config", f"password={MOCK_PASSWORD}", "--no-input",
    )  # fmt: skip
    assert_one_line_error(result, 1)
    # Plain show still works, so the admin can see what to fix.
    assert invoke("connectors", "show", "bad").exit_code == 0


# --- item 7: files read on an admin's behalf, bounded ----------------------------------------


def _hostile_files(tmp_path: Path) -> dict[str, Path]:
    """Files no host should read whole: keyed by a short label usable in a file name."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    with big.open("wb") as handle:  # sparse: large on paper, no disk used
        handle.truncate(64 * 1024 * 1024)
    directory = tmp_path / "a-directory"
    directory.mkdir()
    return {"dev-zero": Path("/dev/zero"), "fifo": fifo, "too-large": big, "dir": directory}


needs_posix = pytest.mark.skipif(
    not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="needs FIFOs"
)


@needs_posix
def test_token_and_config_files_are_regular_files_read_with_a_bound(tmp_path: Path) -> None:
    """`--token-file /dev/zero` once read until the OOM killer came (21.9 GB resident)."""
    home = tmp_path / "home"
    home.mkdir()
    for label, path in _hostile_files(tmp_path).items():
        for args in (
            ["connectors", "add", "m", "app:mock", "--no-check", "--token-file", str(path)],
            ["apps", "check", "http://127.0.0.1:1/c", "--token-file", str(path)],
            ["apps", "check", "mock", "--config-file", str(path)],
            ["serve", "--port", "0", "--token-file", str(path), "--app", "none"],
            ["mock-server", "--port", "0", "--token-file", str(path)],
            ["mapping", "import", "acme", str(path)],
        ):
            text = assert_one_line_exit_1(run_cli(*args, home=home))
            assert str(path) in text, (label, args, text)
    assert connector_rows(home) == []


@needs_posix
def test_the_secret_key_file_is_a_regular_file_read_with_a_bound(tmp_path: Path) -> None:
    for label, path in _hostile_files(tmp_path).items():
        home = tmp_path / f"home-{label}"
        home.mkdir()
        (home / "secret.key").symlink_to(path)
        done = run_cli(
            "connectors", "add", "m", "app:mock", "--no-check", "--token", SECRET, home=home
        )
        assert "key file" in assert_one_line_exit_1(done), label
        assert connector_rows(home) == []


@needs_posix
def test_a_left_over_new_key_file_is_read_with_a_bound(tmp_path: Path) -> None:
    """`secrets rotate-key` finishes an interrupted rotation from secret.key.new: that file
    is read like the key file, never whole when it is a device, a FIFO or huge."""
    for label, path in _hostile_files(tmp_path).items():
        home = tmp_path / f"home-{label}"
        home.mkdir()
        added = run_cli(
            "connectors", "add", "m", "app:mock", "--no-check", "--token", SECRET, home=home
        )
        assert added.returncode == 0, added.stderr
        key = (home / "secret.key").read_bytes()
        (home / "secret.key.new").symlink_to(path)
        text = assert_one_line_exit_1(run_cli("secrets", "rotate-key", home=home))
        assert f"key file {home / 'secret.key.new'}" in text, (label, text)
        assert (home / "secret.key").read_bytes() == key
        assert (home / "secret.key.new").is_symlink()


# --- item 13: serve's token file and short tokens --------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_serve_refuses_a_token_file_others_can_read(tmp_path: Path) -> None:
    token_file = tmp_path / "serve.token"
    token_file.write_text(SECRET + "\n", encoding="utf-8")
    token_file.chmod(0o644)
    # In a subprocess with a timeout: were it accepted, the server would run until killed.
    for command in ("serve", "mock-server"):
        done = run_cli(command, "--port", "0", "--token-file", str(token_file), home=tmp_path)
        text = assert_one_line_exit_1(done)
        assert "chmod 600" in text and SECRET not in done.stdout + done.stderr


def test_serve_creates_no_directories_for_a_token_file(invoke: Invoke, tmp_path: Path) -> None:
    token_file = tmp_path / "typo-dir" / "deeper" / "serve.token"
    result = invoke("serve", "--port", "0", "--token-file", str(token_file), "--app", "none")
    assert "does not exist" in assert_one_line_error(result, 1)
    assert not (tmp_path / "typo-dir").exists()


def test_serve_warns_about_a_short_token_off_loopback(invoke: Invoke) -> None:
    # --app none: nothing to serve, so it stops after the checks, before binding anything.
    result = invoke("serve", "--host", "0.0.0.0", "--token", "short-token", "--app", "none")
    assert "warning: the token is 11 characters long" in result.stderr
    assert "short-token" not in result.stderr
    result = invoke("serve", "--host", "127.0.0.1", "--token", "short-token", "--app", "none")
    assert "warning" not in result.stderr


# --- item 19: a typo in --db or ERPSYNC_HOME creates nothing -----------------------------------

READ_ONLY = [
    (["connectors", "list", "--json"], "[]"),
    (["connections", "list", "--json"], "[]"),
    (["users", "list", "--json"], "[]"),
    (["groups", "list", "--json"], "[]"),
    (["audit", "--json"], "[]"),
    (["connectors", "show", "acme"], None),
    (["connections", "show", "acme"], None),
    (["doctor", "--json"], ""),
    # The sync side: its look-ups create neither a registry nor a crm.db (nor a queue).
    (["crm", "list", "company", "--json"], '{"entity": "company", "total": 0, "records": []}'),
    (["crm", "show", "company", "1"], None),
    (["mapping", "show", "acme"], None),
    (["defaults", "show", "acme", "customer"], None),
    (["sync", "status", "--json"], "[]"),
    (["sync", "history", "--json"], "[]"),
    (["sync", "priority", "show", "--json"], "[]"),
    (["sync", "enqueue", "--all"], ""),
    (["import", "jobs", "--json"], "[]"),
    (["admins", "list", "--json"], "[]"),
    (["secrets", "reset", "--all"], ""),
    (["secrets", "rotate-key"], ""),
]
"""(command, what it prints): JSON compared, "" for exit 0 with any output, None for the
usual not-found error."""


@pytest.mark.parametrize("args,listed", READ_ONLY, ids=[" ".join(a[:2]) for a, _ in READ_ONLY])
def test_read_only_commands_on_a_registry_that_does_not_exist_say_so_and_create_nothing(
    invoke: Invoke, erpsync_home: Path, tmp_path: Path, args: list[str], listed: str | None
) -> None:
    assert invoke("users", "add", "alice").exit_code == 0  # the real registry, in the home
    typo = tmp_path / "typo" / "registyr.db"
    for result in (
        invoke(*args, "--db", str(typo)),
        invoke(*args, env={"ERPSYNC_HOME": str(tmp_path / "erpsync-hmoe")}),
    ):
        assert "Traceback" not in result.output
        if listed is not None:
            assert result.exit_code == 0, result.output
            assert result.stderr.startswith("warning: no registry at "), result.stderr
            assert result.stderr.count("\n") == 1
            if listed:
                assert json.loads(result.stdout) == json.loads(listed)
        else:  # the usual not-found error, saying in the same line where it looked
            text = assert_one_line_error(result, 1)
            assert "named 'acme'" in text or "company with id 1" in text, text
            assert "no registry at " in text
    assert not typo.parent.exists()
    assert not (tmp_path / "erpsync-hmoe").exists()


def test_changing_commands_on_a_missing_registry_find_nothing_and_create_nothing(
    invoke: Invoke, tmp_path: Path
) -> None:
    typo = tmp_path / "typo.db"
    for args in (
        ["connectors", "remove", "acme"],
        ["connectors", "edit", "acme", "--url", "app:mock"],
        ["connections", "remove", "acme"],
        ["connections", "activate", "acme"],
        ["users", "remove", "alice"],
        ["groups", "add-member", "staff", "alice"],
        ["crm", "edit", "company", "1", "--set", "name=Acme"],
        ["mapping", "enable", "acme", "customer"],
        ["defaults", "set", "acme", "customer", "CURRENCY", "--value", "EUR"],
        ["import", "run", "acme", "customer", "--all"],
        ["sync", "run", "--connection", "acme"],
        ["sync", "start", "acme"],
        ["sync", "stop", "acme"],
        ["sync", "interval", "acme", "600"],
        ["sync", "priority", "set", "acme"],
        ["admins", "remove", "alice"],
    ):
        result = invoke(*args, "--db", str(typo))
        assert "no registry at " in assert_one_line_error(result, 1)
        assert sorted(p.name for p in tmp_path.iterdir()) == [], args
    # Adding is what creates a registry, as before.
    assert invoke("users", "add", "alice", "--db", str(typo)).exit_code == 0
    assert typo.exists()
    result = invoke("users", "list", "--json", "--db", str(typo))
    assert "warning" not in result.stderr and json.loads(result.stdout)[0]["name"] == "alice"


def test_sync_look_ups_in_a_home_without_a_crm_store_create_none(
    invoke: Invoke, erpsync_home: Path
) -> None:
    """A registry that exists but never synced: look-ups are empty and quiet, no crm.db."""
    assert invoke("users", "add", "alice").exit_code == 0
    for args in (
        ["crm", "list", "person", "--json"],
        ["sync", "status", "--json"],
        ["sync", "history", "--json"],
        ["import", "jobs", "--json"],
    ):
        result = invoke(*args)
        assert result.exit_code == 0 and result.stderr == "", (args, result.output)
        assert not (erpsync_home / "crm.db").exists(), args
    assert_one_line_error(invoke("crm", "show", "person", "1"), 1)
    assert not (erpsync_home / "crm.db").exists()
    # Adding a record is what creates the store.
    assert invoke("crm", "add", "company", "--set", "name=Acme").exit_code == 0
    listed = json.loads(invoke("crm", "list", "company", "--json").stdout)
    assert [r["name"] for r in listed["records"]] == ["Acme"]


# --- item 18: disabling or uninstalling an app that connectors use ------------------------------

DEMO = ["--config", "username=demo", "--config", f"password={MOCK_PASSWORD}", "--no-input"]


def disabled(home: Path) -> list[str]:
    state = home / "apps.json"
    return json.loads(state.read_text())["disabled"] if state.exists() else []


def test_disabling_an_app_that_connections_use_needs_force(
    invoke: Invoke, erpsync_home: Path
) -> None:
    assert invoke("connectors", "add", "m", "app:mock").exit_code == 0
    assert invoke("connections", "add", "acme-books", "--connector", "m", *DEMO).exit_code == 0
    text = assert_one_line_error(invoke("apps", "disable", "mock"), 1)
    assert "connector 'm' (app:mock; acme-books)" in text and "--force" in text
    assert disabled(erpsync_home) == []
    result = invoke("apps", "disable", "mock", "--force")
    assert result.exit_code == 0, result.output
    assert "warning: app 'mock' in use by connector 'm'" in result.stderr
    assert disabled(erpsync_home) == ["mock"]


def test_a_loopback_url_served_by_this_install_counts_as_a_use(
    invoke: Invoke, erpsync_home: Path
) -> None:
    url = "http://127.0.0.1:8765/connectors/mock"
    assert invoke("connectors", "add", "served", url, "--no-check").exit_code == 0
    remote = "https://erp.example.com/connectors/mock"
    assert invoke("connectors", "add", "elsewhere", remote, "--no-check").exit_code == 0
    text = assert_one_line_error(invoke("apps", "disable", "mock"), 1)
    assert "connector 'served'" in text and "elsewhere" not in text
    assert disabled(erpsync_home) == []


def test_an_app_nothing_uses_is_disabled_without_force(invoke: Invoke, erpsync_home: Path) -> None:
    assert invoke("connectors", "add", "other", "app:other-id", "--no-check").exit_code == 0
    result = invoke("apps", "disable", "mock")
    assert result.exit_code == 0 and result.stderr == "", result.output


def test_uninstalling_an_app_that_connections_use_needs_force(
    invoke: Invoke, erpsync_home: Path, make_app: AppFactory
) -> None:
    make_app("acme", good_app_source("acme"))
    assert invoke("connectors", "add", "a", "app:acme", "--no-check").exit_code == 0
    text = assert_one_line_error(invoke("apps", "uninstall", "erpsync_test.acme"), 1)
    assert "app 'acme' in use by connector 'a' (app:acme; no connection yet)" in text
    assert "pip" not in text
    # A disabled app still counts: uninstalling makes the breakage permanent.
    assert invoke("apps", "disable", "acme", "--force").exit_code == 0
    assert_one_line_error(invoke("apps", "uninstall", "erpsync-test-acme"), 1)
