"""Field mapping of one connection: the settings model, which types convert, automatic
mapping, reading the settings and checking them before activation.

- type settings: enabled, the CRM entity, whether new CRM records are created in the ERP;
- field mapping: ERP field -> CRM field, direction, shown in search, shown on the ERP tab,
  rank (the ERP field order on the ERP tab);
- default values for creating actors in the ERP: value, ask, mandatory (forced where the
  connector says the field is mandatory).

Automatic mapping is lazy: `ensure_mapping` maps every actor type the connector offered on
the last save that has no settings yet (ERP keys named like CRM fields, with no direction).
Every command that reads settings calls it, and so does activation, so a connection saved by
any face gets its automatic mapping without that face knowing about sync.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host.connector import Access, Field, FieldType
from host.crm.schema import (
    CHECKBOX,
    DATETIME,
    DOUBLE,
    ENTITY_OF_ACTOR_TYPE,
    INTEGER,
    LINK_ONLY_FIELDS,
    LIST,
    TEXT,
    CrmField,
    fields_of,
)
from host.sync import SyncError

if TYPE_CHECKING:
    from host.registry import Registry

ERP_TO_CRM, CRM_TO_ERP, BOTH, NONE = "erp_to_crm", "crm_to_erp", "both", ""
DIRECTIONS = (ERP_TO_CRM, CRM_TO_ERP, BOTH)

# Which CRM field types an ERP field type converts to (ERP -> CRM), and back (CRM -> ERP).
_TO_CRM: dict[str, tuple[str, ...]] = {
    FieldType.TEXT: (TEXT,),
    FieldType.INTEGER: (INTEGER, DOUBLE, TEXT),
    FieldType.DOUBLE: (DOUBLE, TEXT),
    FieldType.CHECKBOX: (CHECKBOX, TEXT),
    FieldType.DATETIME: (DATETIME, TEXT),
    FieldType.LIST: (LIST, TEXT),
}
_TO_ERP: dict[str, tuple[str, ...]] = {
    FieldType.TEXT: (TEXT,),
    FieldType.INTEGER: (INTEGER,),
    FieldType.DOUBLE: (DOUBLE, INTEGER),
    FieldType.CHECKBOX: (CHECKBOX,),
    FieldType.DATETIME: (DATETIME,),
    FieldType.LIST: (LIST,),
}
"""ERP type -> CRM types whose values it accepts."""


@dataclass
class FieldMap:
    erp_field: str
    crm_field: str | None
    direction: str = NONE
    in_search: bool = False
    on_tab: bool = True
    rank: int = 0

    @property
    def pulls(self) -> bool:
        return bool(self.crm_field) and self.direction in (ERP_TO_CRM, BOTH)

    @property
    def pushes(self) -> bool:
        return bool(self.crm_field) and self.direction in (CRM_TO_ERP, BOTH)


@dataclass
class Default:
    erp_field: str
    value: Any = None
    ask: bool = False
    mandatory: bool = False
    forced: bool = False


@dataclass
class TypeSettings:
    """Everything sync needs for one actor type of one connection."""

    actor_type: str
    entity: str
    enabled: bool = False
    create_in_erp: bool = False
    fields: list[FieldMap] = field(default_factory=list)
    erp_fields: dict[str, Field] = field(default_factory=dict)
    searchable: list[str] = field(default_factory=list)
    defaults: dict[str, Default] = field(default_factory=dict)

    @property
    def pulled(self) -> list[FieldMap]:
        return [f for f in self.fields if f.pulls]

    @property
    def pushed(self) -> list[FieldMap]:
        return [f for f in self.fields if f.pushes]


def convert_reason(erp: Field, crm: CrmField, direction: str) -> str | None:
    """Why ERP field `erp` cannot sync with CRM field `crm` in `direction`; None if it can."""
    where = f"{erp.key} ({erp.type.value}) and {crm.name} ({crm.type})"
    if crm.name in LINK_ONLY_FIELDS:
        return f"{crm.name} is set from the ERP parent, not from a field"
    if erp.type in (FieldType.PASSWORD, FieldType.LABEL):
        return f"{erp.key} is a {erp.type.value} field; it holds no actor data"
    if direction in (ERP_TO_CRM, BOTH) and crm.type not in _TO_CRM.get(erp.type, ()):
        return f"{where}: an ERP {erp.type.value} cannot be stored in a CRM {crm.type}"
    if direction in (CRM_TO_ERP, BOTH):
        if erp.access is Access.READONLY:
            return f"{erp.key} is read-only in the ERP; it can only sync ERP -> CRM"
        if crm.type not in _TO_ERP.get(erp.type, ()):
            return f"{where}: a CRM {crm.type} cannot be written to an ERP {erp.type.value}"
    return None


def best_direction(erp: Field, crm: CrmField) -> str:
    for direction in (BOTH, ERP_TO_CRM, CRM_TO_ERP):
        if convert_reason(erp, crm, direction) is None:
            return direction
    return NONE


def proposal(settings: TypeSettings) -> dict[str, tuple[str, str]]:
    """The automatic mapping's proposal for one actor type: ERP field -> (CRM field,
    direction), for fields mapped without a direction yet and for unmapped fields whose key
    names a free CRM field. Only mappings whose types convert are proposed."""
    crm_fields = fields_of(settings.entity)
    by_name = {name.casefold(): f for name, f in crm_fields.items()}
    taken = {f.crm_field for f in settings.fields if f.crm_field}
    proposed: dict[str, tuple[str, str]] = {}
    for fm in settings.fields:
        erp = settings.erp_fields.get(fm.erp_field)
        if erp is None or fm.direction:
            continue
        crm = crm_fields.get(fm.crm_field or "")
        if crm is None:
            crm = by_name.get(fm.erp_field.casefold())
            if crm is None or crm.name in taken:
                continue
        direction = best_direction(erp, crm)
        if direction:
            proposed[fm.erp_field] = (crm.name, direction)
            taken.add(crm.name)
    return proposed


# --- reading ---------------------------------------------------------------------------------


def _cache(registry: Registry, guid: str) -> dict[str, tuple[dict[str, Field], list[str]]]:
    cached = registry.actor_types(guid)
    return {
        t: ({f["key"]: Field.from_dict(f) for f in data["fields"]}, list(data["searchable"]))
        for t, data in cached.items()
    }


def ensure_mapping(registry: Registry, guid: str) -> list[str]:
    """Automatic mapping for every cached actor type without settings; returns those types."""
    cache = _cache(registry, guid)
    known = {
        r["actor_type"]
        for r in registry.db.query("SELECT actor_type FROM sync_types WHERE connection = ?", [guid])
    }
    todo = [t for t in cache if t not in known and t in ENTITY_OF_ACTOR_TYPE]
    if not todo:
        return []
    with registry.transaction():
        for actor_type in todo:
            entity = ENTITY_OF_ACTOR_TYPE[actor_type]
            erp_fields, searchable = cache[actor_type]
            registry.db.execute(
                "INSERT OR IGNORE INTO sync_types (connection, actor_type, enabled, entity) "
                "VALUES (?, ?, 0, ?)",
                [guid, actor_type, entity],
            )
            crm_fields = {name.casefold(): f for name, f in fields_of(entity).items()}
            taken: set[str] = set()
            for erp in erp_fields.values():
                crm = crm_fields.get(erp.key.casefold())
                mapped = None
                if crm is not None and crm.name not in taken and best_direction(erp, crm):
                    mapped = crm.name
                    taken.add(crm.name)
                registry.db.execute(
                    "INSERT OR IGNORE INTO sync_fields (connection, actor_type, erp_field, "
                    "crm_field, direction, in_search, on_tab, rank) "
                    "VALUES (?, ?, ?, ?, '', ?, 1, ?)",
                    [guid, actor_type, erp.key, mapped, int(erp.key in searchable), erp.rank],
                )
    return todo


def type_settings(registry: Registry, guid: str) -> dict[str, TypeSettings]:
    """Settings of every actor type of the connection, in the connector's order."""
    ensure_mapping(registry, guid)
    cache = _cache(registry, guid)
    result: dict[str, TypeSettings] = {}
    for row in registry.db.query(
        "SELECT actor_type, enabled, entity, create_in_erp FROM sync_types WHERE connection = ?",
        [guid],
    ):
        erp_fields, searchable = cache.get(row["actor_type"], ({}, []))
        result[row["actor_type"]] = TypeSettings(
            row["actor_type"],
            row["entity"],
            bool(row["enabled"]),
            bool(row["create_in_erp"]),
            erp_fields=erp_fields,
            searchable=searchable,
        )
    for row in registry.db.query(
        "SELECT * FROM sync_fields WHERE connection = ? ORDER BY rank, erp_field", [guid]
    ):
        settings = result.get(row["actor_type"])
        if settings is not None and row["erp_field"] in settings.erp_fields:
            settings.fields.append(
                FieldMap(
                    row["erp_field"],
                    row["crm_field"],
                    row["direction"],
                    bool(row["in_search"]),
                    bool(row["on_tab"]),
                    row["rank"],
                )
            )
    for settings in result.values():
        for key, erp in settings.erp_fields.items():
            forced = erp.access is Access.MANDATORY
            settings.defaults[key] = Default(key, None, False, forced, forced)
    for row in registry.db.query("SELECT * FROM sync_defaults WHERE connection = ?", [guid]):
        settings = result.get(row["actor_type"])
        if settings is None or row["erp_field"] not in settings.defaults:
            continue
        d = settings.defaults[row["erp_field"]]
        d.value = json.loads(row["value"]) if row["value"] is not None else None
        d.ask = bool(row["ask"])
        d.mandatory = d.forced or bool(row["mandatory"])
    order = list(cache)
    return dict(sorted(result.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))


