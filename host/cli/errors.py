"""Expected failures become one line on stderr and a documented exit code, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

# The one text-safety implementation, shared with the web; re-exported for the CLI's modules.
from host.text import MAX_SHOWN_LENGTH as MAX_SHOWN_LENGTH
from host.text import printable as printable
from host.text import safe

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONNECTOR_REFUSED = 3
EXIT_UNREACHABLE = 4
EXIT_PROTOCOL = 5
EXIT_NEEDS_ATTENTION = 6
EXIT_ABORTED = 130

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_ERROR: "error: bad value, unknown name, conflict, or other expected failure",
    EXIT_USAGE: "usage error: unknown option, missing argument",
    EXIT_CONNECTOR_REFUSED: "the connector answered with a failure (e.g. a config test failed)",
    EXIT_UNREACHABLE: "the connector could not be reached (refused, timed out, DNS) or stayed "
    "busy (HTTP 502-504)",
    EXIT_PROTOCOL: "the connector answered but not in protocol v1, refused the token, or its "
    "TLS certificate does not verify",
    EXIT_NEEDS_ATTENTION: "the connection needs attention after an app upgrade (edit and "
    "re-test it); `erpsync connections list` shows why",
    EXIT_ABORTED: "aborted at a prompt (Ctrl-C or end of input); nothing was saved",
}


MISSING_REGISTRY = "erpsync.missing_registry"
"""Key in click's shared context meta: set when a command found no registry at its path."""


class CliError(click.ClickException):
    """A one-line error with a chosen exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(safe(message, MAX_ERROR_LENGTH))
        self.exit_code = exit_code  # type: ignore[misc]


MAX_ERROR_LENGTH = 2000


EXIT_BY_KIND = {
    "error": EXIT_ERROR,
    "not_found": EXIT_ERROR,
    "invalid_input": EXIT_ERROR,
    "conflict": EXIT_ERROR,
    "activation_refused": EXIT_ERROR,
    "test_failed": EXIT_CONNECTOR_REFUSED,
    "unreachable": EXIT_UNREACHABLE,
    "busy": EXIT_UNREACHABLE,
    "protocol_mismatch": EXIT_PROTOCOL,
    "needs_attention": EXIT_NEEDS_ATTENTION,
    "aborted": EXIT_ABORTED,
}
"""The one table from the admin core's error kinds (host.admin.errors) to exit codes."""


def exit_code_of(kind: str) -> int:
    """The exit code of an admin error kind (an unknown kind is a plain error)."""
    return EXIT_BY_KIND.get(kind, EXIT_ERROR)


def admin_exit_code(exc: Exception) -> int:
    """The exit code of an AdminError; a refused activation exits as the connector failure
    that blocked it, when there was one."""
    kind = getattr(exc, "blocked_by", None) or getattr(exc, "kind", "error")
    return exit_code_of(str(kind))


def cli_error(exc: Exception) -> CliError:
    """An AdminError (or a ConnectorClientError, classified by host.admin.errors) as the
    one line and exit code the CLI ends with."""
    from host.admin.errors import AdminError, from_client_error

    error = exc if isinstance(exc, AdminError) else from_client_error(exc)
    return CliError(str(error), admin_exit_code(error))


@contextmanager
def translate_errors() -> Iterator[None]:
    """Map library errors to CliError; imports are lazy so `--help` stays light."""
    try:
        yield
    except click.ClickException:
        raise
    except Exception as exc:
        from host.registry import RegistryError
        from host.registry.secrets import SecretKeyError

        if isinstance(exc, RegistryError | SecretKeyError):
            raise CliError(str(exc)) from exc
        admin = sys.modules.get("host.admin.errors")
        if admin is not None and isinstance(exc, admin.AdminError):
            raise cli_error(exc) from exc
        client = sys.modules.get("host.client")
        if client is not None and isinstance(exc, client.ConnectorClientError):
            raise cli_error(exc) from exc
        if isinstance(exc, UnicodeError):
            # Undecodable bytes in an argument (Python keeps them as lone surrogates) or in a
            # file: the text itself is not repeated, it may be a password.
            raise CliError(
                f"a value given is not valid UTF-8 text ({getattr(exc, 'reason', exc)}); "
                "check the encoding of the arguments and files given"
            ) from exc
        raise


def client_exit_code(exc: Exception) -> int:
    """The exit code of a ConnectorClientError, by the one table (host.failures.FAILURES ->
    admin kind -> EXIT_BY_KIND)."""
    from host.admin.errors import from_client_error

    return admin_exit_code(from_client_error(exc))
