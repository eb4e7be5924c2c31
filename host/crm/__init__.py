"""The CRM side of sync: the host's own store, behind one small interface.

`CrmStore` is everything the sync (import, engine, CLI) asks of a CRM: records of the three
entities with a growing `updated` stamp, the CRM lists, links to ERP actors, and one
transaction that spans records, links and the sync state kept beside them (that is what makes
"apply a page and advance the stamp" atomic). `SqliteCrm` (host/crm/store.py) implements it in
`crm.db`, next to the registry; a real CRM would implement the same Protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from host.crm.store import SqliteCrm


class CrmError(Exception):
    """An expected failure of the CRM side; the message is one line for the admin."""


@dataclass
class Link:
    """A CRM record's link to one ERP actor of one connection.

    `synced` holds the mapped CRM field values both sides last agreed on: comparing it with
    the record and with the ERP's values tells which side changed a field (a three-way merge).
    """

    connection: str
    actor_type: str
    erp_key: str
    entity: str
    crm_id: int
    last_modified: str = ""
    synced: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "actor_type": self.actor_type,
            "erp_key": self.erp_key,
            "entity": self.entity,
            "crm_id": self.crm_id,
            "last_modified": self.last_modified,
        }


class CrmStore(Protocol):
    """What sync needs of a CRM. Records are dicts: `id`, `updated` and the entity's fields."""

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic change spanning records, links and sync state; nests as a no-op."""
        ...

    def get(self, entity: str, record_id: int) -> dict[str, Any] | None: ...

    def get_many(self, entity: str, ids: Iterable[int]) -> dict[int, dict[str, Any]]: ...

    def records(
        self, entity: str, *, search: str = "", limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]: ...

    def count(self, entity: str) -> int: ...

    def add(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]: ...

    def update(self, entity: str, record_id: int, values: Mapping[str, Any]) -> dict[str, Any]: ...

    def changed_since(self, entity: str, stamp: int, limit: int) -> list[dict[str, Any]]:
        """Records with `updated` > stamp, oldest change first."""
        ...

    def list_items(self, list_name: str) -> dict[str, str]: ...

    def links_for_keys(
        self, connection: str, actor_type: str, erp_keys: Sequence[str]
    ) -> dict[str, Link]: ...

    def links_for_records(
        self, connection: str, entity: str, ids: Iterable[int]
    ) -> dict[int, list[Link]]: ...

    def links_of(self, entity: str, record_id: int) -> list[Link]: ...

    def save_link(self, link: Link) -> Link:
        """Insert or update the link of (connection, actor_type, erp_key)."""
        ...

    def save_links(self, links: Iterable[Link]) -> None:
        """`save_link` for a page of links at once (their `id` is not read back)."""
        ...


def crm_path(registry_path: str | Path | None = None) -> Path:
    """crm.db lives beside the registry file (the same home)."""
    from host.home import default_db_path

    base = Path(registry_path) if registry_path else default_db_path()
    return base.parent / "crm.db"


def open_crm(registry_path: str | Path | None = None, *, in_memory: bool = False) -> SqliteCrm:
    """The host's CRM store next to the registry at `registry_path` (default: the home);
    `in_memory`: an empty store in its place, creating no file (for look-ups)."""
    from host.crm.store import SqliteCrm

    return SqliteCrm(crm_path(registry_path), in_memory=in_memory)


__all__ = ["CrmError", "CrmStore", "Link", "crm_path", "open_crm"]
