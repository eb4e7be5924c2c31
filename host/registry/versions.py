"""What versions a connection's config is known to fit, and why an upgrade broke it.

Written by host.admin.upgrades (at a passing test and save, and by upgrade checks); the
columns come from migration m005_app_versions. Plain functions over a `Registry`, so the
registry's layers stay as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from host.registry.reader import rows, versions_of
from host.registry.records import now

if TYPE_CHECKING:
    from host.registry import Registry


def baseline(registry: Registry, guid: str) -> dict[str, Any] | None:
    """The recorded versions, declaration (list of field dicts) and config version of a
    connection; None when it has none (saved before versions were recorded)."""
    found = rows(
        registry.db.conn,
        "select connector_version, protocol_version, app, app_distribution, app_version, "
        "fields_fingerprint, config_fields, config_version from connections where guid = ?",
        [guid],
    )
    if not found or found[0]["config_fields"] is None:
        return None
    row = found[0]
    return {
        **versions_of(row),
        "fields": json.loads(row["config_fields"]),
        "config_version": row["config_version"],
    }


def record_baseline(
    registry: Registry,
    guid: str,
    versions: Mapping[str, Any],
    fields: Sequence[Mapping[str, Any]],
    *,
    config_version: str | None,
) -> None:
    """Record what the connection's config now fits, and clear its needs-attention mark."""
    with registry.transaction():
        registry.db.table("connections").update(
            guid,
            {
                **versions_of(versions),
                "config_fields": json.dumps(list(fields), sort_keys=True),
                "config_version": config_version,
                "attention": None,
            },
        )


def set_attention(registry: Registry, guid: str, reasons: Sequence[str]) -> bool:
    """Mark a connection as needing attention (or clear it, with no reasons); True when the
    mark changed. The reasons are audited when they are new."""
    with registry.transaction():
        row = registry.db.execute(
            "select name, attention from connections where guid = ?", [guid]
        ).fetchone()
        if row is None:
            return False
        stored = json.dumps(list(reasons)) if reasons else None
        if row[1] == stored:
            return False
        registry.db.table("connections").update(guid, {"attention": stored})
        if reasons:
            registry.audit("connection.needs-attention", row[0], "; ".join(reasons))
        else:
            registry.audit("connection.attention-cleared", row[0])
        return True


def note_connector(registry: Registry, name: str, versions: Mapping[str, Any]) -> None:
    """Record what a connector was last seen to be (its app, versions, fingerprint)."""
    with registry.transaction():
        registry.db.table("connectors").update(
            name, {**versions_of(versions), "versions_seen_at": now()}
        )
