"""Changing the sync settings of one actor type: enable/disable, create in the ERP, one
field's mapping, the ERP tab order, defaults for creating actors in the ERP. Every change is
checked against the connector's fields and the CRM schema before it is written (and audited).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from host.crm.schema import LINK_ONLY_FIELDS, fields_of
from host.sync import SyncError
from host.sync.fieldmap import (
    BOTH,
    DIRECTIONS,
    ERP_TO_CRM,
    NONE,
    Default,
    FieldMap,
    TypeSettings,
    best_direction,
    convert_reason,
    one_type,
    proposal,
)

if TYPE_CHECKING:
    from host.registry import Registry


def enable(
    registry: Registry, guid: str, actor_type: str, *, direction: str = "auto"
) -> TypeSettings:
    """Enable sync of an actor type; fields mapped without a direction get `direction`
    ("auto": both ways where the types allow, else ERP -> CRM)."""
    settings = one_type(registry, guid, actor_type)
    crm_fields = fields_of(settings.entity)
    with registry.transaction("sync.enable", f"{guid}/{actor_type}"):
        registry.db.execute(
            "UPDATE sync_types SET enabled = 1 WHERE connection = ? AND actor_type = ?",
            [guid, actor_type],
        )
        for fm in settings.fields:
            if not fm.crm_field or fm.direction:
                continue
            erp, crm = settings.erp_fields[fm.erp_field], crm_fields[fm.crm_field]
            chosen = best_direction(erp, crm) if direction == "auto" else direction
            if direction != "auto" and convert_reason(erp, crm, chosen):
                chosen = best_direction(erp, crm) if chosen == BOTH else NONE
            registry.db.execute(
                "UPDATE sync_fields SET direction = ? WHERE connection = ? AND actor_type = ? "
                "AND erp_field = ?",
                [chosen, guid, actor_type, fm.erp_field],
            )
    return one_type(registry, guid, actor_type)


def disable(registry: Registry, guid: str, actor_type: str) -> None:
    one_type(registry, guid, actor_type)
    with registry.transaction("sync.disable", f"{guid}/{actor_type}"):
        registry.db.execute(
            "UPDATE sync_types SET enabled = 0 WHERE connection = ? AND actor_type = ?",
            [guid, actor_type],
        )


def set_create_in_erp(registry: Registry, guid: str, actor_type: str, on: bool) -> None:
    one_type(registry, guid, actor_type)
    with registry.transaction("sync.create-in-erp", f"{guid}/{actor_type}"):
        registry.db.execute(
            "UPDATE sync_types SET create_in_erp = ? WHERE connection = ? AND actor_type = ?",
            [int(on), guid, actor_type],
        )


_UNSET: Any = object()


def set_field(
    registry: Registry,
    guid: str,
    actor_type: str,
    erp_field: str,
    *,
    crm_field: str | None = _UNSET,
    direction: str = _UNSET,
    in_search: bool = _UNSET,
    on_tab: bool = _UNSET,
    rank: int = _UNSET,
) -> FieldMap:
    """Change one field's mapping; a mapping whose types cannot convert is refused."""
    settings = one_type(registry, guid, actor_type)
    erp = settings.erp_fields.get(erp_field)
    if erp is None:
        raise SyncError(
            f"{actor_type} has no ERP field {erp_field!r} (fields: "
            f"{', '.join(settings.erp_fields)})"
        )
    current = next(f for f in settings.fields if f.erp_field == erp_field)
    new = FieldMap(**asdict(current))
    if crm_field is not _UNSET:
        new.crm_field = crm_field or None
    if direction is not _UNSET:
        if direction not in (*DIRECTIONS, NONE):
            raise SyncError(
                f"direction {direction!r} is not one of {', '.join(DIRECTIONS)} (or none)"
            )
        new.direction = direction
    if in_search is not _UNSET:
        if in_search and erp_field not in settings.searchable:
            raise SyncError(
                f"{actor_type}.{erp_field} is not a searchable field of the connector "
                f"(searchable: {', '.join(settings.searchable)})"
            )
        new.in_search = in_search
    if on_tab is not _UNSET:
        new.on_tab = on_tab
    if rank is not _UNSET:
        new.rank = rank
    crm_fields = fields_of(settings.entity)
    if new.crm_field:
        crm = crm_fields.get(new.crm_field)
        if crm is None:
            names = ", ".join(n for n in crm_fields if n not in LINK_ONLY_FIELDS)
            raise SyncError(f"CRM {settings.entity} has no field {new.crm_field!r} ({names})")
        reason = convert_reason(erp, crm, new.direction or ERP_TO_CRM)
        if reason:
            raise SyncError(f"mapping refused: {reason}")
        other = next(
            (
                f
                for f in settings.fields
                if f.crm_field == new.crm_field and f.erp_field != erp_field
            ),
            None,
        )
        if other is not None:
            raise SyncError(
                f"CRM field {settings.entity}.{new.crm_field} is already mapped to "
                f"{actor_type}.{other.erp_field}; unmap that first (--crm-field '')"
            )
    elif new.direction:
        raise SyncError(f"{actor_type}.{erp_field} has no CRM field; give --crm-field first")
    with registry.transaction("sync.map", f"{guid}/{actor_type}.{erp_field}"):
        registry.db.execute(
            "UPDATE sync_fields SET crm_field = ?, direction = ?, in_search = ?, on_tab = ?, "
            "rank = ? WHERE connection = ? AND actor_type = ? AND erp_field = ?",
            [
                new.crm_field,
                new.direction,
                int(new.in_search),
                int(new.on_tab),
                new.rank,
                guid,
                actor_type,
                erp_field,
            ],
        )
    return new