def one_type(registry: Registry, guid: str, actor_type: str) -> TypeSettings:
    all_types = type_settings(registry, guid)
    found = all_types.get(actor_type)
    if found is None:
        offered = ", ".join(all_types) or "none cached; test and save the connection again"
        raise SyncError(f"the connection offers no actor type {actor_type!r} (offered: {offered})")
    return found


def field_problems(settings: TypeSettings) -> list[str]:
    """Every mapped field that cannot convert any more (e.g. after the connector changed)."""
    problems = []
    crm_fields = fields_of(settings.entity)
    for fm in settings.fields:
        if not fm.crm_field or not fm.direction:
            continue
        crm = crm_fields.get(fm.crm_field)
        erp = settings.erp_fields.get(fm.erp_field)
        if crm is None or erp is None:
            problems.append(f"{settings.actor_type}.{fm.erp_field}: field no longer exists")
            continue
        reason = convert_reason(erp, crm, fm.direction)
        if reason:
            problems.append(f"{settings.actor_type}.{reason}")
    return problems


def activation_reasons(registry: Registry, guid: str) -> list[str]:
    """What the sync settings lack before the connection can be activated (empty: nothing)."""
    types = type_settings(registry, guid)
    enabled = [t for t in types.values() if t.enabled]
    if not enabled:
        return ["no actor type enabled for sync (erpsync mapping enable CONNECTION TYPE)"]
    reasons = []
    for settings in enabled:
        if not any(f.direction and f.crm_field for f in settings.fields):
            reasons.append(
                f"actor type {settings.actor_type} has no field mapped with a direction "
                "(erpsync mapping set ... --direction)"
            )
        reasons.extend(field_problems(settings))
    return reasons
