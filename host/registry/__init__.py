"""The admin side's registry: sync connectors and ERP connections in SQLite (sqlite-utils).

It knows nothing of HTTP. Every change runs in one transaction, so a failed or interrupted
command leaves the old state or the new one, never half.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from host.registry.home import default_db_path
from host.registry.secrets import SecretBox

EVERYONE = "everyone"
RESTRICTED = "restricted"


class RegistryError(Exception):
    """An expected failure: the message is one line for the admin."""


class NotFound(RegistryError):
    pass


class Conflict(RegistryError):
    pass


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class ConnectorRecord:
    name: str
    url: str
    has_token: bool
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "token": "****" if self.has_token else None,
            "created_at": self.created_at,
        }


@dataclass
class ConnectionRecord:
    guid: str
    name: str
    connector: str
    scope: str
    description: str
    config: dict[str, Any]
    secret_keys: list[str]
    active: bool
    last_test_state: str | None
    last_test_message: str | None
    last_tested_at: str | None
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape; secrets appear only as ****."""
        return {
            "guid": self.guid,
            "name": self.name,
            "connector": self.connector,
            "scope": self.scope,
            "users": list(self.users),
            "groups": list(self.groups),
            "description": self.description,
            "config": {**self.config, **{k: "****" for k in self.secret_keys}},
            "active": self.active,
            "last_test": {
                "state": self.last_test_state,
                "message": self.last_test_message,
                "at": self.last_tested_at,
            },
        }


class Registry:
    """Open with `Registry.open()`; the database and its schema are created on first use."""

    def __init__(self, path: Path, secret_box: SecretBox | None = None) -> None:
        from sqlite_utils import Database

        from host.registry.migrations import migrations

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30.0)
        self.db = Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=30000")
        migrations.apply(self.db)
        self.secrets = secret_box or SecretBox(path.parent)

    @classmethod
    def open(cls, db_path: str | Path | None = None) -> Registry:
        return cls(Path(db_path) if db_path else default_db_path())

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.atomic():
            yield

    # --- connectors --------------------------------------------------------------------

    def add_connector(self, name: str, url: str, token: str | None = None) -> ConnectorRecord:
        stamp = now()
        with self.transaction():
            if self._connector_row(name) is not None:
                raise Conflict(f"a connector named {name!r} already exists")
            self.db.table("connectors").insert(
                {
                    "name": name,
                    "url": url,
                    "token": self.secrets.encrypt(token) if token else None,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        return self.connector(name)

    def _connector_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("connectors").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def connector(self, name: str) -> ConnectorRecord:
        row = self._connector_row(name)
        if row is None:
            known = ", ".join(c.name for c in self.connectors()) or "none yet"
            raise NotFound(f"no connector named {name!r} (known: {known})")
        return ConnectorRecord(row["name"], row["url"], bool(row["token"]), row["created_at"])

    def connector_token(self, name: str) -> str | None:
        row = self._connector_row(name)
        if row is None or not row["token"]:
            return None
        return self.secrets.decrypt(row["token"])

    def connectors(self) -> list[ConnectorRecord]:
        return [
            ConnectorRecord(r["name"], r["url"], bool(r["token"]), r["created_at"])
            for r in self.db.table("connectors").rows_where(order_by="name")
        ]

    # --- connections -------------------------------------------------------------------

    def add_connection(
        self,
        *,
        guid: str,
        name: str,
        connector: str,
        config: Mapping[str, Any],
        secret_keys: Iterable[str],
        description: str = "",
        users: Iterable[str] = (),
        groups: Iterable[str] = (),
        test_state: str | None = None,
        test_message: str | None = None,
    ) -> ConnectionRecord:
        """Insert a tested connection and its access list in one transaction."""
        users, groups = sorted(set(users)), sorted(set(groups))
        secret_keys = {k for k in secret_keys if config.get(k) not in (None, "")}
        plain, sealed = self._split_secrets(config, secret_keys)
        stamp = now()
        with self.transaction():
            self.connector(connector)
            if self._connection_row(name) is not None:
                raise Conflict(f"a connection named {name!r} already exists")
            self.db.table("connections").insert(
                {
                    "guid": guid,
                    "name": name,
                    "connector": connector,
                    "scope": RESTRICTED if users or groups else EVERYONE,
                    "description": description,
                    "config": json.dumps(plain, sort_keys=True),
                    "secrets": sealed,
                    "secret_keys": json.dumps(sorted(secret_keys)),
                    "active": 0,
                    "last_test_state": test_state,
                    "last_test_message": test_message,
                    "last_tested_at": stamp if test_state else None,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            access = [{"connection": guid, "kind": "user", "principal": u} for u in users]
            access += [{"connection": guid, "kind": "group", "principal": g} for g in groups]
            if access:
                self.db.table("connection_access").insert_all(access)
        return self.connection(name)

    def _split_secrets(
        self, config: Mapping[str, Any], secret_keys: set[str]
    ) -> tuple[dict[str, Any], str | None]:
        plain = {k: v for k, v in config.items() if k not in secret_keys}
        hidden = {k: v for k, v in config.items() if k in secret_keys and v not in (None, "")}
        sealed = self.secrets.encrypt(json.dumps(hidden)) if hidden else None
        return plain, sealed

    def _connection_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("connections").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def _record(self, row: Mapping[str, Any]) -> ConnectionRecord:
        access = list(
            self.db.table("connection_access").rows_where("connection = ?", [row["guid"]])
        )
        secret_keys = json.loads(row["secret_keys"] or "[]")
        return ConnectionRecord(
            guid=row["guid"],
            name=row["name"],
            connector=row["connector"],
            scope=row["scope"],
            description=row["description"] or "",
            config=json.loads(row["config"]),
            secret_keys=secret_keys,
            active=bool(row["active"]),
            last_test_state=row["last_test_state"],
            last_test_message=row["last_test_message"],
            last_tested_at=row["last_tested_at"],
            users=sorted(a["principal"] for a in access if a["kind"] == "user"),
            groups=sorted(a["principal"] for a in access if a["kind"] == "group"),
        )

    def connection(self, name: str) -> ConnectionRecord:
        row = self._connection_row(name)
        if row is None:
            raise NotFound(f"no connection named {name!r}")
        return self._record(row)

    def connection_by_guid(self, guid: str) -> ConnectionRecord | None:
        rows = list(self.db.table("connections").rows_where("guid = ?", [guid]))
        return self._record(rows[0]) if rows else None

    def connections(self) -> list[ConnectionRecord]:
        return [self._record(r) for r in self.db.table("connections").rows_where(order_by="name")]

    def connection_config(self, guid: str) -> dict[str, Any] | None:
        """The full config, secrets decrypted: only ever sent to the connector itself."""
        rows = list(self.db.table("connections").rows_where("guid = ?", [guid]))
        if not rows:
            return None
        config = json.loads(rows[0]["config"])
        if rows[0]["secrets"]:
            config.update(json.loads(self.secrets.decrypt(rows[0]["secrets"])))
        return dict(config)

    def record_test(self, guid: str, state: str, message: str) -> None:
        with self.transaction():
            self.db.table("connections").update(
                guid,
                {"last_test_state": state, "last_test_message": message, "last_tested_at": now()},
            )
