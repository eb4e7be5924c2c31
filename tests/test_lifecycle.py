"""The seed's whole admin flow, scripted (--no-input) and in a real terminal (a pty)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.terminal import Terminal

PASSWORD = MOCK_PASSWORD
CONFIG = ["--config", "server=erp.mock.local", "--config", "username=demo", "--no-input"]


class Session:
    """Runs erpsync commands in-process and keeps every byte they printed."""

    def __init__(self, invoke: Callable[..., Result]) -> None:
        self.invoke = invoke
        self.printed: list[str] = []

    def run(self, *args: str, expect: int = 0) -> Result:
        result = self.invoke(*args)
        self.printed += [result.stdout, result.stderr]
        assert result.exit_code == expect, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        if expect:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        return result

    def json(self, *args: str) -> object:
        return json.loads(self.run(*args, "--json").stdout)


def names(rows: object) -> list[str]:
    assert isinstance(rows, list)
    return [row["name"] for row in rows]


def test_scripted_session_walks_the_whole_admin_flow(
    invoke: Callable[..., Result], erpsync_home: Path, mock_server: object
) -> None:
    s = Session(invoke)
    url, token_file = mock_server.url, str(mock_server.token_file)  # type: ignore[attr-defined]
    s.run("connectors", "add", "mock-erp", url, "--token-file", token_file)
    s.run("users", "add", "alice")
    s.run("groups", "add", "sales")

    # A failed test saves nothing.
    failed = s.run(
        "connections",
        "add",
        "acme",
        "--connector",
        "mock-erp",
        *CONFIG,
        "--config",
        "password=not-the-password",
        "--user",
        "alice",
        "--group",
        "sales",
        expect=3,
    )
    assert "wrong username or password" in failed.stderr
    assert s.json("connections", "list") == []

    # A passing test saves, with scope and config.
    s.run(
        "connections",
        "add",
        "acme",
        "--connector",
        "mock-erp",
        *CONFIG,
        "--config",
        f"password={PASSWORD}",
        "--user",
        "alice",
        "--group",
        "sales",
        "--description",
        "Acme in the mock ERP",
    )
    shown = s.json("connections", "show", "acme")
    assert isinstance(shown, dict)
    assert shown["scope"] == "restricted"
    assert (shown["users"], shown["groups"]) == (["alice"], ["sales"])
    assert shown["config"]["password"] == "****"
    assert shown["last_test"]["state"] == "ok" and shown["active"] is False

    s.run("mapping", "enable", "acme", "customer")  # activation needs sync settings
    s.run("connections", "activate", "acme")
    refused = s.run("connections", "edit", "acme", "--config", "company=2", "--no-input", expect=1)
    assert "deactivate it before changing config" in refused.stderr
    s.run("connections", "deactivate", "acme")
    # The password is not re-entered: the stored secret is merged and the re-test passes.
    s.run("connections", "edit", "acme", "--config", "company=2", "--no-input")
    edited = s.json("connections", "show", "acme")
    assert isinstance(edited, dict)
    assert edited["config"]["company"] == 2 and "Mock Services" in edited["last_test"]["message"]
    s.run("connections", "test", "acme")
    s.run("connections", "activate", "acme")
    assert s.json("connections", "list")[0]["active"] is True  # type: ignore[index]
    s.run("connections", "remove", "acme", "--yes")
    assert s.json("connections", "list") == []
    s.run("connectors", "remove", "mock-erp")

    # The secret appears nowhere: not in any output, not in the database files.
    assert all(PASSWORD not in text for text in s.printed)
    for path in erpsync_home.glob("registry.db*"):
        assert PASSWORD.encode() not in path.read_bytes(), path


def test_activation_lists_every_reason_it_refuses(
    invoke: Callable[..., Result], erpsync_home: Path
) -> None:
    from host.registry import Registry

    s = Session(invoke)
    s.run("connectors", "add", "m", "app:mock")
    s.run(
        "connections",
        "add",
        "acme",
        "--connector",
        "m",
        *CONFIG,
        "--config",
        f"password={PASSWORD}",
    )
    registry = Registry.open(erpsync_home / "registry.db")
    record = registry.connection("acme")
    registry.record_test(record.guid, "error", "Login failed")
    # Drop a mandatory value behind the CLI's back, as an old database might hold.
    registry.db.execute(
        "update connections set config = json_remove(config, '$.server') where guid = ?",
        [record.guid],
    )
    registry.db.conn.commit()
    result = s.run("connections", "activate", "acme", expect=1)
    assert "the last test failed: Login failed" in result.stderr
    assert "mandatory field missing: server" in result.stderr
    answer = json.loads(invoke("connections", "activate", "acme", "--json").stdout)
    assert answer["activated"] is False and len(answer["reasons"]) == 3
    assert "no actor type enabled for sync" in answer["reasons"][2]
    assert registry.connection("acme").active is False


def test_visible_to_answers_for_everyone_user_and_group_scopes(
    invoke: Callable[..., Result], erpsync_home: Path
) -> None:
    s = Session(invoke)
    for user in ("alice", "bob", "carol"):
        s.run("users", "add", user)
    s.run("groups", "add", "sales")
    s.run("groups", "add-member", "sales", "bob")
    s.run("connectors", "add", "m", "app:mock")
    base = ["--connector", "m", *CONFIG, "--config", f"password={PASSWORD}"]
    s.run("connections", "add", "for-everyone", *base)
    s.run("connections", "add", "for-alice", *base, "--user", "alice")
    s.run("connections", "add", "for-sales", *base, "--group", "sales")

    assert names(s.json("connections", "list", "--visible-to", "alice")) == [
        "for-alice",
        "for-everyone",
    ]
    assert names(s.json("connections", "list", "--visible-to", "bob")) == [
        "for-everyone",
        "for-sales",
    ]
    assert names(s.json("connections", "list", "--visible-to", "carol")) == ["for-everyone"]
    s.run("groups", "add-member", "sales", "carol")
    assert names(s.json("connections", "list", "--visible-to", "carol")) == [
        "for-everyone",
        "for-sales",
    ]
    missing = s.run("connections", "list", "--visible-to", "mallory", expect=1)
    assert "no user named 'mallory'" in missing.stderr
    unknown_group = s.run("connections", "add", "x", *base, "--group", "nope", expect=1)
    assert "no group named 'nope'" in unknown_group.stderr


def test_validation_answers_per_field_in_json(
    invoke: Callable[..., Result], erpsync_home: Path
) -> None:
    s = Session(invoke)
    s.run("connectors", "add", "m", "app:mock")
    result = invoke(
        "connections",
        "add",
        "acme",
        "--connector",
        "m",
        "--no-input",
        "--json",
        "--config",
        "company=many",
        "--config",
        "decimal_separator=;",
        "--config",
        f"password={PASSWORD}",
        "--config",
        "note=hello",
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)["validation"]
    by_name = {f["name"]: f for f in report["fields"]}
    assert by_name["username"]["errors"] == ["is mandatory"]
    assert "whole number" in by_name["company"]["errors"][0]
    assert "not in list decimal_separators" in by_name["decimal_separator"]["errors"][0]
    assert "label" in by_name["note"]["errors"][0]
    assert by_name["password"]["value"] == "****" and by_name["password"]["errors"] == []
    assert report["error_count"] == 4
    assert PASSWORD not in result.stdout + result.stderr
    assert "username: is mandatory" in result.stderr


def test_interactive_terminal_session_prompts_each_field_in_rank_order(
    invoke: Callable[..., Result], erpsync_home: Path
) -> None:
    Session(invoke).run("connectors", "add", "m", "app:mock")
    env = dict(os.environ)
    term = Terminal(
        [sys.executable, "-m", "host.cli", "connections", "add", "acme", "--connector", "m"], env
    )
    term.expect(r"Server or file path \(server\) \[erp\.mock\.local\]: ")
    term.send("")
    term.expect(r"Username \(username\): ")
    term.send("demo")
    term.expect(r"Password \(password\): ")
    term.send(PASSWORD)
    term.expect(r"Company number \(company\) \[1\]: ")
    term.send("3")
    term.expect(r"Comma \(1234,56\)")  # list fields offer the list's items
    term.expect(r"Decimal separator \(decimal_separator\) \[\.\]: ")
    term.send(",")
    term.expect(r"Read only \(read_only\) \[y/N\]: ")
    term.send("n")
    term.expect(r"Description: ")
    term.send("")
    term.expect(r"tested and saved")
    assert term.finish() == 0
    assert PASSWORD not in term.seen  # hidden input is not echoed
    shown = json.loads(invoke("connections", "show", "acme", "--json").stdout)
    assert shown["config"]["company"] == 3
    assert shown["config"]["decimal_separator"] == ","
    assert shown["config"]["password"] == "****"

    # Editing in a terminal: an empty password answer keeps the stored secret.
    term = Terminal([sys.executable, "-m", "host.cli", "connections", "edit", "acme"], env)
    term.expect(r"Server or file path \(server\) \[erp\.mock\.local\]: ")
    term.send("")
    term.expect(r"Username \(username\) \[demo\]: ")
    term.send("")
    term.expect(r"Password \(password\) \(empty keeps the stored one\): ")
    term.send("")
    term.expect(r"Company number \(company\) \[3\]: ")
    term.send("2")
    term.expect(r"\(decimal_separator\)")
    term.send("")
    term.expect(r"Read only")
    term.send("")
    term.expect(r"updated and tested")
    assert term.finish() == 0
    shown = json.loads(invoke("connections", "show", "acme", "--json").stdout)
    assert shown["config"]["company"] == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["connectors", "add", "x", "ftp://example.org"], "is not a connector URL"),
        (["connections", "add", "y", "--connector", "nope", "--no-input"], "no connector named"),
        (["connections", "show", "nope"], "no connection named 'nope'"),
        (["connections", "test"], "give a connection NAME or --all"),
        (
            ["connections", "add", "z", "--connector", "m", "--config", "oops", "--no-input"],
            "is not KEY=VALUE",
        ),
    ],
)
def test_bad_input_is_one_clear_line(
    invoke: Callable[..., Result], erpsync_home: Path, args: list[str], message: str
) -> None:
    Session(invoke).run("connectors", "add", "m", "app:mock")
    result = invoke(*args)
    assert result.exit_code in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
