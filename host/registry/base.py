"""The registry's foundation: the SQLite database, one-transaction changes with their audit
record, and the GUID journal `doctor` reads. Every change runs in one `BEGIN IMMEDIATE`
transaction, so a failed or interrupted command leaves the old state or the new one, never
half, and two admins at once never lose an update.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Self

from host.home import default_db_path, make_private_dir
from host.registry import reader
from host.registry.records import (
    ConnectorRecord,
    RegistryMissing,
    current_admin,
    now,
)
from host.registry.secrets import SecretBox
from host.sqlite import immediate

SECRET_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("connector", "connectors", "token"),
    ("connection", "connections", "secrets"),
)
"""(kind, table, column) of every encrypted value in the registry: the one list the key's
checks, resets and rotation walk."""


class RegistryBase:
    """The database, its transactions, the audit log and the GUID journal: what every part
    of the registry writes through."""

    def __init__(
        self, path: Path, secret_box: SecretBox | None = None, *, in_memory: bool = False
    ) -> None:
        """`in_memory`: an empty registry that stands in for `path`, which is not created."""
        from sqlite_utils import Database

        from host.registry.migrations import migrations

        self.path = path
        self.in_memory = in_memory
        if not in_memory:
            make_private_dir(path.parent)
        if not in_memory and not path.exists():
            # Owner-only from the start; SQLite gives the -wal and -shm files the same mode.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = sqlite3.connect(":memory:" if in_memory else str(path), timeout=30.0)
        self.db = Database(conn)
        self.db.execute("PRAGMA busy_timeout=30000")
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        if migrations.pending(self.db):
            # Under the write lock, so two first-time commands never both create the schema.
            with self._immediate():
                migrations.apply(self.db)
        self.secrets = secret_box or SecretBox(path.parent, holds_secrets=self.holds_secrets)
        self._tokens: dict[str, str] = {}  # sealed token -> token, for scrubbing messages

    @classmethod
    def open(cls, db_path: str | Path | None = None, *, create: bool = True) -> Self:
        """The registry at `db_path` (default: in the erpsync home), created on first use;
        with `create=False` a missing file raises RegistryMissing instead."""
        path = Path(db_path) if db_path else default_db_path()
        if not create and not path.exists():
            raise RegistryMissing(f"no registry at {path}")
        return cls(path)

    def close(self) -> None:
        self.db.close()

    def _immediate(self) -> AbstractContextManager[None]:
        return immediate(self.db.conn)

    @contextmanager
    def transaction(self, action: str | None = None, target: str = "") -> Iterator[None]:
        """One atomic change; with `action`, its audit record is part of the same change."""
        with self._immediate():
            yield
            if action:
                self.audit(action, target)

    def holds_secrets(self) -> bool:
        """Whether any encrypted value is stored: then a missing key is never replaced."""
        found = " or ".join(
            f"exists(select 1 from {table} where {column} is not null)"
            for _kind, table, column in SECRET_COLUMNS
        )
        return bool(self.db.execute(f"select {found}").fetchone()[0])

    # --- audit -------------------------------------------------------------------------

    def audit(self, action: str, target: str, detail: str = "") -> None:
        self.db.table("audit").insert(
            {
                "at": now(),
                "who": current_admin(),
                "action": action,
                "target": target,
                "detail": detail,
            }
        )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.query(
            "select at, who, action, target, detail from audit order by id desc limit ?", [limit]
        )
        return list(rows)

    def _connector_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("connectors").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def _require(self, table: str, name: str, what: str) -> None:
        reader.require(self.db.conn, table, name, what)

    # --- GUID journal ------------------------------------------------------------------

    def journal_guid(self, guid: str, connector: ConnectorRecord) -> None:
        """Record, and commit, that this registry is about to hand `guid` to `connector`.

        Called before the connector's save: whatever happens next, `doctor` can tell a GUID
        this registry created and lost from one it never created (never to be deleted)."""
        import socket

        stamp = now()
        with self._immediate():
            self.db.table("guid_journal").insert(
                {
                    "guid": guid,
                    "connector": connector.name,
                    "url": connector.url,
                    "state": "handed",
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "created_at": stamp,
                    "updated_at": stamp,
                },
                replace=True,
            )

    def _journal(self, guid: str, connector: str, state: str) -> None:
        """Set a journal row's state (inside the caller's transaction), creating it if none."""
        stamp = now()
        updated = self.db.execute(
            "update guid_journal set state = ?, updated_at = ? where guid = ?", [state, stamp, guid]
        ).rowcount
        if not updated:
            row = self._connector_row(connector)
            self.db.table("guid_journal").insert(
                {
                    "guid": guid,
                    "connector": connector,
                    "url": row["url"] if row else "",
                    "state": state,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )

    def journal(self) -> dict[str, dict[str, Any]]:
        """Every journalled GUID -> its row."""
        return {r["guid"]: r for r in self.db.table("guid_journal").rows}

    def mark_journal(self, guid: str, state: str, action: str, target: str, detail: str) -> None:
        """Set a journal row's state together with an audit record (doctor's repairs)."""
        with self.transaction():
            self.db.execute(
                "update guid_journal set state = ?, updated_at = ? where guid = ?",
                [state, now(), guid],
            )
            self.audit(action, target, detail)
