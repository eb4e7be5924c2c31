"""Reading the registry with plain `sqlite3`: the one copy of the list queries.

`Registry` reads its lists through these functions on its own connection; read-only
commands (`connections list`, `connectors list`) use them through `RegistryReader`, which
opens the file with `mode=ro` and so never creates, migrates or writes it, and needs
neither sqlite-utils nor cryptography (lists show secrets only as ****).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from host.registry.records import EVERYONE, ConnectionRecord, ConnectorRecord, NotFound

MIGRATION_SET = "erpsync"
MIGRATIONS: tuple[str, ...] = (
    "m001_connectors_and_connections",
    "m002_users_groups_cache_audit",
    "m003_connector_ca_bundle",
    "m004_guid_journal",
    "sync_001_settings",
    "m_web_admins_and_sessions",
    "m_connection_secret_fields",
    "m005_app_versions",
    "m006_secret_refs",
)
"""The names of host.registry.migrations, in order (a test keeps them equal): a registry
missing any of them needs migrating, which only the full `Registry` does."""


def rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of a query as dicts (as sqlite-utils hands them out), whatever the
    connection's row factory."""
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


VERSION_KEYS = ("app", "app_distribution", "app_version", "connector_version", "protocol_version")
"""The version columns connectors and connections share (migration m005_app_versions)."""


def versions_of(row: Mapping[str, Any]) -> dict[str, str | None]:
    """The recorded versions of a row and the fingerprint of its config-field declaration."""
    found: dict[str, str | None] = {key: row.get(key) for key in VERSION_KEYS}
    found["fields_fingerprint"] = row.get("fields_fingerprint")
    return found


def connector_record(row: Mapping[str, Any]) -> ConnectorRecord:
    return ConnectorRecord(
        row["name"],
        row["url"],
        bool(row["token"]),
        row["created_at"],
        row["updated_at"],
        row.get("ca_bundle"),
        versions_of(row),
    )


def connector_records(conn: sqlite3.Connection) -> list[ConnectorRecord]:
    return [connector_record(r) for r in rows(conn, "select * from connectors order by name")]


def connection_record(
    row: Mapping[str, Any], access: Sequence[Mapping[str, Any]]
) -> ConnectionRecord:
    """A connection from its row and its access rows (kind, principal)."""
    return ConnectionRecord(
        guid=row["guid"],
        name=row["name"],
        connector=row["connector"],
        scope=row["scope"],
        description=row["description"] or "",
        config=json.loads(row["config"]),
        secret_keys=json.loads(row["secret_keys"] or "[]"),
        active=bool(row["active"]),
        last_test_state=row["last_test_state"],
        last_test_message=row["last_test_message"],
        last_tested_at=row["last_tested_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        users=sorted(a["principal"] for a in access if a["kind"] == "user"),
        groups=sorted(a["principal"] for a in access if a["kind"] == "group"),
        versions=versions_of(row),
        attention=json.loads(row.get("attention") or "[]"),
    )


def access_of(conn: sqlite3.Connection, guid: str) -> list[dict[str, Any]]:
    return rows(conn, "select kind, principal from connection_access where connection = ?", [guid])


def connection_records(
    conn: sqlite3.Connection, visible_to: str | None = None
) -> list[ConnectionRecord]:
    """All connections, or those a user may use: everyone-scoped, named, or via a group."""
    # Two queries in all, not one per connection: 10,000 connections list in one go.
    access: dict[str, list[Mapping[str, Any]]] = {}
    for guid, kind, principal in conn.execute(
        "select connection, kind, principal from connection_access"
    ).fetchall():
        access.setdefault(guid, []).append({"kind": kind, "principal": principal})
    records = [
        connection_record(r, access.get(r["guid"], []))
        for r in rows(conn, "select * from connections order by name")
    ]
    if visible_to is None:
        return records
    require(conn, "users", visible_to, "user")
    groups = set(groups_by_user(conn).get(visible_to, []))
    return [
        r
        for r in records
        if r.scope == EVERYONE or visible_to in r.users or groups.intersection(r.groups)
    ]


def require(conn: sqlite3.Connection, table: str, name: str, what: str) -> None:
    """NotFound naming the first known names, unless `table` has a row named `name`."""
    if not conn.execute(f"select count(*) from [{table}] where name = ?", [name]).fetchone()[0]:
        known = [r[0] for r in conn.execute(f"select name from [{table}] order by name")]
        shown = ", ".join(known[:10]) or "none yet"
        raise NotFound(f"no {what} named {name!r} (known: {shown})")


def groups_by_user(conn: sqlite3.Connection) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for user, group in conn.execute(
        "select user_name, group_name from memberships order by group_name"
    ):
        result.setdefault(user, []).append(group)
    return result


class RegistryReader:
    """A registry file opened read-only; `open` gives None when only `Registry` can serve."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open(cls, path: Path) -> RegistryReader | None:
        """The reader of `path`, or None: no such file, not a registry, or one whose schema
        is older than the code (the full `Registry` migrates it, or says what is wrong)."""
        if not path.is_file():
            return None
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        except sqlite3.Error:
            return None
        try:
            applied = {
                name
                for (name,) in conn.execute(
                    "select name from _sqlite_migrations where migration_set = ?",
                    [MIGRATION_SET],
                )
            }
        except sqlite3.Error:
            conn.close()
            return None
        if not applied.issuperset(MIGRATIONS):
            conn.close()
            return None
        return cls(conn)

    def close(self) -> None:
        self.conn.close()

    def connectors(self) -> list[ConnectorRecord]:
        return connector_records(self.conn)

    def connections(self, visible_to: str | None = None) -> list[ConnectionRecord]:
        return connection_records(self.conn, visible_to)
