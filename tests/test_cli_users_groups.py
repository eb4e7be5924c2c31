"""`erpsync users`, `erpsync groups` and `erpsync audit` against a real registry in a tmp home."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers.cli import assert_one_line_error

Invoke = Callable[..., Result]
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def listed(invoke: Invoke, what: str) -> list[dict[str, object]]:
    rows = json.loads(ok(invoke(what, "list", "--json")).stdout)
    for row in rows:
        assert STAMP.match(str(row.pop("created_at"))), row
    return rows  # type: ignore[no-any-return]


def test_users_and_groups_round_trip_with_stable_json(invoke: Invoke, erpsync_home: Path) -> None:
    assert ok(invoke("users", "add", "alice")).stdout == "Added user 'alice'\n"
    ok(invoke("users", "add", "  bob  "))  # stripped
    assert ok(invoke("groups", "add", "sales")).stdout == "Added group 'sales'\n"
    ok(invoke("groups", "add", "ops"))
    assert (
        ok(invoke("groups", "add-member", "sales", "alice")).stdout
        == "User 'alice' is a member of group 'sales'\n"
    )
    ok(invoke("groups", "add-member", "ops", "alice"))
    ok(invoke("groups", "add-member", "sales", "bob"))
    ok(invoke("groups", "add-member", "sales", "bob"))  # twice is harmless

    assert listed(invoke, "users") == [
        {"name": "alice", "groups": ["ops", "sales"]},
        {"name": "bob", "groups": ["sales"]},
    ]
    assert listed(invoke, "groups") == [
        {"name": "ops", "members": ["alice"]},
        {"name": "sales", "members": ["alice", "bob"]},
    ]
    rows = json.loads(ok(invoke("users", "list", "--json")).stdout)
    assert [sorted(r) for r in rows] == [["created_at", "groups", "name"]] * 2

    assert (
        ok(invoke("groups", "remove-member", "sales", "alice")).stdout
        == "Removed user 'alice' from group 'sales'\n"
    )
    assert ok(invoke("groups", "remove", "ops")).stdout == "Removed group 'ops'\n"
    assert listed(invoke, "users") == [
        {"name": "alice", "groups": []},
        {"name": "bob", "groups": ["sales"]},
    ]
    assert ok(invoke("users", "remove", "bob")).stdout == "Removed user 'bob'\n"
    assert listed(invoke, "groups") == [{"name": "sales", "members": []}]
    assert listed(invoke, "users") == [{"name": "alice", "groups": []}]


def test_list_prints_a_table(invoke: Invoke, erpsync_home: Path) -> None:
    assert ok(invoke("users", "list")).stdout == "(none)\n"
    ok(invoke("users", "add", "alice"))
    ok(invoke("groups", "add", "sales"))
    ok(invoke("groups", "add-member", "sales", "alice"))
    users = ok(invoke("users", "list")).stdout.splitlines()
    assert users[0].split() == ["NAME", "GROUPS", "CREATED_AT"]
    assert users[1].split()[:2] == ["alice", "sales"]
    groups = ok(invoke("groups", "list")).stdout.splitlines()
    assert groups[0].split() == ["NAME", "MEMBERS", "CREATED_AT"]
    assert groups[1].split()[:2] == ["sales", "alice"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("", "user name '' is empty"),
        ("   ", "user name '   ' is empty"),
        ("a\nb", "user name 'a\\nb' contains a control character"),
        ("a\x1b[31mb", "user name 'a\\x1b[31mb' contains a control character"),
        ("tab\there", "user name 'tab\\there' contains a control character"),
        ("x" * 101, "user name '" + "x" * 60 + "...' is 101 characters long; at most 100"),
    ],
)
def test_bad_names_are_refused_naming_the_value(
    invoke: Invoke, erpsync_home: Path, value: str, shown: str
) -> None:
    message = assert_one_line_error(invoke("users", "add", value), 1)
    assert message == f"Error: {shown}"
    group_message = assert_one_line_error(invoke("groups", "add", value), 1)
    assert group_message == f"Error: {shown}".replace("user name", "group name")
    assert listed(invoke, "users") == []
    assert listed(invoke, "groups") == []


def test_a_name_of_100_characters_and_unicode_are_fine(invoke: Invoke, erpsync_home: Path) -> None:
    ok(invoke("users", "add", "y" * 100))
    ok(invoke("users", "add", "Åse Ødegård"))
    assert [u["name"] for u in listed(invoke, "users")] == ["y" * 100, "Åse Ødegård"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "remove", "nobody"), "Error: no user named 'nobody' (known: alice)"),
        (("groups", "remove", "nobody"), "Error: no group named 'nobody' (known: sales)"),
        (("users", "add", "alice"), "Error: a user named 'alice' already exists"),
        (("groups", "add", "sales"), "Error: a group named 'sales' already exists"),
        (
            ("groups", "add-member", "sales", "nobody"),
            "Error: no user named 'nobody' (known: alice)",
        ),
        (
            ("groups", "add-member", "nobody", "alice"),
            "Error: no group named 'nobody' (known: sales)",
        ),
        (
            ("groups", "remove-member", "sales", "alice"),
            "Error: user 'alice' is not a member of group 'sales'",
        ),
        (("groups", "add-member", "sales", "a\x07"), "Error: user name 'a\\x07' contains a"),
    ],
)
def test_unknown_and_duplicate_names_are_one_line_errors(
    invoke: Invoke, erpsync_home: Path, args: tuple[str, ...], message: str
) -> None:
    ok(invoke("users", "add", "alice"))
    ok(invoke("groups", "add", "sales"))
    assert assert_one_line_error(invoke(*args), 1).startswith(message)


def test_db_option_selects_the_registry_file(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "team.db"
    ok(invoke("users", "add", "alice", "--db", str(db)))
    ok(invoke("groups", "add", "sales", "--db", str(db)))
    ok(invoke("groups", "add-member", "sales", "alice", "--db", str(db)))
    assert db.exists()
    rows = json.loads(ok(invoke("users", "list", "--json", "--db", str(db))).stdout)
    assert [(r["name"], r["groups"]) for r in rows] == [("alice", ["sales"])]
    assert json.loads(ok(invoke("users", "list", "--json")).stdout) == []
    audit = json.loads(ok(invoke("audit", "--json", "--db", str(db))).stdout)
    assert len(audit) == 3


def test_audit_records_who_did_what(
    invoke: Invoke, erpsync_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERPSYNC_ADMIN", "carol")
    ok(invoke("users", "add", "alice"))
    ok(invoke("groups", "add", "sales"))
    ok(invoke("groups", "add-member", "sales", "alice"))
    ok(invoke("groups", "remove-member", "sales", "alice"))
    invoke("users", "add", "alice")  # a refused change leaves no record

    rows = json.loads(ok(invoke("audit", "--json")).stdout)
    for row in rows:
        assert STAMP.match(row.pop("at")), row
    assert rows == [
        {
            "who": "carol",
            "action": "group.remove-member",
            "target": "sales/alice",
            "detail": "",
        },
        {"who": "carol", "action": "group.add-member", "target": "sales/alice", "detail": ""},
        {"who": "carol", "action": "group.add", "target": "sales", "detail": ""},
        {"who": "carol", "action": "user.add", "target": "alice", "detail": ""},
    ]
    limited = json.loads(ok(invoke("audit", "--limit", "2", "--json")).stdout)
    assert [r["action"] for r in limited] == ["group.remove-member", "group.add-member"]

    table = ok(invoke("audit")).stdout.splitlines()
    assert table[0].split() == ["AT", "WHO", "ACTION", "TARGET", "DETAIL"]
    assert table[-1].split()[1:] == ["carol", "user.add", "alice", "-"]


def test_audit_limit_must_be_positive(invoke: Invoke, erpsync_home: Path) -> None:
    result = invoke("audit", "--limit", "0")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_audit_of_an_empty_registry(invoke: Invoke, erpsync_home: Path) -> None:
    assert ok(invoke("audit")).stdout == "(none)\n"
    assert json.loads(ok(invoke("audit", "--json")).stdout) == []


@pytest.mark.parametrize(
    "path",
    [
        ("users",),
        ("users", "add"),
        ("users", "list"),
        ("users", "remove"),
        ("groups",),
        ("groups", "add"),
        ("groups", "list"),
        ("groups", "remove"),
        ("groups", "add-member"),
        ("groups", "remove-member"),
        ("audit",),
    ],
)
def test_every_command_has_an_example_and_the_db_option(
    invoke: Invoke, path: tuple[str, ...]
) -> None:
    text = ok(invoke(*path, "--help")).stdout
    found = re.search(r"^ +Examples?:\n +erpsync (\S+)", text, re.MULTILINE)
    assert found is not None and found.group(1) == path[0], text
    if len(path) > 1 or path[0] == "audit":
        assert re.search(r"^ +--db ", text, re.MULTILINE), text
