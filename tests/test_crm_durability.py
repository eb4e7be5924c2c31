"""crm.db: WAL with synchronous=NORMAL, and FULL for what must be on disk before a call out."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.crm.store import SqliteCrm

NORMAL, FULL = 1, 2


def _synchronous(crm: SqliteCrm) -> int:
    return int(crm.conn.execute("PRAGMA synchronous").fetchone()[0])


def test_pages_commit_in_wal_with_synchronous_normal(tmp_path: Path) -> None:
    crm = SqliteCrm(tmp_path / "crm.db")
    try:
        assert crm.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with crm.transaction():
            assert _synchronous(crm) == NORMAL
    finally:
        crm.close()


def test_a_durable_transaction_commits_with_synchronous_full_then_back(tmp_path: Path) -> None:
    crm = SqliteCrm(tmp_path / "crm.db")
    try:
        with crm.durable_transaction():
            assert _synchronous(crm) == FULL
            crm.add("company", {"name": "kept"})
        assert _synchronous(crm) == NORMAL
        with pytest.raises(RuntimeError), crm.durable_transaction():
            crm.conn.execute("INSERT INTO clock VALUES ('other', 1)")
            raise RuntimeError("the call failed")
        assert _synchronous(crm) == NORMAL
        assert (
            crm.conn.execute("SELECT count(*) FROM clock WHERE name = 'other'").fetchone()[0] == 0
        )
        assert [r["name"] for r in crm.records("company")] == ["kept"]
        with crm.transaction(), crm.durable_transaction():  # nested: the open one decides
            assert _synchronous(crm) == NORMAL
    finally:
        crm.close()
