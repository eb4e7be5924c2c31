"""The admin-side registry on a real SQLite file: schema, records, conflicts, secrets at rest,
and atomic changes."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from helpers import MOCK_CONFIG, MOCK_PASSWORD
from helpers.cli import assert_one_line_error
from sqlite_utils import Database

from host.registry import Conflict, NotFound, Registry
from host.registry.migrations import migrations
from host.registry.secrets import KEY_FILE_NAME, SECRET_KEY_ENV, SecretKeyError

TOKEN = "connector-bearer-token-0123456789"


@pytest.fixture
def db_path(erpsync_home: Path) -> Path:
    return erpsync_home / "registry.db"


@pytest.fixture
def registry(db_path: Path) -> Registry:
    return Registry.open(db_path)


def raw_bytes(db_path: Path) -> bytes:
    """The database file and its WAL, as stored on disk."""
    return b"".join(
        p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)
    )


def add_acme(registry: Registry, **kwargs: object) -> str:
    guid = str(uuid.uuid4())
    registry.add_connection(
        guid=guid,
        name=str(kwargs.pop("name", "acme")),
        connector=str(kwargs.pop("connector", "mock-erp")),
        config=kwargs.pop("config", MOCK_CONFIG),  # type: ignore[arg-type]
        secret_keys=["password"],
        **kwargs,  # type: ignore[arg-type]
    )
    return guid


# --- schema ----------------------------------------------------------------------------------


def test_opening_creates_the_schema_with_every_migration_applied(
    registry: Registry, db_path: Path
) -> None:
    assert db_path.exists()
    tables = set(registry.db.table_names())
    assert {"connectors", "connections", "connection_access"} <= tables
    assert migrations.pending(registry.db) == []
    names = [m.name for m in migrations.applied(registry.db)]
    assert names == [m.name for m in migrations.pending(Database(memory=True))]
    assert names[0] == "m001_connectors_and_connections"
    assert registry.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert registry.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert registry.db["connections"].pks == ["guid"]


def test_reopening_keeps_the_data_and_applies_nothing_twice(db_path: Path) -> None:
    first = Registry.open(db_path)
    first.add_connector("mock-erp", "http://127.0.0.1:1/connectors/mock", TOKEN)
    applied = migrations.applied(first.db)
    first.close()
    second = Registry.open(db_path)
    assert [c.name for c in second.connectors()] == ["mock-erp"]
    assert second.connector_token("mock-erp") == TOKEN
    assert migrations.applied(second.db) == applied


def test_an_older_database_is_upgraded_in_place(db_path: Path) -> None:
    all_names = [m.name for m in migrations.pending(Database(memory=True))]
    if len(all_names) < 2:
        pytest.skip("only one migration so far")
    old = Database(db_path)
    migrations.apply(old, stop_before=all_names[1])
    old["connectors"].insert(
        {"name": "old", "url": "app:mock", "created_at": "2026-01-01", "updated_at": "2026-01-01"}
    )
    old.close()

    registry = Registry.open(db_path)
    assert [m.name for m in migrations.applied(registry.db)] == all_names
    assert [c.name for c in registry.connectors()] == ["old"]


# --- connectors and connections --------------------------------------------------------------


def test_connectors_are_added_listed_and_found(registry: Registry) -> None:
    record = registry.add_connector("zeta", "http://127.0.0.1:9/connectors/mock", TOKEN)
    registry.add_connector("alpha", "app:mock")
    assert record.name == "zeta" and record.has_token
    assert record.to_dict()["token"] == "****"
    assert [c.name for c in registry.connectors()] == ["alpha", "zeta"]
    assert registry.connector("alpha").has_token is False
    assert registry.connector("alpha").to_dict()["token"] is None
    assert registry.connector_token("zeta") == TOKEN
    assert registry.connector_token("alpha") is None


def test_an_unknown_connector_is_not_found_and_the_known_ones_are_named(
    registry: Registry,
) -> None:
    registry.add_connector("mock-erp", "app:mock")
    with pytest.raises(NotFound, match=r"no connector named 'nope' \(known: mock-erp\)"):
        registry.connector("nope")


def test_a_second_connector_with_the_same_name_is_a_conflict(registry: Registry) -> None:
    registry.add_connector("mock-erp", "app:mock", TOKEN)
    with pytest.raises(Conflict, match="already exists"):
        registry.add_connector("mock-erp", "http://elsewhere", "other")
    assert registry.connector("mock-erp").url == "app:mock"
    assert registry.connector_token("mock-erp") == TOKEN


def test_connections_are_added_with_secrets_masked_and_config_whole(registry: Registry) -> None:
    registry.add_connector("mock-erp", "app:mock")
    registry.add_user("alice")
    registry.add_group("sales")
    guid = add_acme(
        registry,
        description="Main books",
        users=["alice", "alice"],
        groups=["sales"],
        test_state="ok",
        test_message="Connected",
    )
    record = registry.connection("acme")
    assert record.guid == guid
    assert registry.connection_by_guid(guid) == record
    assert (record.scope, record.users, record.groups) == ("restricted", ["alice"], ["sales"])
    assert record.secret_keys == ["password"]
    assert "password" not in record.config
    shown = record.to_dict()
    assert shown["config"] == {**MOCK_CONFIG, "password": "****"}
    assert shown["last_test"]["state"] == "ok" and shown["last_test"]["at"]
    assert shown["active"] is False
    assert registry.connection_config(guid) == MOCK_CONFIG
    assert registry.connection_config(str(uuid.uuid4())) is None
    assert [c.name for c in registry.connections()] == ["acme"]


def test_an_empty_password_is_not_stored_as_a_secret(registry: Registry) -> None:
    registry.add_connector("mock-erp", "app:mock")
    guid = add_acme(registry, config={**MOCK_CONFIG, "password": ""})
    record = registry.connection("acme")
    assert record.secret_keys == []
    assert "password" not in record.to_dict()["config"]
    assert registry.connection_config(guid) == {
        k: v for k, v in MOCK_CONFIG.items() if k != "password"
    }


def test_connection_conflicts_and_unknown_references(registry: Registry) -> None:
    registry.add_connector("mock-erp", "app:mock")
    add_acme(registry)
    with pytest.raises(Conflict, match="a connection named 'acme' already exists"):
        add_acme(registry)
    with pytest.raises(NotFound, match="no connector named 'nope'"):
        add_acme(registry, name="other", connector="nope")
    with pytest.raises(NotFound, match="no user named 'bob'"):
        add_acme(registry, name="other", users=["bob"])
    with pytest.raises(NotFound, match="no connection named 'other'"):
        registry.connection("other")
    assert [c.name for c in registry.connections()] == ["acme"]


def test_a_connector_with_connections_cannot_be_removed(registry: Registry) -> None:
    registry.add_connector("mock-erp", "app:mock")
    add_acme(registry)
    with pytest.raises(Conflict, match="used by connection acme"):
        registry.remove_connector("mock-erp")
    assert registry.connector("mock-erp")


# --- secrets at rest -------------------------------------------------------------------------


def test_no_secret_is_stored_in_clear(registry: Registry, db_path: Path) -> None:
    registry.add_connector("mock-erp", "app:mock", TOKEN)
    add_acme(registry)
    raw = raw_bytes(db_path)
    assert b"erp.mock.local" in raw  # the bytes read are the ones written
    assert MOCK_PASSWORD.encode() not in raw
    assert TOKEN.encode() not in raw
    row = next(registry.db["connections"].rows)
    assert MOCK_PASSWORD not in json.dumps(row)


def test_without_a_key_in_the_environment_a_key_file_is_created_0600(
    erpsync_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV)
    db_path = erpsync_home / "registry.db"
    registry = Registry.open(db_path)
    registry.add_connector("plain", "app:mock")
    assert not (erpsync_home / KEY_FILE_NAME).exists()  # created on first secret only
    registry.add_connector("mock-erp", "app:mock", TOKEN)
    key_file = erpsync_home / KEY_FILE_NAME
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(key_file.read_bytes().strip())  # a valid key
    assert Registry.open(db_path).connector_token("mock-erp") == TOKEN  # reused, not replaced
    assert TOKEN.encode() not in raw_bytes(db_path)


def test_a_wrong_key_is_a_clear_secret_key_error(
    registry: Registry, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.add_connector("mock-erp", "app:mock", TOKEN)
    guid = add_acme(registry)
    monkeypatch.setenv(SECRET_KEY_ENV, Fernet.generate_key().decode())
    other = Registry.open(db_path)
    with pytest.raises(SecretKeyError, match=SECRET_KEY_ENV) as caught:
        other.connection_config(guid)
    assert "not the key it was written with" in str(caught.value)
    with pytest.raises(SecretKeyError):
        other.connector_token("mock-erp")
    assert other.connection("acme").to_dict()["config"]["password"] == "****"  # no decrypt


def test_a_malformed_key_is_a_clear_secret_key_error(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_KEY_ENV, "not-a-fernet-key")
    with pytest.raises(SecretKeyError, match="not a valid Fernet key"):
        Registry.open(registry.path).add_connector("mock-erp", "app:mock", TOKEN)


def test_a_damaged_key_file_is_named_in_the_error(
    erpsync_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ERPSYNC_SECRET_KEY the key comes from the file: the message must point there."""
    monkeypatch.delenv(SECRET_KEY_ENV)
    key_file = erpsync_home / KEY_FILE_NAME
    key_file.write_bytes(b"")  # e.g. truncated, or read while another process creates it
    registry = Registry.open(erpsync_home / "registry.db")
    with pytest.raises(SecretKeyError) as caught:
        registry.add_connector("mock-erp", "app:mock", TOKEN)
    assert str(key_file) in str(caught.value)
    assert registry.connectors() == []


