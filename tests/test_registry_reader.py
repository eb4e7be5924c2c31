"""Read-only lists through RegistryReader: same output as the full registry, no heavy imports,
no writes, and the full path when the schema is older than the code."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from host.admin import connections as admin_connections
from host.admin import connectors as admin_connectors
from host.registry import Registry
from host.registry.migrations import migrations
from host.registry.reader import MIGRATIONS, RegistryReader

HEAVY = ("httpx", "asyncio", "sqlite_utils", "cryptography")

PROBE = """
import json, sys
from host.cli import main
sys.argv = ["erpsync", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(m for m in HEAVY_NAMES if m in sys.modules)
print("PROBE " + json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
""".replace("HEAVY_NAMES", repr(HEAVY))


def run_cli(*args: str) -> tuple[str, str, dict[str, object]]:
    """`erpsync ARGS` in a fresh interpreter: stdout, stderr without the probe, the probe."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    lines = result.stderr.splitlines()
    probe = json.loads(lines[-1].removeprefix("PROBE "))
    return result.stdout, "\n".join(lines[:-1]), probe


@pytest.fixture
def filled(erpsync_home: Path) -> Path:
    """A registry with two connectors, a user in a group, and connections of each scope."""
    registry = Registry.open()
    registry.add_connector("mock-erp", "http://127.0.0.1:9/", token="s3cret-token")
    registry.add_connector("other", "http://127.0.0.1:10/")
    registry.add_user("alice")
    registry.add_user("bob")
    registry.add_group("sales")
    registry.add_member("sales", "alice")
    for guid, name, users, groups in (
        ("g-1", "acme", (), ()),
        ("g-2", "beta", ("bob",), ()),
        ("g-3", "gamma", (), ("sales",)),
    ):
        registry.add_connection(
            guid=guid,
            name=name,
            connector="mock-erp",
            config={"username": "demo", "password": "hunter2-secret"},
            secret_keys=["password"],
            users=users,
            groups=groups,
            test_state="ok",
            test_message="fine",
        )
    registry.close()
    return erpsync_home / "registry.db"


def test_migration_names_match_the_migrations() -> None:
    assert list(MIGRATIONS) == [m.name for m in migrations._migrations]


@pytest.mark.parametrize(
    "args",
    [
        ("connections", "list"),
        ("connections", "list", "--json"),
        ("connections", "list", "--visible-to", "alice", "--json"),
        ("connections", "list", "--visible-to", "bob"),
        ("connectors", "list"),
        ("connectors", "list", "--json"),
    ],
)
def test_read_only_lists_import_nothing_heavy_and_write_nothing(
    filled: Path, args: tuple[str, ...]
) -> None:
    before = filled.read_bytes()
    stdout, stderr, probe = run_cli(*args)
    assert probe == {"code": 0, "heavy": []}, stderr
    assert "hunter2-secret" not in stdout and "s3cret-token" not in stdout
    assert stdout.strip()
    assert filled.read_bytes() == before


def test_read_only_lists_equal_the_full_registry(filled: Path) -> None:
    registry = Registry.open(create=False)
    for visible_to in (None, "alice", "bob"):
        extra = ["--visible-to", visible_to] if visible_to else []
        stdout, _, _ = run_cli("connections", "list", "--json", *extra)
        assert json.loads(stdout) == admin_connections.list_all(registry, visible_to)
    stdout, _, _ = run_cli("connectors", "list", "--json")
    assert json.loads(stdout) == admin_connectors.list_all(registry)
    names = [c["name"] for c in json.loads(run_cli("connections", "list", "--json")[0])]
    assert names == ["acme", "beta", "gamma"]
    registry.close()


def test_unknown_visible_to_user_is_one_line_not_found(filled: Path) -> None:
    stdout, stderr, probe = run_cli("connections", "list", "--visible-to", "carol")
    assert probe["code"] != 0 and probe["heavy"] == []
    assert stdout == ""
    assert stderr.count("\n") == 0 and "no user named 'carol'" in stderr


def test_an_older_schema_takes_the_full_path_and_is_migrated(erpsync_home: Path) -> None:
    from sqlite_utils import Database

    path = erpsync_home / "registry.db"
    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before=MIGRATIONS[-1])
    db.close()
    assert RegistryReader.open(path) is None
    stdout, stderr, probe = run_cli("connections", "list", "--json")
    assert probe["code"] == 0, stderr
    assert json.loads(stdout) == []
    assert "sqlite_utils" in probe["heavy"]  # the full registry served, and migrated it
    reader = RegistryReader.open(path)
    assert reader is not None
    reader.close()


@pytest.mark.parametrize("kind", ["connectors", "connections"])
def test_a_missing_registry_is_not_created(erpsync_home: Path, kind: str) -> None:
    stdout, _, probe = run_cli(kind, "list", "--json")
    assert probe["code"] == 0
    assert "httpx" not in probe["heavy"]  # no connector client is loaded to say so
    assert json.loads(stdout) == []
    assert not (erpsync_home / "registry.db").exists()


def test_a_file_that_is_not_a_registry_is_left_to_the_full_path(erpsync_home: Path) -> None:
    path = erpsync_home / "registry.db"
    path.write_bytes(b"not a database at all" * 100)
    assert RegistryReader.open(path) is None
    _, stderr, probe = run_cli("connections", "list")
    assert probe["code"] != 0
    assert "registry" in stderr and "Traceback" not in stderr
