"""Export the home to one document: sorted and stable, so it diffs well in git; secrets as
references (those the last `erpsync apply` took them from, else the default environment
variable names), never values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.admin.ascode.document import (
    FORMAT,
    connection_secret_env,
    connector_token_env,
)
from host.admin.errors import admin_errors

if TYPE_CHECKING:
    from host.registry import Registry


def has_sync_settings(registry: Registry, guid: str) -> bool:
    """Whether anyone set up (or looked at) sync for this connection: only then are its
    settings exported, so a home without sync writes none and applies none."""
    tables = ("sync_types", "sync_list_items", "sync_defaults", "sync_schedule")
    found = " or ".join(f"exists(select 1 from {t} where connection = :guid)" for t in tables)
    row = registry.db.execute(f"select {found}", {"guid": guid}).fetchone()
    return bool(row[0])


def sync_document(registry: Registry, name: str) -> dict[str, Any]:
    """A connection's sync settings as host.sync.settings_file exports them (one code path),
    without the keys the home file already says (its format, the connection)."""
    from host.sync.settings import export_settings

    document = export_settings(registry, name)
    document.pop("format", None)
    document.pop("connection", None)
    # Types and lists by name, list items by key (the database has no order for them);
    # field mappings stay as exported: by rank, which means something.
    document["types"] = dict(sorted(document["types"].items()))
    document["lists"] = {
        erp_list: dict(sorted(items.items()))
        for erp_list, items in sorted(document["lists"].items())
    }
    return document


def sync_priority(registry: Registry) -> list[str]:
    """The connections with a sync priority, first served first (empty: none set)."""
    from host.sync.settings import schedule

    return [row["name"] for row in schedule(registry) if row["priority"] is not None]


def export_home(registry: Registry) -> dict[str, Any]:
    """The home as a document (see host.admin.ascode.document): every table sorted by name."""
    with admin_errors():
        return _export(registry)


def _unique(names: dict[str, str]) -> dict[str, str]:
    """Environment variable names made unique (two names may spell the same variable): a
    repeat gets _2, _3 ..., in the order of the sorted keys, so the result is stable."""
    taken: set[str] = set()
    result = {}
    for key in sorted(names):
        candidate, number = names[key], 2
        while candidate in taken:
            candidate = f"{names[key]}_{number}"
            number += 1
        taken.add(candidate)
        result[key] = candidate
    return result


def _export(registry: Registry) -> dict[str, Any]:
    document: dict[str, Any] = {"format": FORMAT}
    users = sorted(u["name"] for u in registry.users())
    if users:
        document["users"] = users
    groups = {g["name"]: sorted(g["members"]) for g in registry.groups()}
    if groups:
        document["groups"] = dict(sorted(groups.items()))

    from host.admin.ascode.refs import TOKEN, connection_owner, connector_owner, remembered

    known = remembered(registry)  # where the last apply took each secret from
    records = sorted(registry.connectors(), key=lambda c: c.name)
    token_envs = _unique({c.name: connector_token_env(c.name) for c in records if c.has_token})
    connectors: dict[str, Any] = {}
    for record in records:
        entry: dict[str, Any] = {"url": record.url}
        if record.has_token:
            ref = known.get((connector_owner(record.name), TOKEN))
            entry["token"] = ref.to_document() if ref else {"env": token_envs[record.name]}
        if record.ca_bundle:
            entry["ca_bundle"] = record.ca_bundle
        connectors[record.name] = entry
    if connectors:
        document["connectors"] = connectors

    connections: dict[str, Any] = {}
    conns = sorted(registry.connections(), key=lambda c: c.name)
    secret_envs = _unique(
        {
            f"{c.name}\0{key}": connection_secret_env(c.name, key)
            for c in conns
            for key in c.secret_keys
        }
    )
    for conn in conns:
        entry = {"connector": conn.connector, "scope": conn.scope}
        if conn.users:
            entry["users"] = sorted(conn.users)
        if conn.groups:
            entry["groups"] = sorted(conn.groups)
        entry["description"] = conn.description
        entry["active"] = conn.active
        config = dict(conn.config)
        for key in conn.secret_keys:
            ref = known.get((connection_owner(conn.guid), key))
            config[key] = ref.to_document() if ref else {"env": secret_envs[f"{conn.name}\0{key}"]}
        entry["config"] = dict(sorted(config.items()))
        if has_sync_settings(registry, conn.guid):
            entry["sync"] = sync_document(registry, conn.name)
        connections[conn.name] = entry
    if connections:
        document["connections"] = connections
    priority = sync_priority(registry)
    if priority:
        document["sync_priority"] = priority
    return document
