"""What a connector may be reached at: its URL, its token and the CA bundle trusted for it.

Checked before anything is stored (also with --no-check), and again before any request: a
row stored by an older version may hold a URL that no request can use, and that must be one
line, not httpx's traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from host.admin.errors import InvalidInput

if TYPE_CHECKING:
    from host.registry import ConnectorRecord

MAX_URL_LENGTH = 2048
URL_EXPECTED = "expected http://host[:port]/path, https://... or app:<connector id>"


def check_url(url: str) -> str:
    """Only http, https and app:<id> URLs are connector URLs, and only ones a request can use
    (a trailing / is dropped).

    A control character or space would forge a header or break every later command on the
    connector, a port of 0 or out of range can never be reached, and an `app:` id must be a
    connector id.
    """
    from urllib.parse import urlsplit

    from host.connector import CONNECTOR_ID_PATTERN

    shown = repr(url if len(url) <= 80 else url[:80] + "...")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(
            f"URL {shown} is {len(url):,} characters long; a connector URL has at most "
            f"{MAX_URL_LENGTH:,}"
        )
    bad = next((ch for ch in url if ch.isspace() or not ch.isprintable()), None)
    if bad is not None:
        kind = "a space" if bad == " " else "whitespace or a control character"
        raise InvalidInput(f"URL {shown} holds {kind} ({bad!r}); {URL_EXPECTED}")
    if url.startswith("app:"):
        connector_id = url[4:]
        if not connector_id:
            raise InvalidInput("URL 'app:' names no app connector; expected app:<connector id>")
        if not CONNECTOR_ID_PATTERN.fullmatch(connector_id):
            raise InvalidInput(
                f"URL {shown}: {connector_id!r} is not a connector id (a lowercase letter, "
                "then up to 62 lowercase letters, digits, '-' or '_'); expected "
                "app:<connector id>"
            )
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"URL {shown} is not a connector URL; {URL_EXPECTED}")
    try:
        port = parts.port  # raises ValueError for a port that is not a number or > 65535
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput(f"URL {shown}: the port must be a number from 1 to 65535")
    if parts.username is not None or parts.password is not None:
        # Stored and listed in clear: a password there would leak. (Not echoed here either.)
        raise InvalidInput(
            f"a connector URL must not hold a user name or password ({parts.scheme}://"
            f"...@{parts.hostname}); give the connector's token with --token or --token-file"
        )
    return url.rstrip("/")


def check_stored_url(record: ConnectorRecord) -> str:
    """A registered connector's URL, or one line saying it is invalid and how to fix it."""
    try:
        return check_url(record.url)
    except InvalidInput as exc:
        raise InvalidInput(
            f"connector {record.name!r} has an invalid stored URL: {exc}; fix it with "
            f"erpsync connectors edit {record.name} --url NEW_URL"
        ) from None


def check_ca_bundle(path: str) -> str:
    """A readable PEM file of CA certificates, as an absolute path; else one clear line."""
    import ssl
    from pathlib import Path

    resolved = Path(path).expanduser().resolve()
    try:
        ssl.create_default_context(cafile=str(resolved))
    except FileNotFoundError:
        raise InvalidInput(f"--ca-bundle {path!r}: no such file") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise InvalidInput(
            f"--ca-bundle {path!r} is not a PEM file of CA certificates ({exc})"
        ) from None
    return str(resolved)


def check_token(token: str | None, what: str = "the token") -> str | None:
    """A token that can be sent in a header (host.tokens' one rule), or None for no token;
    the message names `what`, never the value."""
    from host.tokens import TokenError
    from host.tokens import check_token as checked

    if token is None:
        return None
    try:
        return checked(token, what=what)
    except TokenError as exc:
        raise InvalidInput(str(exc)) from None
