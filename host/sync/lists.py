"""List mapping of one connection: ERP list item -> CRM list item, one to one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from host.connector import FieldType
from host.crm.schema import LIST, fields_of
from host.sync import SyncError
from host.sync.fieldmap import type_settings

if TYPE_CHECKING:
    from host.registry import Registry


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
