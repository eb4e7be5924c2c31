"""Where `erpsync apply` took each secret from, so `erpsync export` writes the same reference.

A file may name its own variables or files (`password = { file = "secrets/acme.pw" }`);
without a record of them an export would write the default names instead, and the file in
git would change on every round trip. Only the reference is kept (registry table
`secret_refs`, migration m006), never a value.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from host.admin.ascode.document import Desired, SecretRef

if TYPE_CHECKING:
    from host.registry import Registry

TOKEN = "token"


def connector_owner(name: str) -> str:
    return f"connector:{name}"


def connection_owner(guid: str) -> str:
    return f"connection:{guid}"


def remembered(registry: Registry) -> dict[tuple[str, str], SecretRef]:
    """(owner, key) -> the reference the last apply took that secret from."""
    found: dict[tuple[str, str], SecretRef] = {}
    for owner, key, raw in registry.db.execute("SELECT owner, key, ref FROM secret_refs"):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(data, dict) or len(data) != 1:
            continue
        ((kind, where),) = data.items()
        if kind in ("env", "file") and isinstance(where, str) and where:
            found[(owner, key)] = SecretRef(**{kind: where})
    return found


def remember(registry: Registry, desired: Desired) -> None:
    """Record the references of every connector and connection of `desired` that the home
    holds (those a failed apply did not reach are skipped), replacing what was recorded."""
    from host.registry.records import NotFound

    owners: list[str] = []
    rows: list[tuple[str, str, str]] = []
    for spec in desired.connectors.values():
        try:
            registry.connector(spec.name)
        except NotFound:
            continue
        owners.append(connector_owner(spec.name))
        if spec.token is not None:
            rows.append((owners[-1], TOKEN, json.dumps(spec.token.to_document())))
    for conn in desired.connections.values():
        try:
            record = registry.connection(conn.name)
        except NotFound:
            continue
        owners.append(connection_owner(record.guid))
        for key, value in conn.config.items():
            if isinstance(value, SecretRef):
                rows.append((owners[-1], key, json.dumps(value.to_document())))
    with registry.transaction():
        registry.db.conn.executemany(
            "DELETE FROM secret_refs WHERE owner = ?", [(o,) for o in owners]
        )
        registry.db.conn.executemany("INSERT INTO secret_refs VALUES (?, ?, ?)", rows)
