"""The connector host's memory of connections: GUID -> config, per connector.

The admin side is the source of truth: when the host restarts and forgets a GUID it answers
`unknown_connection`, and the client re-sends its stored config. Keeping it in memory means no
secret of any ERP ever touches the connector host's disk. With several worker processes the
memory of one is not the others': `SharedConnectionStore` keeps the map in one SQLite file,
encrypted, for the life of the server.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ConnectionStore:
    """Thread-safe GUID -> config map; connectors run in worker threads."""

    def __init__(self) -> None:
        self._configs: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, connector_id: str, guid: str) -> dict[str, Any] | None:
        with self._lock:
            config = self._configs.get((connector_id, guid))
            return dict(config) if config is not None else None

    def put(self, connector_id: str, guid: str, config: Mapping[str, Any]) -> None:
        with self._lock:
            self._configs[(connector_id, guid)] = dict(config)

    def delete(self, connector_id: str, guid: str) -> bool:
        with self._lock:
            return self._configs.pop((connector_id, guid), None) is not None

    def guids(self, connector_id: str) -> list[str]:
        with self._lock:
            return sorted(g for (c, g) in self._configs if c == connector_id)


class SharedConnectionStore(ConnectionStore):
    """GUID -> config in a SQLite file, so every worker process of one server answers every
    connection (`erpsync serve --workers N`).

    The file is created empty, owner-only (0600), when the server starts and removed when it
    stops: like the in-memory store it lives as long as the server, and the admin side stays
    the source of truth. Each config is stored encrypted whole (Fernet, the registry's key
    machinery: ERPSYNC_SECRET_KEY or the key file in the same directory), so ERP passwords
    are never on disk in clear. A config the key cannot decrypt counts as unknown: the client
    re-sends it.
    """

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS connections (connector TEXT NOT NULL, guid TEXT NOT NULL, "
        "sealed TEXT NOT NULL, PRIMARY KEY (connector, guid))"
    )

    def __init__(self, path: Path) -> None:
        super().__init__()
        from host.registry.secrets import SecretBox

        self.path = path
        self._box = SecretBox(path.parent)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=10000")

    @classmethod
    def create(cls, path: Path) -> SharedConnectionStore:
        """A fresh, empty store file (an old one at `path` is replaced), and the key made."""
        from host.home import make_private_dir

        make_private_dir(path.parent)
        remove_store(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        store = cls(path)
        store._db.execute("PRAGMA journal_mode=WAL")
        store._db.execute(cls.SCHEMA)
        store._box.encrypt("")  # the key file exists before any worker needs it
        return store

    def get(self, connector_id: str, guid: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT sealed FROM connections WHERE connector = ? AND guid = ?",
                (connector_id, guid),
            ).fetchone()
        if row is None:
            return None
        from host.registry.secrets import SecretKeyError

        try:
            config = json.loads(self._box.decrypt(row[0]))
        except (SecretKeyError, ValueError):
            return None  # unknown to this server: the client re-sends the config
        return config if isinstance(config, dict) else None

    def put(self, connector_id: str, guid: str, config: Mapping[str, Any]) -> None:
        sealed = self._box.encrypt(json.dumps(dict(config)))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO connections VALUES (?, ?, ?)",
                (connector_id, guid, sealed),
            )

    def delete(self, connector_id: str, guid: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM connections WHERE connector = ? AND guid = ?", (connector_id, guid)
            )
        return cursor.rowcount > 0

    def guids(self, connector_id: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT guid FROM connections WHERE connector = ? ORDER BY guid", (connector_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def remove_store(path: Path) -> None:
    """Remove a store file and SQLite's companions (-wal, -shm) of it."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
