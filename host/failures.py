"""What went wrong on a call to a connector: the one classification of a failed call.

Each failure says what happened (`failure`); whose move it is (Airbyte's config error,
transient, system), whether an idempotent call may be retried, whether a conformance run can
go on, the admin core's error kind (host.admin.errors) and so the CLI's exit code are all
read from it, through FAILURES. host.client re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from host.connector import Response

CONFIG_ERROR = "config_error"
TRANSIENT = "transient"
SYSTEM = "system"

# What happened, the one classification of a failed call: everything else (whose move it
# is, whether to retry, whether a conformance run can go on, the admin's error kind and so
# the CLI's exit code) is read from it, through FAILURES.
UNREACHABLE = "unreachable"
BUSY = "busy"
UNAUTHORIZED = "unauthorized"
CERTIFICATE = "certificate"
PROTOCOL = "protocol"
REFUSED = "refused"
INVALID_TARGET = "invalid_target"


@dataclass(frozen=True)
class FailureClass:
    """`kind`: whose move (Airbyte's config_error, transient, system); `retry`: an idempotent
    call may be tried again; `ends_run`: no further call to this connector can tell more."""

    kind: str
    retry: bool
    ends_run: bool


FAILURES: dict[str, FailureClass] = {
    UNREACHABLE: FailureClass(TRANSIENT, retry=True, ends_run=True),
    BUSY: FailureClass(TRANSIENT, retry=True, ends_run=True),
    UNAUTHORIZED: FailureClass(CONFIG_ERROR, retry=False, ends_run=True),
    CERTIFICATE: FailureClass(CONFIG_ERROR, retry=False, ends_run=False),
    PROTOCOL: FailureClass(SYSTEM, retry=False, ends_run=False),
    REFUSED: FailureClass(SYSTEM, retry=False, ends_run=False),
    INVALID_TARGET: FailureClass(CONFIG_ERROR, retry=False, ends_run=False),
}


class ConnectorClientError(Exception):
    """A call that did not get a protocol answer; `failure` says what happened (FAILURES)."""

    failure = PROTOCOL

    @property
    def kind(self) -> str:
        """Whose move it is: config_error (the admin's), transient (wait), system (a bug)."""
        return FAILURES[self.failure].kind

    @property
    def retry(self) -> bool:
        return FAILURES[self.failure].retry

    @property
    def ends_run(self) -> bool:
        return FAILURES[self.failure].ends_run


class ConnectorUnreachable(ConnectorClientError):
    failure = UNREACHABLE


class Unauthorized(ConnectorClientError):
    failure = UNAUTHORIZED


class ProtocolError(ConnectorClientError):
    failure = PROTOCOL
    spoken_version: str = ""
    """Set when the connector speaks a protocol major version this host does not know:
    what it said (cut to 32 printable characters), for the upgrade check."""


class CertificateError(ConnectorClientError):
    """The connector's TLS certificate does not verify: the admin must fix trust, not retry."""

    failure = CERTIFICATE


class ConnectorBusy(ConnectorClientError):
    """HTTP 502/503/504: a proxy or the connector is temporarily unable to answer."""

    failure = BUSY


class InvalidTarget(ConnectorClientError):
    """The URL or token cannot be sent at all (control characters, bad port): fix the input.

    Its message never holds the token: httpx's own "Illegal header value" text does.
    """

    failure = INVALID_TARGET


class CallFailed(ConnectorClientError):
    """The connector answered with an error envelope where a payload was needed."""

    failure = REFUSED

    def __init__(self, message: str, response: Response):
        super().__init__(message)
        self.response = response

    @property
    def kind(self) -> str:
        return TRANSIENT if self.response.error_code == "timeout" else SYSTEM
