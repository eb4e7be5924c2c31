"""The ERP tab of a CRM record: its linked actors' fields, fetched live, read-only, in order.

Only fields marked "on ERP tab" are shown, in the configured ERP field order (rank). Values
come straight from the connector and are untrusted: they are shown as text, bounded in size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.crm import Link
    from host.registry import Registry

MAX_VALUE_CHARS = 500


def _shown(value: Any) -> str:
    text = "" if value is None else str(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS] + "..."
    return text


async def erp_tabs(registry: Registry, links: list[Link]) -> list[dict[str, Any]]:
    """One tab per link; a connector that fails gives that tab an `error`, not an exception."""
    from host.admin.clients import client_for_connector  # the one way clients are made
    from host.failures import ConnectorClientError
    from host.sync.fieldmap import type_settings

    tabs = []
    for link in links:
        record = registry.connection_by_guid(link.connection)
        tab: dict[str, Any] = {
            "connection_name": record.name if record else link.connection,
            "actor_type": link.actor_type,
            "erp_key": link.erp_key,
            "fields": [],
        }
        tabs.append(tab)
        if record is None:
            tab["error"] = "the connection was removed"
            continue
        settings = type_settings(registry, record.guid).get(link.actor_type)
        if settings is None:
            tab["error"] = "the connector no longer offers this actor type"
            continue
        shown = [f for f in sorted(settings.fields, key=lambda f: f.rank) if f.on_tab]
        client = client_for_connector(registry, registry.connector(record.connector))
        try:
            async with client:
                actors = await client.get_actors(
                    record.guid, link.actor_type, [link.erp_key], [f.erp_field for f in shown]
                )
        except ConnectorClientError as exc:
            tab["error"] = str(exc)
            continue
        if not actors:
            tab["error"] = "the ERP no longer has this actor"
            continue
        values = actors[0].field_values
        for f in shown:
            erp = settings.erp_fields[f.erp_field]
            tab["fields"].append(
                {
                    "key": f.erp_field,
                    "label": erp.display_name,
                    "value": _shown(values.get(f.erp_field)),
                }
            )
    return tabs