def set_order(registry: Registry, guid: str, actor_type: str, erp_fields: list[str]) -> None:
    """The ERP field order on the ERP tab: the named fields first, in this order."""
    settings = one_type(registry, guid, actor_type)
    unknown = [f for f in erp_fields if f not in settings.erp_fields]
    if unknown:
        raise SyncError(f"{actor_type} has no ERP field {unknown[0]!r}")
    rest = [f.erp_field for f in settings.fields if f.erp_field not in erp_fields]
    with registry.transaction("sync.order", f"{guid}/{actor_type}"):
        for rank, key in enumerate([*erp_fields, *rest], start=1):
            registry.db.execute(
                "UPDATE sync_fields SET rank = ? WHERE connection = ? AND actor_type = ? AND "
                "erp_field = ?",
                [rank * 10, guid, actor_type, key],
            )


def set_default(
    registry: Registry,
    guid: str,
    actor_type: str,
    erp_field: str,
    *,
    value: Any = _UNSET,
    ask: bool = _UNSET,
    mandatory: bool = _UNSET,
    list_items: Mapping[str, str] | None = None,
) -> Default:
    """A default for creating actors in the ERP; the value is checked against the field type,
    and against the ERP list's items (`list_items`, asked of the connector by the caller: see
    host.sync.lists.set_default_checked) for a list field, so a create never fails on it later.
    A secret field takes no default: it would be stored and shown in clear."""
    from host.protocol.values import FieldValueError, coerce_value

    settings = one_type(registry, guid, actor_type)
    erp = settings.erp_fields.get(erp_field)
    if erp is None:
        raise SyncError(f"{actor_type} has no ERP field {erp_field!r}")
    if not erp.settable:
        raise SyncError(f"{actor_type}.{erp_field} is {erp.access.value}; the ERP sets it")
    current = settings.defaults[erp_field]
    new = Default(**asdict(current))
    if value is not _UNSET:
        if value is None or value == "":
            new.value = None
        elif erp.is_secret:
            raise SyncError(
                f"{actor_type}.{erp_field} is a secret field; it takes no default value "
                "(use --ask to ask for it on create)"
            )
        else:
            try:
                new.value = coerce_value(erp, value)
            except FieldValueError as exc:
                raise SyncError(f"default for {actor_type}.{erp_field}: {exc}") from None
            if list_items is not None and str(new.value) not in list_items:
                offered = ", ".join(sorted(list_items)[:10]) or "none"
                more = ", ..." if len(list_items) > 10 else ""
                raise SyncError(
                    f"default for {actor_type}.{erp_field}: {str(new.value)!r} is not an item of "
                    f"ERP list {erp.list_name} (items: {offered}{more})"
                )
    if ask is not _UNSET:
        new.ask = ask
    if mandatory is not _UNSET:
        if not mandatory and current.forced:
            raise SyncError(f"{actor_type}.{erp_field} is mandatory in the ERP; it stays mandatory")
        new.mandatory = mandatory or current.forced
    with registry.transaction("sync.default", f"{guid}/{actor_type}.{erp_field}"):
        registry.db.execute(
            "INSERT OR REPLACE INTO sync_defaults VALUES (?, ?, ?, ?, ?, ?)",
            [
                guid,
                actor_type,
                erp_field,
                None if new.value is None else json.dumps(new.value),
                int(new.ask),
                int(new.mandatory),
            ],
        )
    return new


def apply_proposal(registry: Registry, guid: str, actor_type: str) -> dict[str, tuple[str, str]]:
    """Map every field the automatic mapping proposes (host.sync.fieldmap.proposal), in one
    change; returns what was mapped."""
    settings = one_type(registry, guid, actor_type)
    proposed = proposal(settings)
    with registry.transaction("sync.propose", f"{guid}/{actor_type}"):
        for erp_field, (crm_field, direction) in proposed.items():
            registry.db.execute(
                "UPDATE sync_fields SET crm_field = ?, direction = ? WHERE connection = ? AND "
                "actor_type = ? AND erp_field = ?",
                [crm_field, direction, guid, actor_type, erp_field],
            )
    return proposed


def move_field(registry: Registry, guid: str, actor_type: str, erp_field: str, offset: int) -> None:
    """Move one ERP field up (offset -1) or down (+1) in the ERP tab order."""
    settings = one_type(registry, guid, actor_type)
    order = [f.erp_field for f in settings.fields]
    if erp_field not in order:
        raise SyncError(f"{actor_type} has no ERP field {erp_field!r}")
    at = order.index(erp_field)
    to = max(0, min(len(order) - 1, at + offset))
    order.insert(to, order.pop(at))
    set_order(registry, guid, actor_type, order)
