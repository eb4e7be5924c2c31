"""SQLite writes under one rule: an explicit `BEGIN IMMEDIATE` transaction, all or nothing.

The registry and the CRM store both write this way; IMMEDIATE takes the write lock up front,
so a reader never has to upgrade (and fail with "database is locked") halfway through a
change, and a failure rolls the whole change back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on `conn`; inside an open one, part of it (no nesting)."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
