"""The read-only lists (`connections list`, `connectors list`) without the full registry.

They read through `RegistryReader` (plain sqlite3, `mode=ro`), so they never create or
migrate a registry and import neither sqlite-utils, cryptography, httpx nor asyncio. Each
gives None when the reader cannot serve (no file, not a registry, an older schema): the
caller then takes the full path through `Registry`, which says what is wrong or migrates.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.admin.errors import from_registry_error

if TYPE_CHECKING:
    from host.registry import ConnectionRecord, ConnectorRecord
    from host.registry.reader import RegistryReader


def connector_rows(
    connectors: Iterable[ConnectorRecord], connections: Iterable[ConnectionRecord]
) -> list[dict[str, Any]]:
    """Every connector (token shown as ****) with how many connections use it."""
    counts: dict[str, int] = {}
    for conn in connections:
        counts[conn.connector] = counts.get(conn.connector, 0) + 1
    return [{**c.to_dict(), "connections": counts.get(c.name, 0)} for c in connectors]


def _reader(db_path: str | Path | None) -> RegistryReader | None:
    from host.home import default_db_path
    from host.registry.reader import RegistryReader

    return RegistryReader.open(Path(db_path) if db_path else default_db_path())


def list_connections(
    db_path: str | Path | None, visible_to: str | None = None
) -> list[dict[str, Any]] | None:
    """As host.admin.connections.list_all, or None when only the full registry can serve."""
    from host.registry import RegistryError

    reader = _reader(db_path)
    if reader is None:
        return None
    try:
        return [c.to_dict() for c in reader.connections(visible_to)]
    except RegistryError as exc:
        raise from_registry_error(exc) from exc
    finally:
        reader.close()


def list_connectors(db_path: str | Path | None) -> list[dict[str, Any]] | None:
    """As host.admin.connectors.list_all, or None when only the full registry can serve."""
    reader = _reader(db_path)
    if reader is None:
        return None
    try:
        return connector_rows(reader.connectors(), reader.connections())
    finally:
        reader.close()
