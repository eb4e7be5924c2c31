"""What the registry hands out and the words it speaks: its records, its errors, who acts.

Light on purpose (no sqlite-utils): faces and the admin core import these to type and render
without opening a database.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from host.protocol.scrub import MASK

EVERYONE = "everyone"
RESTRICTED = "restricted"
UNCHANGED: Any = object()
"""Marks an argument of an update that keeps the stored value."""


class RegistryError(Exception):
    """An expected failure: the message is one line for the admin."""


class NotFound(RegistryError):
    pass


class RegistryMissing(RegistryError):
    """`Registry.open(create=False)` on a file that does not exist (a typo in --db?)."""


class Conflict(RegistryError):
    pass


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


_acting_admin: ContextVar[str | None] = ContextVar("erpsync_acting_admin", default=None)


@contextmanager
def acting_admin(who: str) -> Iterator[None]:
    """Changes made inside are audited as `who` (the web admin's signed-in admin), whatever
    ERPSYNC_ADMIN or the OS user say; a context variable, so concurrent requests never mix."""
    token = _acting_admin.set(who)
    try:
        yield
    finally:
        _acting_admin.reset(token)


def current_admin() -> str:
    """Who is acting, for the audit log: `acting_admin`, else ERPSYNC_ADMIN, else the OS user."""
    acting = _acting_admin.get()
    if acting:
        return acting
    explicit = os.environ.get("ERPSYNC_ADMIN")
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass
class ConnectorRecord:
    name: str
    url: str
    has_token: bool
    created_at: str
    updated_at: str = ""
    ca_bundle: str | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    """What was last seen of it (app, app_distribution, app_version, connector_version,
    protocol_version, fields_fingerprint): recorded by tests and upgrade checks."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "token": MASK if self.has_token else None,
            "ca_bundle": self.ca_bundle,
            "versions": dict(self.versions),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class ConnectionRecord:
    guid: str
    name: str
    connector: str
    scope: str
    description: str
    config: dict[str, Any]
    secret_keys: list[str]
    active: bool
    last_test_state: str | None
    last_test_message: str | None
    last_tested_at: str | None
    created_at: str = ""
    updated_at: str = ""
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    versions: dict[str, str | None] = field(default_factory=dict)
    """The versions its config is known to fit (host.admin.upgrades): tested with, or
    carried forward by an upgrade check that found it unaffected."""
    attention: list[str] = field(default_factory=list)
    """Why an app upgrade broke it (empty when it is fine): it cannot be activated or
    synced until edited and re-tested."""

    @property
    def last_test_passed(self) -> bool:
        return self.last_test_state in ("ok", "ok_with_info", "warning")

    @property
    def needs_attention(self) -> bool:
        return bool(self.attention)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape; secrets appear only as ****."""
        return {
            "guid": self.guid,
            "name": self.name,
            "connector": self.connector,
            "scope": self.scope,
            "users": list(self.users),
            "groups": list(self.groups),
            "description": self.description,
            "config": {**self.config, **{k: MASK for k in self.secret_keys}},
            "active": self.active,
            "last_test": {
                "state": self.last_test_state,
                "message": self.last_test_message,
                "at": self.last_tested_at,
            },
            "tested_with": dict(self.versions),
            "needs_attention": list(self.attention),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def normalise_url(url: str) -> str:
    """A URL as a connector is reached: scheme and host in lower case, no default port,
    no trailing slash. `app:` URLs are compared as they are."""
    from urllib.parse import urlsplit

    if url.startswith("app:"):
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}.get(scheme):
        host += f":{port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{host}{parts.path.rstrip('/')}{query}"
