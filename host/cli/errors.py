"""Expected failures become one line on stderr and a documented exit code, never a traceback."""

from __future__ import annotations

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
        client = _client_module()
        if client is not None and isinstance(exc, client.ConnectorClientError):
            raise CliError(str(exc), client_exit_code(exc)) from exc
        if isinstance(exc, UnicodeError):
            # Undecodable bytes in an argument (Python keeps them as lone surrogates) or in a
            # file: the text itself is not repeated, it may be a password.
            raise CliError(
                f"a value given is not valid UTF-8 text ({getattr(exc, 'reason', exc)}); "
                "check the encoding of the arguments and files given"
            ) from exc
        raise


def client_exit_code(exc: Exception) -> int:
    """The exit code of a ConnectorClientError: 4 transient, 3 refused, 1 a URL or token that
    cannot be sent at all, 5 anything else."""
    from host.client import (  # loaded already: exc is one of its
        TRANSIENT_ERRORS,
        CallFailed,
        InvalidTarget,
    )

    if isinstance(exc, InvalidTarget):
        return EXIT_ERROR
    if isinstance(exc, TRANSIENT_ERRORS):
        return EXIT_UNREACHABLE
    if isinstance(exc, CallFailed):
        return EXIT_CONNECTOR_REFUSED
    return EXIT_PROTOCOL


def _client_module():  # type: ignore[no-untyped-def]
    import sys

    return sys.modules.get("host.client")
