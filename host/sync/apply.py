"""Apply ERP actors to the CRM store: create or update records and their links (ERP -> CRM).

Shared by import and the engine. Idempotent: records are found through their link
(connection, actor type, ERP key), so applying the same actor again updates, never duplicates;
an actor whose last_modified is not newer than the link's is skipped (the engine's own pushes
and pages re-read after a crash cost nothing).

Merge rule, per mapped field, against the value both sides last agreed on (`Link.synced`):
the side that changed it wins; when both changed it to different values, the ERP wins and the
field counts as a conflict (docs/sync.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host.crm import Link
from host.crm.schema import PARENT_ENTITY
from host.sync.mapping import MISSING, Mapper, same

if TYPE_CHECKING:
    from host.connector import Actor
    from host.crm.store import SqliteCrm


@dataclass
class Counts:
    read: int = 0
    created: int = 0
    updated: int = 0
    pushed: int = 0
    conflicts: int = 0
    errors: int = 0
    skipped: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        for name in ("read", "created", "updated", "pushed", "conflicts", "errors", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.messages.extend(other.messages[: max(0, 5 - len(self.messages))])

    def to_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "pushed": self.pushed,
            "conflicts": self.conflicts,
            "errors": self.errors,
        }


def apply_actors(
    crm: SqliteCrm,
    connection: str,
    mapper: Mapper,
    actors: Sequence[Actor],
    *,
    force: bool = False,
) -> tuple[Counts, str]:
    """Apply a page of actors of one type (inside the caller's transaction).

    Returns the counts and the newest last_modified of the page. `force` applies actors even
    when their stamp is not newer (a re-import).
    """
    counts = Counts(read=len(actors))
    if len({a.erp_key for a in actors}) != len(actors):  # the same actor twice: the newest wins
        actors = list(
            {a.erp_key: a for a in sorted(actors, key=lambda a: a.last_modified)}.values()
        )
    settings = mapper.settings
    entity = settings.entity
    newest = ""
    if not actors:
        return counts, newest
    links = crm.links_for_keys(connection, settings.actor_type, [a.erp_key for a in actors])
    records = crm.get_many(entity, [link.crm_id for link in links.values()])
    parents: dict[tuple[str, str], int] = {}
    if entity in PARENT_ENTITY:
        by_type: dict[str, list[str]] = {}
        for a in actors:
            if a.parent_erp_key:
                by_type.setdefault(a.parent_actor_type or "customer", []).append(a.parent_erp_key)
        for parent_type, keys in by_type.items():
            for key, parent in crm.links_for_keys(connection, parent_type, keys).items():
                parents[parent_type, key] = parent.crm_id
    inserts: list[tuple[Actor, dict[str, Any], dict[str, Any]]] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    new_links: list[Link] = []
    for actor in actors:
        if actor.last_modified > newest:
            newest = actor.last_modified
        link = links.get(actor.erp_key)
        if (
            link is not None
            and not force
            and actor.last_modified
            and link.last_modified
            and actor.last_modified <= link.last_modified
        ):
            counts.skipped += 1
            continue
        values = mapper.to_crm(actor.field_values)
        parent_id: Any = MISSING
        if entity in PARENT_ENTITY:
            parent_id = (
                parents.get((actor.parent_actor_type or "customer", actor.parent_erp_key))
                if actor.parent_erp_key
                else None
            )
        record = records.get(link.crm_id) if link is not None else None
        if link is None or record is None:
            row = values
            if parent_id is not MISSING:
                row = {**values, "company_id": parent_id}
            inserts.append((actor, row, values))
            continue
        change: dict[str, Any] = {}
        synced = dict(link.synced)
        for name, value in values.items():
            current, base = record.get(name), synced.get(name, MISSING)
            if same(current, value):
                synced[name] = value
            elif base is MISSING or same(current, base):
                change[name] = value
                synced[name] = value
            elif same(value, base):
                continue  # only the CRM changed it: kept, the push side sends it
            else:
                counts.conflicts += 1  # both changed it: the ERP wins
                change[name] = value
                synced[name] = value
        if parent_id is not MISSING and record.get("company_id") != parent_id:
            change["company_id"] = parent_id
        if change:
            updates.append((record["id"], change))
            record.update(change)
            counts.updated += 1
        link.synced = synced
        link.last_modified = actor.last_modified
        new_links.append(link)
    if inserts:
        ids = crm.insert_checked(entity, [row for _, row, _ in inserts])
        actor_type = settings.actor_type
        new_links.extend(
            Link(connection, actor_type, actor.erp_key, entity, crm_id, actor.last_modified, synced)
            for (actor, _, synced), crm_id in zip(inserts, ids, strict=True)
        )
        counts.created += len(inserts)
    crm.update_checked(entity, updates)
    crm.save_links(new_links)
    return counts, newest
