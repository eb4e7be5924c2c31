"""The one way every face and host.sync gets a ConnectorClient for a connector.

An `http(s)://` connector URL gets an HTTP client; `app:<id>` runs the installed app
in-process through the same ASGI app (httpx's ASGI transport). A client made for a
registered connector finds a saved connection's config (re-sent when the connector lost it)
and its secrets (scrubbed from answers) in the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from host.admin.errors import NotFound
from host.admin.urls import check_stored_url, check_url

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.registry import ConnectorRecord, Registry

DEFAULT_TIMEOUT = 15.0
"""Seconds one HTTP call may wait (a command's --timeout bounds all of them together)."""


def make_client(
    url: str,
    *,
    token: str | None,
    registry: Registry | None = None,
    label: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    ca_bundle: str | None = None,
    secrets: Sequence[str] = (),
) -> ConnectorClient:
    """A client for a connector URL; `app:<id>` runs the installed app in-process over ASGI.

    `secrets` (besides the token and a saved connection's own) are scrubbed from answers.
    The URL is checked again here: a row stored by an older version may hold one that no
    request can use. Raises NotFound when no installed app provides an `app:<id>` connector."""
    import httpx  # not at the top: faces import this module on light paths

    from host.client import ConfigLookup, ConnectorClient, SecretLookup

    check_url(url)

    lookup: ConfigLookup | None = None
    secret_lookup: SecretLookup | None = None
    if registry is not None:
        reg = registry

        async def config_of(guid: str) -> Mapping[str, Any] | None:
            return reg.connection_config(guid)

        async def secrets_of(guid: str) -> list[str]:
            return reg.connection_secrets(guid)

        lookup, secret_lookup = config_of, secrets_of

    if url.startswith("app:"):
        from host.apps import load_apps
        from host.server import create_app

        connector_id = url[4:]
        loaded = load_apps()
        connector = loaded.connectors.get(connector_id)
        if connector is None:
            served = ", ".join(sorted(loaded.connectors)) or "none"
            raise NotFound(
                f"no installed app provides connector {connector_id!r} (installed: {served})"
            )
        app = create_app({connector_id: connector}, token=token)  # None: no auth in-process
        return ConnectorClient(
            f"http://app/connectors/{connector_id}",
            token=token,
            transport=httpx.ASGITransport(app=app),
            config_lookup=lookup,
            secret_lookup=secret_lookup,
            label=label or url,
            timeout=timeout,
            secrets=secrets,
        )
    return ConnectorClient(
        url,
        token=token,
        config_lookup=lookup,
        secret_lookup=secret_lookup,
        label=label or url,
        timeout=timeout,
        ca_bundle=ca_bundle,
        secrets=secrets,
    )


def client_for_connector(
    registry: Registry, record: ConnectorRecord, secrets: Sequence[str] = ()
) -> ConnectorClient:
    """A client for a registered connector; `secrets` are scrubbed from its answers (the
    secret values of a config about to be sent, when its fields are known here)."""
    check_stored_url(record)
    return make_client(
        record.url,
        token=registry.connector_token(record.name),
        registry=registry,
        label=connector_label(record.name, record.url),
        ca_bundle=record.ca_bundle,
        secrets=secrets,
    )


def connector_label(name: str, url: str) -> str:
    """How errors name a connector: by its registered name and URL."""
    return f"connector {name!r} ({url})"
