"""Connectors: register a connector by name and URL, change it, check it, remove it.

A new URL or token is checked by asking the connector's info before it is stored, so a
wrong URL or token is caught when it is typed, not at the first sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host.admin.clients import connector_label, make_client
from host.admin.errors import InvalidInput, admin_errors
from host.admin.listing import connector_rows
from host.admin.names import check_name
from host.admin.urls import check_ca_bundle, check_stored_url, check_token, check_url

if TYPE_CHECKING:
    from host.registry import ConnectorRecord, Registry

__all__ = ["ConnectorResult", "add", "check_ca_bundle", "check_token", "check_url", "edit"]
__all__ += ["fetch_info"]
__all__ += ["list_all", "remove", "show"]


@dataclass
class ConnectorResult:
    """A stored connector, the info it answered (None: not checked) and the other records
    at the same URL (each sees the other's connections there: worth a warning)."""

    record: ConnectorRecord
    info: dict[str, Any] | None = None
    same_url: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(), "info": self.info}


async def fetch_info(
    url: str, token: str | None, name: str, ca_bundle: str | None = None
) -> dict[str, Any]:
    """The connector's info: proves the URL, the token, the TLS trust and the protocol."""
    with admin_errors():
        client = make_client(
            url, token=token, label=connector_label(name, url), ca_bundle=ca_bundle
        )
        async with client:
            return await client.info()


async def add(
    registry: Registry,
    name: str,
    url: str,
    token: str | None = None,
    ca_bundle: str | None = None,
    *,
    check: bool = True,
) -> ConnectorResult:
    """Register connector `name` at `url`, after its info answered (unless `check` is off)."""
    name = check_name(name, "connector")
    url = check_url(url)
    token = check_token(token)
    bundle = check_ca_bundle(ca_bundle) if ca_bundle else None
    info = await fetch_info(url, token, name, bundle) if check else None
    with admin_errors():
        record = registry.add_connector(name, url, token, bundle)
    if check:
        record = await _note_versions(registry, record)
    with admin_errors():
        return ConnectorResult(record, info, registry.connectors_at(url, excluding=name))


async def _note_versions(registry: Registry, record: ConnectorRecord) -> ConnectorRecord:
    """What the connector now is (app, versions, fields), recorded on its record, and its
    connections checked against it (host.admin.upgrades): a new URL may reach another
    version. A connector that fails to answer now was refused before it was stored."""
    from host.admin.upgrades import check_connector

    await check_connector(registry, record.name)
    with admin_errors():
        return registry.connector(record.name)


async def edit(
    registry: Registry,
    name: str,
    *,
    new_name: str | None = None,
    url: str | None = None,
    token: str | None = None,
    clear_token: bool = False,
    ca_bundle: str | None = None,
    check: bool = True,
) -> ConnectorResult:
    """Rename, move, re-token or re-trust connector `name`; a new URL, token or CA bundle is
    checked against the connector (as it will be reached) before it is stored."""
    from host.registry import UNCHANGED

    if clear_token and token:
        raise InvalidInput("--clear-token cannot be combined with --token or --token-file")
    with admin_errors():
        record = registry.connector(name)
    new_url: Any = check_url(url) if url else UNCHANGED
    new_token: Any = None if clear_token else check_token(token) or UNCHANGED
    checked_name = check_name(new_name, "connector") if new_name is not None else None
    new_bundle: Any = check_ca_bundle(ca_bundle) if ca_bundle else UNCHANGED
    reachable_changes = (new_url, new_token, new_bundle)
    if checked_name is None and all(v is UNCHANGED for v in reachable_changes):
        raise InvalidInput(
            "nothing to change: give --rename, --url, --token, --token-file, --clear-token "
            "or --ca-bundle"
        )
    info = None
    if check and any(v is not UNCHANGED for v in reachable_changes):
        if new_token is UNCHANGED:
            with admin_errors():  # only then: a stored token may not decrypt (a lost key)
                new_token_or_stored = registry.connector_token(name)
        else:
            new_token_or_stored = new_token
        info = await fetch_info(
            record.url if new_url is UNCHANGED else new_url,
            new_token_or_stored,
            checked_name or name,
            record.ca_bundle if new_bundle is UNCHANGED else new_bundle,
        )
    with admin_errors():
        updated = registry.update_connector(
            name,
            new_name=checked_name if checked_name else UNCHANGED,
            url=new_url,
            token=new_token,
            ca_bundle=new_bundle,
        )
    if info is not None:
        updated = await _note_versions(registry, updated)
    with admin_errors():
        same = (
            registry.connectors_at(updated.url, excluding=updated.name)
            if new_url is not UNCHANGED
            else []
        )
    return ConnectorResult(updated, info, same)


def list_all(registry: Registry) -> list[dict[str, Any]]:
    """Every connector (token shown as ****) with how many connections use it."""
    with admin_errors():
        return connector_rows(registry.connectors(), registry.connections())


async def show(registry: Registry, name: str, *, check: bool = False) -> dict[str, Any]:
    """Connector `name`, the connections that use it and, with `check`, its info now."""
    with admin_errors():
        record = registry.connector(name)
        data: dict[str, Any] = {
            **record.to_dict(),
            "connections": registry.connection_names_using(name),
        }
        token = registry.connector_token(name) if check else None
    if check:
        check_stored_url(record)
        data["info"] = await fetch_info(record.url, token, name, record.ca_bundle)
    return data


def remove(registry: Registry, name: str) -> None:
    """Remove connector `name`; refused (Conflict) while connections use it."""
    with admin_errors():
        registry.remove_connector(name)
