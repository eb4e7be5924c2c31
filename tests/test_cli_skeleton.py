"""The whole admin flow through the `erpsync` CLI (CliRunner) against the real mock server."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.cli import assert_one_line_error
from helpers.mock_server import MockServer

Invoke = Callable[..., Result]

GOOD = [
    "--config",
    "server=erp.mock.local",
    "--config",
    "username=demo",
    "--config",
    f"password={MOCK_PASSWORD}",
]


class Transcript:
    """Runs commands and keeps every output, to check that no secret is ever printed."""

    def __init__(self, invoke: Invoke) -> None:
        self._invoke = invoke
        self.results: list[Result] = []

    def __call__(self, *args: str, input: str | None = None) -> Result:
        result = self._invoke(*args, input=input)
        self.results.append(result)
        return result

    def outputs(self) -> str:
        return "\n".join(r.stdout + "\n" + r.stderr for r in self.results)


@pytest.fixture
def cli(invoke: Invoke, erpsync_home: Path) -> Transcript:
    return Transcript(invoke)


@pytest.fixture
def registered(cli: Transcript, mock_server: MockServer) -> Transcript:
    """A registry with the mock server registered as connector `mock-erp`."""
    result = cli("connectors", "add", "mock-erp", mock_server.url, "--token", mock_server.token)
    assert result.exit_code == 0, result.output
    return cli


# --- connectors ------------------------------------------------------------------------------


def test_connectors_add_checks_the_connector_and_shows_its_name_and_version(
    cli: Transcript, mock_server: MockServer
) -> None:
    result = cli(
        "connectors",
        "add",
        "mock-erp",
        mock_server.url,
        "--token-file",
        str(mock_server.token_file),
    )
    assert result.exit_code == 0, result.output
    assert "Added connector 'mock-erp'" in result.stdout
    assert "Mock ERP 0.1.0" in result.stdout
    assert "protocol 1.1" in result.stdout
    assert result.stderr == ""

    listed = cli("connectors", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert {"name", "url", "token", "created_at", "connections"} <= set(row)
    assert row["name"] == "mock-erp"
    assert row["url"] == mock_server.url
    assert row["token"] == "****"
    assert row["connections"] == 0
    datetime.fromisoformat(row["created_at"])

    table = cli("connectors", "list")
    assert "****" in table.stdout and "mock-erp" in table.stdout
    assert mock_server.token not in cli.outputs()


def test_connectors_add_json_output(cli: Transcript, mock_server: MockServer) -> None:
    result = cli("connectors", "add", "m", mock_server.url, "--token", mock_server.token, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["token"] == "****"
    assert data["info"]["id"] == "mock" and data["info"]["protocol_version"] == "1.1"


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/connectors/mock", "127.0.0.1:8765", "http://", "app:"]
)
def test_connectors_add_refuses_a_url_that_is_not_a_connector_url(
    cli: Transcript, url: str
) -> None:
    text = assert_one_line_error(cli("connectors", "add", "x", url), 1)
    assert "URL" in text
    assert json.loads(cli("connectors", "list", "--json").stdout) == []


def test_connectors_add_of_an_unreachable_url_exits_4(cli: Transcript, refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/connectors/mock"
    text = assert_one_line_error(cli("connectors", "add", "gone", url), 4)
    assert "cannot connect" in text
    assert json.loads(cli("connectors", "list", "--json").stdout) == []


def test_connectors_add_of_a_connector_that_stays_busy_exits_4(cli: Transcript) -> None:
    """HTTP 503 is transient, like a refused connection: scripts retry on exit 4."""
    from helpers.fake_http import Answer, fake_server

    with fake_server() as server:
        server.routes["/c/v1/info"] = Answer(503, b"restarting", {"Content-Type": "text/plain"})
        result = cli("connectors", "add", "busy", server.base + "/c")
    assert server.hits("/c/v1/info") >= 2  # it was retried
    text = assert_one_line_error(result, 4)
    assert "503" in text


def test_connectors_add_with_a_wrong_token_exits_5(
    cli: Transcript, mock_server: MockServer
) -> None:
    text = assert_one_line_error(
        cli("connectors", "add", "m", mock_server.url, "--token", "wrong-token"), 5
    )
    assert "token" in text and "wrong-token" not in text
    assert json.loads(cli("connectors", "list", "--json").stdout) == []


def test_connectors_add_twice_is_a_conflict(
    registered: Transcript, mock_server: MockServer
) -> None:
    again = registered(
        "connectors", "add", "mock-erp", mock_server.url, "--token", "t", "--no-check"
    )
    assert "already exists" in assert_one_line_error(again, 1)


def test_connectors_add_app_url_runs_the_installed_app(cli: Transcript) -> None:
    result = cli("connectors", "add", "local-mock", "app:mock")
    assert result.exit_code == 0, result.output
    assert "Mock ERP" in result.stdout
    missing = cli("connectors", "add", "nope", "app:no-such-connector")
    assert "no-such-connector" in assert_one_line_error(missing, 1)


# --- connections -----------------------------------------------------------------------------


def test_the_whole_connection_flow_and_no_secret_ever_leaks(
    registered: Transcript, erpsync_home: Path, mock_server: MockServer
) -> None:
    cli = registered
    base = ["connections", "add", "acme", "--connector", "mock-erp", "--no-input"]

    wrong = cli(*base, *GOOD[:4], "--config", "password=not-the-password")
    text = assert_one_line_error(wrong, 3)
    assert "nothing was saved" in text
    assert "Login to erp.mock.local failed" in text
    assert json.loads(cli("connections", "list", "--json").stdout) == []

    missing = cli(
        *base, "--config", "server=erp.mock.local", "--config", f"password={MOCK_PASSWORD}"
    )
    assert "username: is mandatory" in assert_one_line_error(missing, 1)

    not_a_number = cli(*base, *GOOD, "--config", "company=first")
    text = assert_one_line_error(not_a_number, 1)
    assert "company" in text and "whole number" in text

    unknown_key = cli(*base, *GOOD, "--config", "colour=blue")
    assert "colour" in assert_one_line_error(unknown_key, 1)

    no_such_company = cli(*base, *GOOD, "--config", "company=7")
    assert "Company 7 does not exist" in assert_one_line_error(no_such_company, 3)
    assert json.loads(cli("connections", "list", "--json").stdout) == []

    saved = cli(*base, *GOOD, "--config", "company=2", "--description", "Main books")
    assert saved.exit_code == 0, saved.output
    assert "tested and saved" in saved.stdout
    assert "Mock Services AS" in saved.stdout

    listed = cli("connections", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "acme"
    assert row["connector"] == "mock-erp"
    assert row["scope"] == "everyone"
    assert row["description"] == "Main books"
    assert row["active"] is False
    assert row["config"]["password"] == "****"
    assert row["config"]["company"] == 2
    assert row["config"]["username"] == "demo"
    assert row["last_test"]["state"] == "ok"
    assert "Mock Services AS" in row["last_test"]["message"]
    tested_at = datetime.fromisoformat(row["last_test"]["at"])
    assert tested_at.tzinfo is not None

    connectors = json.loads(cli("connectors", "list", "--json").stdout)
    assert connectors[0]["connections"] == 1

    table = cli("connections", "list")
    assert table.exit_code == 0
    assert "acme" in table.stdout and "everyone" in table.stdout

    duplicate = cli(*base, *GOOD)
    assert "already exists" in assert_one_line_error(duplicate, 1)

    tested = cli("connections", "test", "acme")
    assert tested.exit_code == 0, tested.output
    assert tested.stdout.startswith("Connection 'acme': ok")
    tested_json = cli("connections", "test", "acme", "--json")
    assert json.loads(tested_json.stdout)["state"] == "ok"

    unknown = cli("connections", "test", "nope")
    assert "no connection named 'nope'" in assert_one_line_error(unknown, 1)

    no_connector = cli("connections", "add", "x", "--connector", "nope", "--no-input", *GOOD)
    assert "no connector named 'nope'" in assert_one_line_error(no_connector, 1)

    # Secrets: never printed, never stored in clear.
    for result in cli.results:
        if result.exit_code != 0:
            assert_one_line_error(result, result.exit_code)
    assert MOCK_PASSWORD not in cli.outputs()
    assert mock_server.token not in cli.outputs()
    raw = b"".join(
        path.read_bytes() for path in erpsync_home.iterdir() if path.name.startswith("registry.db")
    )
    assert (erpsync_home / "registry.db").exists()
    assert b"acme" in raw  # the test reads the right bytes
    assert MOCK_PASSWORD.encode() not in raw
    assert mock_server.token.encode() not in raw


def test_connections_test_re_sends_the_config_after_a_connector_restart(
    cli: Transcript, erpsync_home: Path, tmp_path: Path
) -> None:
    """A connector that forgot the GUID (here: a second server) gets the config again."""
    from helpers.mock_server import start_mock_server, stop_process

    first = start_mock_server(tmp_path)
    try:
        assert cli("connectors", "add", "m", first.url, "--token", first.token).exit_code == 0
        added = cli("connections", "add", "acme", "--connector", "m", "--no-input", *GOOD)
        assert added.exit_code == 0, added.output
    finally:
        stop_process(first.process)
    second = start_mock_server(tmp_path)  # same token file, a new process and port
    try:
        moved = cli("connectors", "edit", "m", "--url", second.url)
        assert moved.exit_code == 0, moved.output
        tested = cli("connections", "test", "acme")
    finally:
        stop_process(second.process)
    assert tested.exit_code == 0, tested.output
    assert tested.stdout.startswith("Connection 'acme': ok")


def test_a_restricted_connection_lists_its_users_and_groups(registered: Transcript) -> None:
    unknown = registered(
        "connections", "add", "acme", "--connector", "mock-erp", "--no-input", *GOOD,
        "--user", "alice",
    )  # fmt: skip
    assert "no user named 'alice'" in assert_one_line_error(unknown, 1)
    from host.registry import Registry

    registry = Registry.open()
    registry.add_user("alice")
    registry.add_group("sales")
    registry.close()
    result = registered(
        "connections", "add", "acme", "--connector", "mock-erp", "--no-input", *GOOD,
        "--user", "alice", "--group", "sales", "--user", "alice",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (row,) = json.loads(registered("connections", "list", "--json").stdout)
    assert (row["scope"], row["users"], row["groups"]) == ("restricted", ["alice"], ["sales"])
    table = registered("connections", "list").stdout
    assert "user:alice,group:sales" in table

    bad = registered(
        "connections", "add", "b", "--connector", "mock-erp", "--no-input", *GOOD,
        "--scope", "everyone", "--user", "bob",
    )  # fmt: skip
    assert_one_line_error(bad, 1)


def test_interactive_add_prompts_for_each_missing_field_in_rank_order(
    registered: Transcript, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prompts happen only on a terminal; this bypasses just that tty check."""
    import host.cli.connections
    from erpsync_mock_erp import MockErpConnector

    monkeypatch.setattr(host.cli.connections, "_interactive", lambda no_input: not no_input)
    answers = {
        "server": "",  # Enter: take the default erp.mock.local
        "password": MOCK_PASSWORD,
        "company": "3",
        "decimal_separator": ",",
        "read_only": "y",
    }
    fields = [f for f in MockErpConnector().get_config_fields() if f.settable]
    prompted = [f for f in fields if f.key != "username"]
    typed = "".join(answers.get(f.key, "") + "\n" for f in prompted) + "\n"  # + description

    result = registered(
        "connections", "add", "acme", "--connector", "mock-erp", "--config", "username=demo",
        input=typed,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    labels = [f"{f.display_name} ({f.key})" for f in prompted]
    positions = [result.stderr.find(label) for label in labels]  # prompts go to stderr
    assert -1 not in positions, (labels, result.stderr)
    assert positions == sorted(positions)
    assert "(username)" not in result.stderr  # given with --config: not asked
    assert MOCK_PASSWORD not in result.output  # typed hidden
    assert "Host name of the ERP server" in result.stderr  # the field's help

    (row,) = json.loads(registered("connections", "list", "--json").stdout)
    assert row["config"]["server"] == "erp.mock.local"
    assert row["config"]["company"] == 3
    assert row["config"]["decimal_separator"] == ","
    assert row["config"]["read_only"] is True
    assert row["config"]["password"] == "****"
    assert "Mock Holding AS" in row["last_test"]["message"]


def test_interactive_add_refuses_a_list_value_not_in_the_list(
    registered: Transcript, monkeypatch: pytest.MonkeyPatch
) -> None:
    import host.cli.connections

    monkeypatch.setattr(host.cli.connections, "_interactive", lambda no_input: not no_input)
    result = registered(
        "connections", "add", "acme", "--connector", "mock-erp", *GOOD, "--config", "company=1",
        "--config", "read_only=no", input=";\n.\n\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "is not one of" in result.output
    (row,) = json.loads(registered("connections", "list", "--json").stdout)
    assert row["config"]["decimal_separator"] == "."


def test_without_a_terminal_nothing_is_prompted(registered: Transcript) -> None:
    """CliRunner's stdin is not a tty: missing values take defaults or fail, never hang."""
    result = registered(
        "connections", "add", "acme", "--connector", "mock-erp", "--config", "username=demo",
        input="should-not-be-read\n",
    )  # fmt: skip
    assert "password: is mandatory" in assert_one_line_error(result, 1)


# --- demo and help ---------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_runs_the_whole_flow(invoke: Invoke) -> None:
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "$ erpsync connections list" in out
    listing = out.split("$ erpsync connections list", 1)[1].split("\n$ ", 1)[0].splitlines()
    (row,) = [line for line in listing if line.startswith("acme ")]
    assert " ok " in row
    assert "Login to erp.mock.local failed" in out
    assert "mock server stopped" in out
    assert MOCK_PASSWORD not in result.output
    assert "--config password=@erp-password.txt" in out  # from a file, never inline


def _all_commands() -> list[tuple[str, ...]]:
    from host.cli import cli

    found: list[tuple[str, ...]] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        found.append(path)
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name))

    walk(cli, ())
    return found


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "erpsync")
def test_every_command_has_help_with_an_example(invoke: Invoke, path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout
    assert "erpsync" in result.stdout.split("Example", 1)[1]
