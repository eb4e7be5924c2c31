"""The secrets in play for a call, and the scrubber that masks them in its answer.

ConnectorClient is the admin side's only path to a connector, so it is where connector texts
are scrubbed (host.protocol.scrub): the token, the secrets given, a config's secret values
when it is sent and a saved connection's (`secret_lookup(guid)`) when a call is about it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from host.failures import ProtocolError
from host.protocol.scrub import Scrubber, secret_values

SecretLookup = Callable[[str], Awaitable[Sequence[str]]]


class Scrubbing:
    """The secrets a client has seen, by connection; a base of ConnectorClient."""

    label: str

    def _open_scrubbing(
        self, token: str | None, secrets: Sequence[str], secret_lookup: SecretLookup | None
    ) -> None:
        self._secret_lookup = secret_lookup
        self._base = Scrubber([token, *secrets])
        self._secret_keys: list[str] | None = None  # declared by config_fields(), once asked
        self._guid_secrets: dict[str, list[str]] = {}
        self._seen: set[str] = set()

    def secrets_of(self, config: Mapping[str, Any]) -> list[str]:
        """The secret values of a config: its password fields as the connector declared them
        (once config_fields() was asked), else the keys whose names say secret."""
        return secret_values(config, self._secret_keys)

    def scrubber(self) -> Scrubber:
        """The token, the given secrets and every secret value this client has sent so far:
        for a report that gathers texts from many calls (the conformance suite)."""
        return self._base.plus(self._seen)

    async def _scrubber(self, guid: str | None, config: Mapping[str, Any] | None) -> Scrubber:
        extra: list[str] = []
        if config is not None:
            extra += self.secrets_of(config)
        if guid is not None:
            if guid not in self._guid_secrets and self._secret_lookup is not None:
                self._guid_secrets[guid] = list(await self._secret_lookup(guid))
            extra += self._guid_secrets.get(guid, [])
        self._seen.update(extra)
        return self._base.plus(extra)

    def _scrub_message(self, text: str, scrubber: Scrubber, what: str) -> str:
        """A message of ours: the label (the admin's name and URL) stays, the rest, which
        may quote the connector, is scrubbed."""
        prefix = f"{self.label}: "
        rest = text.removeprefix(prefix)
        return (
            prefix + scrubber.text(rest, operation=what)
            if rest != text
            else (scrubber.text(text, operation=f"{prefix}{what}"))
        )

    def _remember(self, guid: str, config: Mapping[str, Any]) -> None:
        """The config just sent for `guid`: its secrets, and those it had before, are
        scrubbed from later answers about it."""
        before = self._guid_secrets.get(guid, [])
        self._guid_secrets[guid] = sorted({*before, *self.secrets_of(config)})

    def _shape_error(
        self, what: str, exc: Exception, scrubber: Scrubber | None = None
    ) -> ProtocolError:
        text = f"{self.label}: {what} answer has the wrong shape ({exc})"
        return ProtocolError(self._scrub_message(text, scrubber or self.scrubber(), what))
