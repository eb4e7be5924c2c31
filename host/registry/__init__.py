"""The admin side's registry: connectors, ERP connections, users and groups, in SQLite.

It knows nothing of HTTP. Its parts, each a layer of `Registry`: `base` (the database,
transactions with their audit record, the GUID journal), `directory` (connectors, users,
groups), `connections` (connections, their sealed secrets and access lists) and `keys` (what
the key decrypts, resets, rotation); `records` holds what they hand out and their errors.
"""

from __future__ import annotations

from host.registry.keys import Keys
from host.registry.records import (
    EVERYONE,
    RESTRICTED,
    UNCHANGED,
    Conflict,
    ConnectionRecord,
    ConnectorRecord,
    NotFound,
    RegistryError,
    RegistryMissing,
    acting_admin,
    current_admin,
    normalise_url,
    now,
)

__all__ = [
    "EVERYONE",
    "RESTRICTED",
    "UNCHANGED",
    "Conflict",
    "ConnectionRecord",
    "ConnectorRecord",
    "NotFound",
    "Registry",
    "RegistryError",
    "RegistryMissing",
    "acting_admin",
    "current_admin",
    "normalise_url",
    "now",
]


class Registry(Keys):
    """Open with `Registry.open()`; the database and its schema are created on first use."""