def test_the_cli_reports_a_wrong_key_in_one_line(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, invoke: Callable[..., Result]
) -> None:
    registry.add_connector("mock-erp", "app:mock", TOKEN)
    add_acme(registry)
    monkeypatch.setenv(SECRET_KEY_ENV, Fernet.generate_key().decode())
    text = assert_one_line_error(invoke("connections", "test", "acme"), 1)
    assert SECRET_KEY_ENV in text
    monkeypatch.setenv(SECRET_KEY_ENV, "garbage")
    text = assert_one_line_error(invoke("connectors", "add", "x", "app:mock", "--token", "t"), 1)
    assert "not a valid Fernet key" in text


# --- atomic changes --------------------------------------------------------------------------


def test_a_failing_insert_inside_the_transaction_leaves_no_half_record(
    registry: Registry,
) -> None:
    registry.add_connector("mock-erp", "app:mock")
    registry.add_user("alice")
    audit_before = registry.db["audit"].count if "audit" in registry.db.table_names() else 0
    # A real SQLite failure on the second insert of add_connection (the access list).
    registry.db.execute(
        "CREATE TRIGGER refuse_access BEFORE INSERT ON connection_access "
        "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
    )
    with pytest.raises(sqlite3.DatabaseError, match="disk says no"):
        add_acme(registry, users=["alice"])
    assert registry.connections() == []
    assert registry.db["connections"].count == 0
    assert registry.db["connection_access"].count == 0
    if "audit" in registry.db.table_names():
        assert registry.db["audit"].count == audit_before
    assert not registry.db.conn.in_transaction

    registry.db.execute("DROP TRIGGER refuse_access")
    add_acme(registry, users=["alice"])  # the registry still works afterwards
    assert registry.connection("acme").users == ["alice"]


def test_an_exception_inside_a_transaction_rolls_everything_back(registry: Registry) -> None:
    with pytest.raises(RuntimeError), registry.transaction():
        registry.db["connectors"].insert(
            {"name": "half", "url": "app:mock", "created_at": "x", "updated_at": "x"}
        )
        raise RuntimeError("interrupted")
    assert registry.connectors() == []


def test_two_admins_at_once_lose_nothing(db_path: Path) -> None:
    Registry.open(db_path).close()
    errors: list[BaseException] = []

    def admin(prefix: str) -> None:
        try:
            mine = Registry.open(db_path)
            for i in range(15):
                mine.add_connector(f"{prefix}-{i:02d}", "app:mock", TOKEN)
            mine.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=admin, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    names = [c.name for c in Registry.open(db_path).connectors()]
    assert len(names) == 30 and len(set(names)) == 30
