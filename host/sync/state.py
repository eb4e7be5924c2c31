"""Sync state kept in crm.db beside the records: ERP cursors, CRM stamps, status, runs, jobs.

It lives in the CRM's file on purpose: applying a page of ERP changes to CRM records and
advancing the connection's stamp past that page is then ONE SQLite transaction, so a crash
at any point leaves either both or neither (nothing lost, nothing applied twice).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.crm.store import SqliteCrm
    from host.registry import Registry

IDLE, RUNNING, FAILING, STOPPED = "idle", "running", "failing", "stopped"


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def ensure_schema(crm: SqliteCrm) -> None:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    migrations = Migrations("erpsync-sync-state")

    @migrations()
    def m001_sync_state(db: Database) -> None:
        db.execute(
            "CREATE TABLE sync_cursors (connection TEXT NOT NULL, actor_type TEXT NOT NULL, "
            "erp_stamp TEXT NOT NULL DEFAULT '', pass_since TEXT, pass_cursor TEXT, "
            "pass_max TEXT NOT NULL DEFAULT '', PRIMARY KEY (connection, actor_type))"
        )
        db.execute(
            "CREATE TABLE sync_status (connection TEXT PRIMARY KEY, status TEXT NOT NULL, "
            "reason TEXT NOT NULL DEFAULT '', failures INTEGER NOT NULL DEFAULT 0, "
            "crm_stamp INTEGER NOT NULL DEFAULT 0, last_run_at TEXT, next_due_at TEXT, "
            "worker TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL)"
        )
        db.execute(
            "CREATE TABLE sync_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, connection TEXT NOT "
            "NULL, started_at TEXT NOT NULL, ended_at TEXT, start_seq INTEGER NOT NULL, "
            "end_seq INTEGER, worker TEXT NOT NULL, status TEXT NOT NULL, read INTEGER NOT NULL "
            "DEFAULT 0, created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0, "
            "pushed INTEGER NOT NULL DEFAULT 0, conflicts INTEGER NOT NULL DEFAULT 0, errors "
            "INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '')"
        )
        db.execute("CREATE INDEX sync_runs_connection ON sync_runs (connection, id)")
        db.execute(
            "CREATE TABLE import_jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, connection TEXT NOT "
            "NULL, actor_type TEXT NOT NULL, criteria TEXT NOT NULL, cursor TEXT NOT NULL "
            "DEFAULT '', done INTEGER NOT NULL DEFAULT 0, read INTEGER NOT NULL DEFAULT 0, "
            "created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0, max_stamp "
            "TEXT NOT NULL DEFAULT '', started_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        db.execute(
            "CREATE TABLE pending_creates (connection TEXT NOT NULL, actor_type TEXT NOT NULL, "
            "entity TEXT NOT NULL, crm_id INTEGER NOT NULL, sent TEXT NOT NULL, since TEXT NOT "
            "NULL, PRIMARY KEY (connection, actor_type, crm_id))"
        )
        db.execute("INSERT INTO clock VALUES ('runs', 0)")

    if migrations.pending(crm.db):
        with crm.transaction():
            migrations.apply(crm.db)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- ERP cursors ---------------------------------------------------------------------------


@dataclass
class Cursor:
    """Where the ERP -> CRM side of one actor type stands.

    `erp_stamp` is the stamp the next pass asks changes since. While a pass is under way,
    `pass_since` / `pass_cursor` say where it is (committed with each applied page), and
    `pass_max` is the newest last_modified it applied; the pass's end moves `erp_stamp` to it.
    """

    erp_stamp: str = ""
    pass_since: str | None = None
    pass_cursor: str | None = None
    pass_max: str = ""


def get_cursor(crm: SqliteCrm, connection: str, actor_type: str) -> Cursor:
    row = crm.conn.execute(
        "SELECT erp_stamp, pass_since, pass_cursor, pass_max FROM sync_cursors "
        "WHERE connection = ? AND actor_type = ?",
        (connection, actor_type),
    ).fetchone()
    return Cursor(*row) if row else Cursor()


def save_cursor(crm: SqliteCrm, connection: str, actor_type: str, cursor: Cursor) -> None:
    crm.conn.execute(
        "INSERT INTO sync_cursors VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (connection, actor_type) "
        "DO UPDATE SET erp_stamp = excluded.erp_stamp, pass_since = excluded.pass_since, "
        "pass_cursor = excluded.pass_cursor, pass_max = excluded.pass_max",
        (
            connection,
            actor_type,
            cursor.erp_stamp,
            cursor.pass_since,
            cursor.pass_cursor,
            cursor.pass_max,
        ),
    )


def crm_stamp(crm: SqliteCrm, connection: str, entity: str) -> int:
    """The CRM -> ERP stamp of one entity: records updated after it are not pushed yet."""
    found = get_cursor(crm, connection, f"crm:{entity}").erp_stamp
    return int(found) if found else 0


def set_crm_stamp(crm: SqliteCrm, connection: str, entity: str, stamp: int) -> None:
    save_cursor(crm, connection, f"crm:{entity}", Cursor(str(stamp)))


def cursors(crm: SqliteCrm, connection: str) -> dict[str, Cursor]:
    rows = crm.conn.execute(
        "SELECT actor_type, erp_stamp, pass_since, pass_cursor, pass_max FROM sync_cursors "
        "WHERE connection = ? ORDER BY actor_type",
        (connection,),
    )
    return {r[0]: Cursor(*r[1:]) for r in rows}


# --- status --------------------------------------------------------------------------------


def status(crm: SqliteCrm, connection: str) -> dict[str, Any]:
    row = crm.conn.execute(
        "SELECT status, reason, failures, crm_stamp, last_run_at, next_due_at, worker, "
        "updated_at FROM sync_status WHERE connection = ?",
        (connection,),
    ).fetchone()
    if row is None:
        return {
            "status": IDLE,
            "reason": "",
            "failures": 0,
            "crm_stamp": 0,
            "last_run_at": None,
            "next_due_at": None,
            "worker": "",
            "updated_at": None,
        }
    keys = (
        "status",
        "reason",
        "failures",
        "crm_stamp",
        "last_run_at",
        "next_due_at",
        "worker",
        "updated_at",
    )
    return dict(zip(keys, row, strict=True))


def overview(registry: Registry, crm: SqliteCrm) -> list[dict[str, Any]]:
    """Every connection in sync priority order with its status and last run: what
    `erpsync sync status` prints and the web's priority page shows."""
    from host.sync.priority import schedule

    rows = []
    for position, row in enumerate(schedule(registry), start=1):
        st = status(crm, row["guid"])
        last = runs(crm, row["guid"], 1)
        rows.append(
            {
                "priority": position,
                "connection": row["name"],
                "active": row["active"],
                "status": st["status"],
                "reason": st["reason"],
                "failures": st["failures"],
                "interval_seconds": row["interval_seconds"],
                "last_run_at": st["last_run_at"],
                "next_due_at": st["next_due_at"],
                "last_run": last[0] if last else None,
            }
        )
    return rows


