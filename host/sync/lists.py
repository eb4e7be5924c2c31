"""List mapping of one connection: ERP list item -> CRM list item, one to one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from host.connector import FieldType
from host.crm.schema import LIST, fields_of
from host.sync import SyncError
from host.sync.fieldmap import Default, TypeSettings, one_type, type_settings

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.crm import CrmStore
    from host.registry import ConnectionRecord, Registry


def _client_of(registry: Registry, record: ConnectionRecord) -> ConnectorClient:
    """The client for a connection's connector; a token the key cannot open or a stored URL
    that is no longer valid is a SyncError (one line on every face), not a crash."""
    from host.admin.clients import client_for_connector
    from host.admin.errors import AdminError, admin_errors

    try:
        with admin_errors():
            return client_for_connector(registry, registry.connector(record.connector))
    except AdminError as exc:
        raise SyncError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


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


async def list_rows(
    registry: Registry,
    crm: CrmStore,
    connection: str,
    *,
    auto: bool | str = False,
    wanted: Mapping[str, Mapping[str, str]] | None = None,
    only: str | None = None,
) -> list[dict[str, Any]]:
    """The list mapping rows of `connection` (only actor type `only`'s lists when given),
    after proposing by key or name (`auto`: every list, or the ERP list it names) and
    applying `wanted` (ERP list -> ERP item -> CRM item, "" unmaps). Every list is saved in
    one transaction: a refused item leaves every list as it was. One row per ERP item;
    `crm_item` None means unmapped.

    The ERP lists are asked of the connector (the ones mapped list fields use); the CLI's
    `mapping lists` and the web's list mapping both call this.
    """
    record = registry.connection(connection)
    pairs_needed = list_pairs(registry, record.guid)
    if only is not None:
        pairs_needed = {
            k: v for k, v in pairs_needed.items() if any(u.startswith(f"{only}.") for u in v)
        }
    wanted = {k: dict(v) for k, v in (wanted or {}).items()}
    named = [*wanted, *([auto] if isinstance(auto, str) else [])]
    unknown = [erp_list for erp_list in named if erp_list not in {e for e, _ in pairs_needed}]
    if unknown:
        raise SyncError(
            f"no mapped list field uses ERP list {unknown[0]!r} "
            f"(lists in use: {', '.join(e for e, _ in pairs_needed) or 'none'})"
        )
    erp_lists: dict[str, dict[str, str]] = {}
    if pairs_needed:
        async with _client_of(registry, record) as client:
            for erp_list, _ in pairs_needed:
                erp_lists[erp_list] = await client.get_list(record.guid, erp_list)
    current = list_items(registry, record.guid)
    changed: list[tuple[str, str, dict[str, str]]] = []
    rows: list[dict[str, Any]] = []
    for (erp_list, crm_list), used_by in pairs_needed.items():
        erp_items = erp_lists.get(erp_list, {})
        crm_items = crm.list_items(crm_list)
        before = {k: v[1] for k, v in current.get(erp_list, {}).items()}
        mapping = dict(before)
        if auto is True or auto == erp_list:
            mapping, _ = propose_list_mapping(erp_items, crm_items, mapping)
        for erp_item, crm_item in wanted.get(erp_list, {}).items():
            if erp_item not in erp_items:
                raise SyncError(f"ERP list {erp_list} has no item {erp_item!r}")
            if crm_item == "":
                mapping.pop(erp_item, None)
            elif crm_item not in crm_items:
                raise SyncError(
                    f"CRM list {crm_list} has no item {crm_item!r} (items: {', '.join(crm_items)})"
                )
            else:
                mapping[erp_item] = crm_item
        if mapping != before:  # saved (and audited) only when it changed; a CRM item
            # mapped twice is refused by save_list_mapping, and every list rolls back
            changed.append((erp_list, crm_list, mapping))
        for erp_item, text in erp_items.items():
            mapped_to = mapping.get(erp_item)
            rows.append(
                {
                    "erp_list": erp_list,
                    "erp_item": erp_item,
                    "erp_text": text,
                    "crm_list": crm_list,
                    "crm_item": mapped_to,
                    "crm_text": crm_items.get(mapped_to or ""),
                    "used_by": used_by,
                }
            )
    if changed:
        with registry.transaction():
            for erp_list, crm_list, mapping in changed:
                save_list_mapping(registry, record.guid, erp_list, crm_list, mapping)
    return rows


@dataclass
class Enabled:
    """What enabling an actor type did: its settings, the list mapping rows of its list
    fields after mapping their items by key or name, and why they could not be (or "")."""

    settings: TypeSettings
    rows: list[dict[str, Any]]
    lists_error: str = ""


async def enable_with_lists(
    registry: Registry,
    crm: CrmStore,
    connection: str,
    actor_type: str,
    *,
    direction: str = "auto",
    lists: bool = True,
) -> Enabled:
    """Enable "sync ERP `actor_type` to CRM <entity>", then (with `lists`) map the items of
    the lists its list fields use, by key then by name, keeping item mappings already set.

    Without the second step a mapped list field (a customer's COUNTRY -> the company's
    country) stays empty in the CRM until the admin maps the list; enabling is when they
    expect it mapped. A connector that cannot say its lists does not stop the enabling:
    `lists_error` says why (every face shows it as a warning).
    """
    from host.crm import CrmError
    from host.failures import ConnectorClientError
    from host.sync.edits import enable

    record = registry.connection(connection)
    settings = enable(registry, record.guid, actor_type, direction=direction)
    if not lists:
        return Enabled(settings, [])
    try:
        rows = await list_rows(registry, crm, connection, auto=True, only=actor_type)
    except (ConnectorClientError, SyncError, CrmError) as exc:
        return Enabled(settings, [], str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return Enabled(settings, rows)


async def set_default_checked(
    registry: Registry,
    guid: str,
    actor_type: str,
    erp_field: str,
    **changes: Any,
) -> Default:
    """host.sync.edits.set_default, with a list field's value checked against the items of
    its ERP list as the connector says them now (the CLI's `defaults set` and the web's
    defaults both call this). A default that is not an item would make every create in the
    ERP fail; the connector is asked only when a list field gets a value.
    """
    from host.failures import ConnectorClientError
    from host.sync.edits import set_default

    value = changes.get("value")
    erp = one_type(registry, guid, actor_type).erp_fields.get(erp_field)
    items: dict[str, str] | None = None
    if erp is not None and erp.type is FieldType.LIST and value not in (None, ""):
        record = registry.connection_by_guid(guid)
        if record is None:
            raise SyncError("the connection was removed")
        try:
            async with _client_of(registry, record) as client:
                items = await client.get_list(guid, erp.list_name)
        except ConnectorClientError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SyncError(
                f"default for {actor_type}.{erp_field}: cannot check it against ERP list "
                f"{erp.list_name}: {first}"
            ) from None
    return set_default(registry, guid, actor_type, erp_field, list_items=items, **changes)
