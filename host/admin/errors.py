"""The admin core's failures: a `kind` each face maps once (an exit code, an HTTP status).

Every message is one line, already scrubbed of secrets (connector texts reach it through
the ConnectorClient, which masks the token and the config's secrets); a face only escapes
and cuts it for its medium.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from host.connector import Response
    from host.protocol.validation import ValidationReport

ERROR = "error"
NOT_FOUND = "not_found"
INVALID_INPUT = "invalid_input"
CONFLICT = "conflict"
TEST_FAILED = "test_failed"
UNREACHABLE = "unreachable"
BUSY = "busy"
PROTOCOL_MISMATCH = "protocol_mismatch"
ACTIVATION_REFUSED = "activation_refused"
NEEDS_ATTENTION = "needs_attention"
ABORTED = "aborted"

KINDS = (
    ERROR,
    NOT_FOUND,
    INVALID_INPUT,
    CONFLICT,
    TEST_FAILED,
    UNREACHABLE,
    BUSY,
    PROTOCOL_MISMATCH,
    ACTIVATION_REFUSED,
    NEEDS_ATTENTION,
    ABORTED,
)
"""Every kind an admin workflow raises; each face maps all of them (a test checks)."""


class AdminError(Exception):
    """An expected failure of an admin workflow: a kind and a one-line message."""

    kind: str = ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(AdminError):
    """No connector, connection, user or group of that name."""

    kind = NOT_FOUND


class InvalidInput(AdminError):
    """A value given is wrong; `report` holds the per-field errors of a config, if any."""

    kind = INVALID_INPUT

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class Conflict(AdminError):
    """The name is taken, or someone else changed the record meanwhile, or it is in use."""

    kind = CONFLICT


class TestFailed(AdminError):
    """The connector answered with a failure; `response` is its (scrubbed) answer and `step`
    says which call it answered (test, save)."""

    kind = TEST_FAILED
    __test__ = False  # not a pytest test class

    def __init__(self, message: str, response: Response, step: str = "test") -> None:
        super().__init__(message)
        self.response = response
        self.step = step


class Unreachable(AdminError):
    """The connector could not be reached: refused, timed out, DNS."""

    kind = UNREACHABLE


class Busy(AdminError):
    """The connector (or a proxy before it) answered 502-504: try again later."""

    kind = BUSY


class ProtocolMismatch(AdminError):
    """The connector answered, but not in protocol v1, or refused the token, or its TLS
    certificate does not verify: the admin must fix the URL, token or trust."""

    kind = PROTOCOL_MISMATCH


class ActivationRefused(AdminError):
    """Every reason a connection cannot be activated. `blocked_by` is the kind of the
    connector failure when the connector could not be asked (else None)."""

    kind = ACTIVATION_REFUSED

    def __init__(self, message: str, reasons: Sequence[str], blocked_by: str | None = None) -> None:
        super().__init__(message)
        self.reasons = list(reasons)
        self.blocked_by = blocked_by


class NeedsAttention(AdminError):
    """An app upgrade broke the connection (host.admin.upgrades): it must be edited and pass
    a new test before it is activated or synced. `reasons` says exactly what changed."""

    kind = NEEDS_ATTENTION

    def __init__(self, message: str, reasons: Sequence[str]) -> None:
        super().__init__(message)
        self.reasons = list(reasons)


class Aborted(AdminError):
    """The admin gave up (Ctrl-C, end of input, declined); nothing was saved."""

    kind = ABORTED


def from_client_error(exc: Exception) -> AdminError:
    """The admin kind of a ConnectorClientError, read from its one classification
    (`failure`, host.failures.FAILURES); any other exception becomes a plain AdminError."""
    from host import client

    message = str(exc)
    if isinstance(exc, AdminError):
        return exc
    if not isinstance(exc, client.ConnectorClientError):
        return AdminError(message)
    if exc.failure == client.UNREACHABLE:
        return Unreachable(message)
    if exc.failure == client.BUSY:
        return Busy(message)
    if exc.failure == client.INVALID_TARGET:
        return InvalidInput(message)  # a URL or token that cannot be sent at all
    if isinstance(exc, client.CallFailed):
        return TestFailed(message, exc.response, step="call")
    return ProtocolMismatch(message)


def from_registry_error(exc: Exception) -> AdminError:
    """The admin kind of a registry failure (its messages are one line for the admin)."""
    from host import registry

    if isinstance(exc, registry.NotFound):
        return NotFound(str(exc))
    if isinstance(exc, registry.Conflict):
        return Conflict(str(exc))
    return AdminError(str(exc))


@contextmanager
def admin_errors() -> Iterator[None]:
    """Inside a workflow: registry and connector failures leave it as admin kinds."""
    from host.failures import ConnectorClientError
    from host.registry import RegistryError
    from host.registry.secrets import SecretKeyError

    try:
        yield
    except ConnectorClientError as exc:
        raise from_client_error(exc) from exc
    except (RegistryError, SecretKeyError) as exc:
        raise from_registry_error(exc) from exc