def set_status(crm: SqliteCrm, connection: str, **changes: Any) -> None:
    current = status(crm, connection)
    current.update(changes, updated_at=now())
    crm.conn.execute(
        "INSERT OR REPLACE INTO sync_status (connection, status, reason, failures, crm_stamp, "
        "last_run_at, next_due_at, worker, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            connection,
            current["status"],
            current["reason"],
            current["failures"],
            current["crm_stamp"],
            current["last_run_at"],
            current["next_due_at"],
            current["worker"],
            current["updated_at"],
        ),
    )


def _seq(crm: SqliteCrm) -> int:
    row = crm.conn.execute(
        "UPDATE clock SET value = value + 1 WHERE name = 'runs' RETURNING value"
    ).fetchone()
    return int(row[0])


def start_run(crm: SqliteCrm, connection: str) -> int:
    """A run row and status `running`; `start_seq` orders runs across processes."""
    with crm.transaction():
        cursor = crm.conn.execute(
            "INSERT INTO sync_runs (connection, started_at, start_seq, worker, status) "
            "VALUES (?, ?, ?, ?, ?)",
            (connection, now(), _seq(crm), worker_id(), RUNNING),
        )
        set_status(crm, connection, status=RUNNING, worker=worker_id())
    return int(cursor.lastrowid or 0)


