"""Sync settings per connection and actor type, kept in the registry.

- type settings: enabled, the CRM entity, whether new CRM records are created in the ERP;
- field mapping: ERP field -> CRM field, direction, shown in search, shown on the ERP tab,
  rank (the ERP field order on the ERP tab);
- list mapping: ERP list item -> CRM list item, one to one;
- default values for creating actors in the ERP: value, ask, mandatory (forced where the
  connector says the field is mandatory);
- schedule: sync priority (first served first) and interval.

Automatic mapping is lazy: `ensure_mapping` maps every actor type the connector offered on
the last save that has no settings yet (ERP keys named like CRM fields, with no direction).
Every command that reads settings calls it, and so does activation, so a connection saved by
any face gets its automatic mapping without that face knowing about sync.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
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
EXPORT_FORMAT = "erpsync-sync-settings/1"
DEFAULT_INTERVAL = 300
MIN_INTERVAL, MAX_INTERVAL = 60, 365 * 24 * 3600

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


# --- reading ---------------------------------------------------------------------------------


def _guid(registry: Registry, connection: str) -> str:
    return registry.connection(connection).guid


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


# --- changing --------------------------------------------------------------------------------


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
) -> Default:
    """A default for creating actors in the ERP; the value is checked against the field type."""
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
        else:
            try:
                new.value = coerce_value(erp, value)
            except FieldValueError as exc:
                raise SyncError(f"default for {actor_type}.{erp_field}: {exc}") from None
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


# --- lists -----------------------------------------------------------------------------------


def list_pairs(registry: Registry, guid: str) -> dict[tuple[str, str], list[str]]:
    """(ERP list, CRM list) pairs the field mapping needs -> the fields that need them."""
    pairs: dict[tuple[str, str], list[str]] = {}
    for settings in type_settings(registry, guid).values():
        crm_fields = fields_of(settings.entity)
        for fm in settings.fields:
            erp = settings.erp_fields.get(fm.erp_field)
            crm = crm_fields.get(fm.crm_field or "")
            if erp is None or crm is None or erp.type is not FieldType.LIST or crm.type != LIST:
                continue
            pairs.setdefault((erp.list_name, crm.list_name), []).append(
                f"{settings.actor_type}.{fm.erp_field}"
            )
    return pairs


def list_items(registry: Registry, guid: str) -> dict[str, dict[str, tuple[str, str]]]:
    """ERP list -> ERP item -> (CRM list, CRM item)."""
    result: dict[str, dict[str, tuple[str, str]]] = {}
    for row in registry.db.query("SELECT * FROM sync_list_items WHERE connection = ?", [guid]):
        result.setdefault(row["erp_list"], {})[row["erp_item"]] = (row["crm_list"], row["crm_item"])
    return result


def propose_list_mapping(
    erp_items: Mapping[str, str],
    crm_items: Mapping[str, str],
    existing: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """ERP item -> CRM item by key, then by text (case-insensitive), one to one; and the ERP
    items left unmapped. Existing mappings are kept."""
    mapping = dict(existing or {})
    used = set(mapping.values())
    crm_by_key = {k.casefold(): k for k in crm_items}
    crm_by_text = {t.casefold(): k for k, t in crm_items.items()}
    for key, text in erp_items.items():
        if key in mapping:
            continue
        for candidate in (crm_by_key.get(key.casefold()), crm_by_text.get(text.casefold())):
            if candidate is not None and candidate not in used:
                mapping[key] = candidate
                used.add(candidate)
                break
    unmapped = [k for k in erp_items if k not in mapping]
    return mapping, unmapped


def save_list_mapping(
    registry: Registry, guid: str, erp_list: str, crm_list: str, mapping: Mapping[str, str]
) -> None:
    values = list(mapping.values())
    if len(set(values)) != len(values):
        twice = next(v for v in values if values.count(v) > 1)
        raise SyncError(f"CRM item {crm_list}/{twice} is mapped twice; the mapping is one to one")
    with registry.transaction("sync.lists", f"{guid}/{erp_list}"):
        registry.db.execute(
            "DELETE FROM sync_list_items WHERE connection = ? AND erp_list = ?", [guid, erp_list]
        )
        for erp_item, crm_item in mapping.items():
            registry.db.execute(
                "INSERT INTO sync_list_items VALUES (?, ?, ?, ?, ?)",
                [guid, erp_list, erp_item, crm_list, crm_item],
            )


# --- schedule --------------------------------------------------------------------------------


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


# --- export / import -------------------------------------------------------------------------


def export_settings(registry: Registry, connection: str) -> dict[str, Any]:
    """A connection's sync settings as a JSON-able document (settings as code)."""
    record = registry.connection(connection)
    types = type_settings(registry, record.guid)
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "connection": record.name,
        "interval_seconds": interval_of(registry, record.guid),
        "types": {},
        "lists": {
            erp_list: {item: list(target) for item, target in items.items()}
            for erp_list, items in list_items(registry, record.guid).items()
        },
    }
    for actor_type, s in types.items():
        document["types"][actor_type] = {
            "enabled": s.enabled,
            "entity": s.entity,
            "create_in_erp": s.create_in_erp,
            "fields": [{k: v for k, v in asdict(f).items()} for f in s.fields],
            "defaults": [
                {"erp_field": d.erp_field, "value": d.value, "ask": d.ask, "mandatory": d.mandatory}
                for d in s.defaults.values()
                if d.value is not None or d.ask or (d.mandatory and not d.forced)
            ],
        }
    return document


