"""The SQLite lease lock of a connection: on its own connection, never inside a pass's page."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from host.crm.store import SqliteCrm
from host.sync.locks import SqliteLock

GUARD = 30.0  # seconds: only so that a broken lock fails instead of hanging


def _expires(crm: SqliteCrm, guid: str) -> float:
    return float(
        crm.conn.execute("SELECT expires FROM sync_locks WHERE connection = ?", (guid,)).fetchone()[
            0
        ]
    )


def test_one_holder_at_a_time_and_free_after_release(tmp_path: Path) -> None:
    crm = SqliteCrm(tmp_path / "crm.db")
    try:
        first, second = SqliteLock(crm, "g1"), SqliteLock(crm, "g1")
        assert first.acquire()
        assert not second.acquire()
        first.release()
        assert second.acquire()
    finally:
        crm.close()


def test_a_renewal_during_a_page_transaction_neither_joins_nor_splits_it(tmp_path: Path) -> None:
    """The pass applies a page in its transaction while the lease is renewed from another
    thread: the renewal waits for the page and survives the page's rollback."""
    crm = SqliteCrm(tmp_path / "crm.db")
    try:
        lock = SqliteLock(crm, "g1")
        assert lock.acquire()
        before = _expires(crm, "g1")
        renewed: list[bool] = []
        attempted = threading.Event()

        def renew() -> None:
            attempted.set()
            renewed.append(lock.renew())

        worker = threading.Thread(target=renew)
        with pytest.raises(RuntimeError), crm.transaction():
            crm.add("company", {"name": "a page's record"})
            worker.start()
            attempted.wait(GUARD)
            worker.join(0.3)  # on the store's connection the renewal would run inside this page
            raise RuntimeError("the page failed")
        worker.join(GUARD)
        assert renewed == [True]
        assert _expires(crm, "g1") > before  # the renewal was not rolled back with the page
        assert crm.count("company") == 0  # and the page was not committed by it
    finally:
        crm.close()
