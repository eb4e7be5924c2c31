"""Sync schedule: connection priority (first served first) and each connection's interval."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from host.sync import SyncError

if TYPE_CHECKING:
    from host.registry import Registry

DEFAULT_INTERVAL = 300
MIN_INTERVAL, MAX_INTERVAL = 60, 365 * 24 * 3600


def schedule(registry: Registry) -> list[dict[str, Any]]:
    """Every connection in sync priority order (set priorities first, then by name)."""
    rows = registry.db.query(
        "SELECT c.guid, c.name, c.active, s.priority, coalesce(s.interval_seconds, ?) AS "
        "interval_seconds FROM connections c LEFT JOIN sync_schedule s ON s.connection = c.guid "
        "ORDER BY s.priority IS NULL, s.priority, c.name",
        [DEFAULT_INTERVAL],
    )
    return [{**r, "active": bool(r["active"])} for r in rows]


def set_priority(registry: Registry, names: Iterable[str]) -> None:
    """Named connections first, in this order; the others after them, by name."""
    ordered = list(names)
    if len(set(ordered)) != len(ordered):
        raise SyncError("a connection is named twice in the priority list")
    guids = [registry.connection(n).guid for n in ordered]
    with registry.transaction("sync.priority", ",".join(ordered)):
        registry.db.execute("UPDATE sync_schedule SET priority = NULL")
        for position, guid in enumerate(guids, start=1):
            registry.db.execute(
                "INSERT INTO sync_schedule (connection, priority) VALUES (?, ?) ON CONFLICT "
                "(connection) DO UPDATE SET priority = excluded.priority",
                [guid, position],
            )


def move(registry: Registry, name: str, offset: int) -> list[str]:
    """Move connection `name` up (offset -1) or down (+1) in the sync priority; every
    connection's position is then set. Returns the new order."""
    order = [row["name"] for row in schedule(registry)]
    if name not in order:
        registry.connection(name)  # the registry's own "no such connection"
        raise SyncError(f"connection {name!r} is not in the sync priority")
    at = order.index(name)
    to = max(0, min(len(order) - 1, at + offset))
    order.insert(to, order.pop(at))
    set_priority(registry, order)
    return order


def set_interval(registry: Registry, guid: str, seconds: int) -> None:
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise SyncError(
            f"interval {seconds}s is out of range; expected {MIN_INTERVAL}s (1 minute) to "
            f"{MAX_INTERVAL}s (1 year)"
        )
    with registry.transaction("sync.interval", guid):
        registry.db.execute(
            "INSERT INTO sync_schedule (connection, interval_seconds) VALUES (?, ?) ON CONFLICT "
            "(connection) DO UPDATE SET interval_seconds = excluded.interval_seconds",
            [guid, seconds],
        )


def interval_of(registry: Registry, guid: str) -> int:
    row = registry.db.execute(
        "SELECT interval_seconds FROM sync_schedule WHERE connection = ?", [guid]
    ).fetchone()
    return int(row[0]) if row else DEFAULT_INTERVAL
