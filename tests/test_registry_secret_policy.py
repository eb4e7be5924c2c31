"""One secret policy: a connection seals the keys its connector declares secret, stored with
it, so no later write can store a password in clear because a caller forgot to say so."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from helpers import MOCK_CONFIG, MOCK_PASSWORD
from sqlite_utils import Database

from host.connector import Access, ConfigField, FieldType
from host.protocol.scrub import secret_keys
from host.registry import Registry
from host.registry.migrations import migrations


@pytest.fixture
def db_path(erpsync_home: Path) -> Path:
    return erpsync_home / "registry.db"


@pytest.fixture
def registry(db_path: Path) -> Registry:
    registry = Registry.open(db_path)
    registry.add_connector("mock-erp", "app:mock")
    return registry


def raw_bytes(db_path: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)
    )


def test_the_secret_keys_are_the_declared_password_fields() -> None:
    fields = [
        ConfigField("server", "Server", FieldType.TEXT, access=Access.MANDATORY),
        ConfigField("password", "Password", FieldType.PASSWORD),
        ConfigField("pin", "PIN", FieldType.PASSWORD),
        ConfigField("company", "Company", FieldType.INTEGER),
    ]
    assert secret_keys(fields) == ["password", "pin"]


def test_a_new_config_is_sealed_by_the_connections_own_secret_keys(
    registry: Registry, db_path: Path
) -> None:
    # Added with an empty password: nothing sealed yet, but the declaration is kept.
    guid = str(uuid.uuid4())
    registry.add_connection(
        guid=guid,
        name="acme",
        connector="mock-erp",
        config={**MOCK_CONFIG, "password": ""},
        secret_keys=["password"],
    )
    assert registry.connection("acme").secret_keys == []

    # An edit that does not repeat the secret keys still seals the password.
    registry.update_connection(guid, config=MOCK_CONFIG)
    record = registry.connection("acme")
    assert record.secret_keys == ["password"]
    assert "password" not in record.config
    assert record.to_dict()["config"]["password"] == "****"
    assert registry.connection_config(guid) == MOCK_CONFIG
    assert MOCK_PASSWORD.encode() not in raw_bytes(db_path)


def test_a_key_the_connector_declares_secret_later_is_sealed_too(registry: Registry) -> None:
    guid = str(uuid.uuid4())
    registry.add_connection(
        guid=guid, name="acme", connector="mock-erp", config=MOCK_CONFIG, secret_keys=["password"]
    )
    registry.update_connection(guid, config={**MOCK_CONFIG, "pin": "4711-pin"}, secret_keys=["pin"])
    assert registry.connection("acme").secret_keys == ["password", "pin"]
    # ...and the earlier declaration is not forgotten by an edit naming only the new one.
    registry.update_connection(guid, config={**MOCK_CONFIG, "pin": "4712-pin"})
    stored = registry.connection("acme")
    assert stored.secret_keys == ["password", "pin"]
    assert "4712-pin" not in json.dumps(stored.config)


def test_older_rows_keep_sealing_what_they_held_sealed(db_path: Path) -> None:
    """A registry from before the declaration was stored: the keys held sealed carry over."""
    names = [m.name for m in migrations.pending(Database(memory=True))]
    old = Registry.open(db_path)
    old.add_connector("mock-erp", "app:mock")
    guid = str(uuid.uuid4())
    old.add_connection(
        guid=guid, name="acme", connector="mock-erp", config=MOCK_CONFIG, secret_keys=["password"]
    )
    # Undo that migration's column the way a database written before it looks.
    old.db.execute("update connections set secret_fields = null")
    assert "m_connection_secret_fields" in names
    old.db.execute("delete from _sqlite_migrations where name = ?", ["m_connection_secret_fields"])
    old.db.conn.commit()
    old.db.execute("alter table connections drop column secret_fields")
    old.close()

    registry = Registry.open(db_path)
    registry.update_connection(guid, config={**MOCK_CONFIG, "password": "changed-secret"})
    record = registry.connection("acme")
    assert record.secret_keys == ["password"]
    assert b"changed-secret" not in raw_bytes(db_path)