def import_settings(registry: Registry, connection: str, document: Any) -> None:
    """Replace a connection's sync settings with an exported document, all or nothing."""
    record = registry.connection(connection)
    guid = record.guid
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise SyncError(f'not a sync settings file: expected "format": "{EXPORT_FORMAT}"')
    types = document.get("types")
    if not isinstance(types, dict):
        raise SyncError('sync settings file: "types" must be an object')
    current = type_settings(registry, guid)
    with registry.transaction("sync.import", record.name):
        for actor_type, data in types.items():
            if actor_type not in current:
                raise SyncError(f"sync settings file: the connection offers no {actor_type!r}")
            if not isinstance(data, dict):
                raise SyncError(f"sync settings file: types.{actor_type} must be an object")
            registry.db.execute(
                "UPDATE sync_fields SET crm_field = NULL, direction = '' WHERE connection = ? "
                "AND actor_type = ?",
                [guid, actor_type],
            )
            for item in data.get("fields") or []:
                try:
                    set_field(
                        registry,
                        guid,
                        actor_type,
                        str(item["erp_field"]),
                        crm_field=item.get("crm_field"),
                        direction=item.get("direction") or NONE,
                        in_search=bool(item.get("in_search")),
                        on_tab=bool(item.get("on_tab", True)),
                        rank=int(item.get("rank") or 0),
                    )
                except (KeyError, TypeError, ValueError) as exc:
                    raise SyncError(
                        f"sync settings file: types.{actor_type}.fields: {exc}"
                    ) from None
            registry.db.execute(
                "DELETE FROM sync_defaults WHERE connection = ? AND actor_type = ?",
                [guid, actor_type],
            )
            for item in data.get("defaults") or []:
                set_default(
                    registry,
                    guid,
                    actor_type,
                    str(item.get("erp_field")),
                    value=item.get("value"),
                    ask=bool(item.get("ask")),
                    mandatory=bool(item.get("mandatory")),
                )
            registry.db.execute(
                "UPDATE sync_types SET enabled = ?, create_in_erp = ? WHERE connection = ? AND "
                "actor_type = ?",
                [
                    int(bool(data.get("enabled"))),
                    int(bool(data.get("create_in_erp"))),
                    guid,
                    actor_type,
                ],
            )
        lists = document.get("lists") or {}
        if not isinstance(lists, dict):
            raise SyncError('sync settings file: "lists" must be an object')
        for erp_list, items in lists.items():
            crm_lists = {target[0] for target in items.values()}
            if len(crm_lists) > 1:
                raise SyncError(f"sync settings file: lists.{erp_list} maps to several CRM lists")
            if items:
                save_list_mapping(
                    registry,
                    guid,
                    erp_list,
                    crm_lists.pop(),
                    {k: str(v[1]) for k, v in items.items()},
                )
        if "interval_seconds" in document:
            set_interval(registry, guid, int(document["interval_seconds"]))
