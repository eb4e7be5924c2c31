"""ConnectorClient: the admin side's only way to talk to a connector, over protocol v1.

One code path, two transports: an `http(s)://` connector anywhere, or an installed app run
in-process through the same ASGI app (httpx's ASGI transport). Failures are classified once,
in host.failures (re-exported here), so every face can say what to check.

The class is built in layers, one module each: transport (one HTTP exchange: deadline,
retries, response cap, TLS), scrubbing (the secrets of a call), calls (an operation sent,
checked and scrubbed), contract (the operations) and changes (the changes feed, paged or
streamed). Import every name from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from host.failures import (  # re-exported: the failures of a call are the client's
    BUSY,
    CERTIFICATE,
    CONFIG_ERROR,
    FAILURES,
    INVALID_TARGET,
    PROTOCOL,
    REFUSED,
    SYSTEM,
    TRANSIENT,
    UNAUTHORIZED,
    UNREACHABLE,
    CallFailed,
    CertificateError,
    ConnectorBusy,
    ConnectorClientError,
    ConnectorUnreachable,
    FailureClass,
    InvalidTarget,
    ProtocolError,
    Unauthorized,
)

from .calls import ConfigLookup
from .changes import BULK_PAGE_SIZE, Changes
from .contract import INFO_IDENTIFIERS
from .scrubbing import SecretLookup
from .transport import DEFAULT_MAX_RESPONSE_BYTES, Paged

__all__ = [
    "BULK_PAGE_SIZE",
    "BUSY",
    "CERTIFICATE",
    "CONFIG_ERROR",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "FAILURES",
    "INFO_IDENTIFIERS",
    "INVALID_TARGET",
    "PROTOCOL",
    "REFUSED",
    "SYSTEM",
    "TRANSIENT",
    "UNAUTHORIZED",
    "UNREACHABLE",
    "CallFailed",
    "CertificateError",
    "ConfigLookup",
    "ConnectorBusy",
    "ConnectorClient",
    "ConnectorClientError",
    "ConnectorUnreachable",
    "FailureClass",
    "InvalidTarget",
    "Paged",
    "ProtocolError",
    "SecretLookup",
    "Unauthorized",
]


class ConnectorClient(Changes):
    """Async client of one connector URL; use as `async with ConnectorClient(url) as c:`.

    It is the admin side's only path to a connector, so it is where connector texts are
    scrubbed: every explanation, label, list text and error message it hands out has the
    token and the secret values in play for the call masked or withheld (host.protocol.scrub),
    whatever language the connector is written in.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        config_lookup: ConfigLookup | None = None,
        label: str | None = None,
        retries: int = 2,
        backoff: float = 0.25,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        ca_bundle: str | None = None,
        secrets: Sequence[str] = (),
        secret_lookup: SecretLookup | None = None,
    ) -> None:
        """`retries` re-tries transient failures of idempotent calls with doubling backoff;
        `ca_bundle` trusts a private CA (verification itself is never switched off).
        `secrets` are scrubbed from every answer besides the token; `secret_lookup(guid)`
        gives the secret values of a saved connection, scrubbed from answers about it."""
        self.url = url.rstrip("/")
        self.label = label or self.url
        self._config_lookup = config_lookup
        self._open_scrubbing(token, secrets, secret_lookup)
        self.capabilities: dict[str, Any] | None = None
        """What the connector declared in info (v1.1), once info() was asked; None for 1.0."""
        self._asked_info = False
        self._stream_problem = ""
        self.next_since = ""
        """The stamp to ask from next time, as the last complete changes stream ended."""
        self._open_transport(
            token=token,
            transport=transport,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_response_bytes=max_response_bytes,
            ca_bundle=ca_bundle,
        )

    async def __aenter__(self) -> ConnectorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
