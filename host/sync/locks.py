"""One connection is never synced by two workers at once: a lease lock keyed by its GUID.

Huey's own `lock_task` has no expiry, so a worker killed with SIGKILL would hold it forever;
these locks are leases instead, renewed while the pass runs and taken over once expired:

- with a Redis queue (ERPSYNC_QUEUE=redis://...), a redis-py `Lock` (SET NX PX) in that Redis,
  so workers on many machines share it;
- with the default SQLite queue, a row in crm.db (`sync_locks`), which every worker of this
  machine shares.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from host.crm.store import SqliteCrm

LEASE_SECONDS = 60.0


class ConnectionLock(Protocol):
    def acquire(self) -> bool: ...

    def renew(self) -> bool: ...

    def release(self) -> None: ...


class SqliteLock:
    """A lease row in crm.db; a lease whose owner on this host has died is taken over.

    Each operation runs on a connection of its own, never on the pass's: the lease is renewed
    from another thread while the pass applies a page in its transaction, and on a shared
    connection the renewal would join (or commit half of) that page's transaction. On its own
    connection it just waits for the page's commit (SQLite's write lock, busy timeout)."""

    def __init__(self, crm: SqliteCrm, guid: str, lease: float = LEASE_SECONDS) -> None:
        self.crm = crm
        self.guid = guid
        self.lease = lease
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        with self._transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS sync_locks (connection TEXT PRIMARY KEY, owner TEXT "
                "NOT NULL, expires REAL NOT NULL)"
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on a fresh connection to crm.db (the store's own connection
        for an in-memory store, which no other connection can see)."""
        from host.sqlite import immediate

        if self.crm.in_memory:
            with immediate(self.crm.conn):
                yield self.crm.conn
            return
        conn = sqlite3.connect(str(self.crm.path), timeout=60.0, isolation_level=None)
        try:
            with immediate(conn):
                yield conn
        finally:
            conn.close()

    def acquire(self) -> bool:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT owner, expires FROM sync_locks WHERE connection = ?", (self.guid,)
            ).fetchone()
            if row is not None and row[1] > time.time() and _alive(row[0]):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO sync_locks VALUES (?, ?, ?)",
                (self.guid, self.owner, time.time() + self.lease),
            )
        return True

    def renew(self) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE sync_locks SET expires = ? WHERE connection = ? AND owner = ?",
                (time.time() + self.lease, self.guid, self.owner),
            )
        return cursor.rowcount == 1

    def release(self) -> None:
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM sync_locks WHERE connection = ? AND owner = ?", (self.guid, self.owner)
            )


def _alive(owner: str) -> bool:
    """False when the owner ran on this host and its process is gone."""
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(rest.partition(":")[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


class RedisLock:
    """redis-py's Lock: SET NX with an expiry, extended while the pass runs."""

    def __init__(self, client: Any, guid: str, lease: float = LEASE_SECONDS) -> None:
        self._lock = client.lock(f"erpsync:sync-lock:{guid}", timeout=lease, blocking=False)
        self.lease = lease

    def acquire(self) -> bool:
        return bool(self._lock.acquire(blocking=False))

    def renew(self) -> bool:
        from redis.exceptions import LockError

        try:
            return bool(self._lock.reacquire())
        except LockError:
            return False

    def release(self) -> None:
        from redis.exceptions import LockError

        with contextlib.suppress(LockError):  # expired meanwhile: nothing to release
            self._lock.release()