def update_run(crm: SqliteCrm, run_id: int, counts: dict[str, int]) -> None:
    """Counts so far (inside the caller's transaction, with the page they describe)."""
    crm.conn.execute(
        "UPDATE sync_runs SET read = ?, created = ?, updated = ?, pushed = ?, conflicts = ?, "
        "errors = ? WHERE id = ?",
        (
            counts.get("read", 0),
            counts.get("created", 0),
            counts.get("updated", 0),
            counts.get("pushed", 0),
            counts.get("conflicts", 0),
            counts.get("errors", 0),
            run_id,
        ),
    )


def finish_run(
    crm: SqliteCrm, run_id: int, counts: dict[str, int], run_status: str, message: str
) -> None:
    with crm.transaction():
        update_run(crm, run_id, counts)
        crm.conn.execute(
            "UPDATE sync_runs SET ended_at = ?, end_seq = ?, status = ?, message = ? WHERE id = ?",
            (now(), _seq(crm), run_status, message, run_id),
        )


def runs(crm: SqliteCrm, connection: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    where, params = ("WHERE connection = ?", [connection]) if connection else ("", [])
    cursor = crm.conn.execute(
        f"SELECT * FROM sync_runs {where} ORDER BY id DESC LIMIT ?", [*params, limit]
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- import jobs ---------------------------------------------------------------------------


def find_job(
    crm: SqliteCrm, connection: str, actor_type: str, criteria: dict[str, Any]
) -> dict[str, Any] | None:
    """The unfinished import job with exactly these criteria (to resume it), if any."""
    text = json.dumps(criteria, sort_keys=True)
    cursor = crm.conn.execute(
        "SELECT * FROM import_jobs WHERE connection = ? AND actor_type = ? AND criteria = ? "
        "AND done = 0 ORDER BY id DESC LIMIT 1",
        (connection, actor_type, text),
    )
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def job(crm: SqliteCrm, job_id: int) -> dict[str, Any] | None:
    cursor = crm.conn.execute("SELECT * FROM import_jobs WHERE id = ?", (job_id,))
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def jobs(crm: SqliteCrm, limit: int = 20) -> list[dict[str, Any]]:
    cursor = crm.conn.execute("SELECT * FROM import_jobs ORDER BY id DESC LIMIT ?", (limit,))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def new_job(crm: SqliteCrm, connection: str, actor_type: str, criteria: dict[str, Any]) -> int:
    with crm.transaction():
        cursor = crm.conn.execute(
            "INSERT INTO import_jobs (connection, actor_type, criteria, started_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (connection, actor_type, json.dumps(criteria, sort_keys=True), now(), now()),
        )
    return int(cursor.lastrowid or 0)


def advance_job(crm: SqliteCrm, job_id: int, **changes: Any) -> None:
    """Record a job's progress (inside the transaction of the page it imported)."""
    changes["updated_at"] = now()
    sets = ", ".join(f"{k} = ?" for k in changes)
    crm.conn.execute(f"UPDATE import_jobs SET {sets} WHERE id = ?", [*changes.values(), job_id])


# --- pending creates -----------------------------------------------------------------------


def add_pending(
    crm: SqliteCrm,
    connection: str,
    actor_type: str,
    entity: str,
    crm_id: int,
    sent: dict[str, Any],
    since: str,
) -> None:
    with crm.durable_transaction():  # on disk before the ERP is asked to create
        crm.conn.execute(
            "INSERT OR REPLACE INTO pending_creates VALUES (?, ?, ?, ?, ?, ?)",
            (connection, actor_type, entity, crm_id, json.dumps(sent, default=str), since),
        )


def drop_pending(crm: SqliteCrm, connection: str, actor_type: str, crm_id: int) -> None:
    crm.conn.execute(
        "DELETE FROM pending_creates WHERE connection = ? AND actor_type = ? AND crm_id = ?",
        (connection, actor_type, crm_id),
    )


def pending(crm: SqliteCrm, connection: str) -> list[dict[str, Any]]:
    rows = crm.conn.execute(
        "SELECT actor_type, entity, crm_id, sent, since FROM pending_creates WHERE connection = ?",
        (connection,),
    )
    return [
        {"actor_type": t, "entity": e, "crm_id": i, "sent": json.loads(s), "since": since}
        for t, e, i, s, since in rows
    ]
