"""Sync jobs on Huey: SqliteHuey in the home by default, RedisHuey with ERPSYNC_QUEUE=redis://.

`sync run` executes the same task in immediate mode (in this process, now); `sync worker`
runs a Huey consumer, and a scheduler thread that enqueues every active connection when its
interval has passed, in sync priority order. Whichever worker takes a task first takes the
connection's lease lock (host/sync/locks.py); a second task for the same connection finds it
held and is skipped, so a connection is never synced by two workers at once.
"""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.sync import SyncError

if TYPE_CHECKING:
    from huey import Huey

ENV_QUEUE = "ERPSYNC_QUEUE"
QUEUE_NAME = "erpsync-sync"


def queue_url() -> str:
    return os.environ.get(ENV_QUEUE, "").strip()


def is_redis(url: str | None = None) -> bool:
    return (url if url is not None else queue_url()).startswith(
        ("redis://", "rediss://", "unix://")
    )


def make_huey(db_path: str | None, *, immediate: bool = False) -> Huey:
    """The queue: Redis when ERPSYNC_QUEUE names one, else a SQLite file beside the registry."""
    from huey import RedisHuey, SqliteHuey

    from host.home import default_db_path

    url = queue_url()
    huey: Huey
    if is_redis(url):
        huey = RedisHuey(QUEUE_NAME, url=url, immediate_use_memory=False, results=True)
    elif url in ("", "sqlite") or url.startswith("sqlite:"):
        path = url[len("sqlite:") :].lstrip("/") if url.startswith("sqlite:") else ""
        base = Path(db_path) if db_path else default_db_path()
        filename = ("/" + path) if path else str(base.parent / "queue.db")
        huey = SqliteHuey(QUEUE_NAME, filename=filename, immediate_use_memory=False)
    else:
        raise SyncError(
            f"{ENV_QUEUE}={url!r} is not a queue URL; expected redis://host:port/db or unset "
            "(SQLite in the home)"
        )
    huey.immediate = immediate
    register_tasks(huey)
    return huey


def register_tasks(huey: Huey) -> None:
    @huey.task(name="sync_connection")
    def sync_connection(db_path: str | None, guid: str, page_size: int = 500) -> dict[str, Any]:
        return sync_one(db_path, guid, page_size=page_size)

    huey.sync_connection = sync_connection


def connection_lock(crm: Any, guid: str) -> Any:
    from host.sync.locks import RedisLock, SqliteLock

    if is_redis():
        import redis

        return RedisLock(redis.Redis.from_url(queue_url()), guid)
    return SqliteLock(crm, guid)


def sync_one(db_path: str | None, guid: str, *, page_size: int = 500) -> dict[str, Any]:
    """One pass for connection `guid` under its lock; {"skipped": ...} if another has it."""
    from host.admin.clients import client_for_connector  # the one way clients are made
    from host.crm import open_crm
    from host.registry import Registry
    from host.sync.engine import run_connection

    registry = Registry.open(db_path)
    crm = open_crm(registry.path)
    try:
        record = registry.connection_by_guid(guid)
        if record is None:
            return {"skipped": "connection removed"}
        lock = connection_lock(crm, guid)
        if not lock.acquire():
            return {"skipped": "locked", "connection": record.name}
        try:
            return asyncio.run(
                _with_renewal(
                    lock,
                    run_connection(
                        registry, crm, record, client_for_connector, page_size=page_size
                    ),
                )
            )
        finally:
            lock.release()
    finally:
        crm.close()
        registry.close()


async def _with_renewal(lock: Any, work: Any) -> Any:
    """Run `work`, renewing the lease a few times per lease period."""
    from host.sync.locks import LEASE_SECONDS

    async def renew() -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 4)
            await asyncio.to_thread(lock.renew)

    keeper = asyncio.ensure_future(renew())
    try:
        return await work
    finally:
        keeper.cancel()


def claim_due(db_path: str | None) -> list[str]:
    """GUIDs of the connections due now, in priority order, each claimed for one interval so
    two schedulers never enqueue the same one twice."""
    from host.crm import open_crm
    from host.registry import Registry
    from host.sync import state
    from host.sync.engine import due_connections
    from host.sync.settings import interval_of

    registry = Registry.open(db_path)
    crm = open_crm(registry.path)
    try:
        claimed = []
        for record in due_connections(registry, crm):
            now = datetime.now(UTC).replace(microsecond=0)
            later = (now + timedelta(seconds=interval_of(registry, record.guid))).isoformat()
            with crm.transaction():
                st = state.status(crm, record.guid)
                if st["next_due_at"] and st["next_due_at"] > now.isoformat():
                    continue  # another scheduler claimed it meanwhile
                state.set_status(crm, record.guid, next_due_at=later)
            claimed.append(record.guid)
        return claimed
    finally:
        crm.close()
        registry.close()


def enqueue(huey: Huey, db_path: str | None, guids: list[str], page_size: int = 500) -> int:
    for guid in guids:
        huey.sync_connection(db_path, guid, page_size)
    return len(guids)


def run_worker(
    db_path: str | None, *, workers: int = 2, tick: float = 30.0, schedule: bool = True
) -> None:
    """A Huey consumer (threads) plus, with `schedule`, a thread enqueueing due connections."""
    huey = make_huey(db_path)
    stop = threading.Event()

    def scheduler() -> None:
        while not stop.is_set():
            try:
                enqueue(huey, db_path, claim_due(db_path))
            except Exception as exc:
                import logging

                logging.getLogger("erpsync.sync").warning("scheduler: %s", exc)
            stop.wait(tick)

    if schedule:
        threading.Thread(target=scheduler, name="erpsync-scheduler", daemon=True).start()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False)
    try:
        consumer.run()
    finally:
        stop.set()
