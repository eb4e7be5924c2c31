"""A connection's sync settings as a file (settings as code): export, and import all or nothing."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from host.sync import SyncError
from host.sync.edits import set_default, set_field
from host.sync.fieldmap import NONE, type_settings
from host.sync.lists import list_items, save_list_mapping
from host.sync.priority import interval_of, set_interval

if TYPE_CHECKING:
    from host.registry import Registry

EXPORT_FORMAT = "erpsync-sync-settings/1"
SETTINGS_FILE_LIMIT = 16 * 1024 * 1024
"""An exported sync settings file is far smaller; a larger one is not one."""


def parse_settings_file(raw: bytes | str, source: str) -> Any:
    """The JSON document of a settings file read from `source` (a path or an upload's name)."""
    import json

    try:
        return json.loads(raw)
    except ValueError as exc:
        raise SyncError(f"{source}: not a JSON file ({exc})") from None


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
    """Replace a connection's sync settings with an exported document, all or nothing; a
    malformed part is refused with where it is (nothing of the file is kept)."""
    try:
        _import(registry, connection, document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SyncError(f"sync settings file: a value has the wrong shape ({exc})") from None


def _import(registry: Registry, connection: str, document: Any) -> None:
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
