"""Pieces every command group shares: output options, the registry, connector clients."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from host.cli.errors import MISSING_REGISTRY, CliError, safe

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.registry import ConnectorRecord, Registry

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def json_option(func: F) -> F:
    """`--json` on every list/show command: a stable shape for scripts."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def db_option(func: F) -> F:
    """`--db PATH` on every command that touches the registry."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False),
        envvar="ERPSYNC_DB",
        help="Registry database file (default: $ERPSYNC_HOME/registry.db).",
    )(func)


def open_registry(db_path: str | None, *, create: bool = True) -> Registry:
    """The registry; a file that is not one (or cannot be opened) is one line, not a trace.

    `create=False` is for commands that only read or change what exists: a registry that
    does not exist (a typo in --db or ERPSYNC_HOME) is not created. The command goes on with
    an empty registry in memory (lists are empty, a name is not found) and says where it
    looked: one warning line on stderr, or appended to its one error line.
    """
    import sqlite3

    from host.home import default_db_path
    from host.registry import Registry, RegistryMissing

    path = db_path or str(default_db_path())
    try:
        return Registry.open(db_path, create=create)
    except RegistryMissing:
        note_missing_registry(path)
        return Registry(Path(path), in_memory=True)
    except sqlite3.OperationalError as exc:
        raise CliError(f"registry {path}: cannot open it ({exc})") from exc
    except sqlite3.DatabaseError as exc:
        raise CliError(
            f"registry {path}: {exc}; is it an erpsync registry? Restore it from a backup "
            "or choose another file with --db"
        ) from exc
    except OSError as exc:
        raise CliError(f"registry {path}: cannot open it ({exc.strerror or exc})") from exc


def note_missing_registry(path: str) -> None:
    """Say (once, when the command ends) that no registry exists at `path`."""
    note = (
        f"no registry at {path}, so nothing is registered there yet (check --db, "
        "$ERPSYNC_DB and $ERPSYNC_HOME if you expected one)"
    )
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[MISSING_REGISTRY] = note  # said once, when the command ends
    else:
        click.echo(f"warning: {note}", err=True)


def emit_json(data: Any) -> None:
    """JSON for scripts; non-ASCII text stays readable, but no character that could drive
    a terminal (DEL, C1 controls, format characters, which json.dumps leaves raw) is raw."""
    click.echo(json_text(data))


def json_text(data: Any) -> str:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if text.isascii() and "\x7f" not in text:
        return text
    return "".join(_json_escape(ch) for ch in text)


def _json_escape(ch: str) -> str:
    """A raw character of json.dumps output as it may be printed; outside strings there are
    only ASCII punctuation, spaces and newlines, so escaping the rest is still valid JSON."""
    if ch == "\n" or ch.isprintable():
        return ch
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned table; empty cells as '-'."""
    if not rows:
        click.echo("(none)")
        return
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    click.echo(
        "  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip()
    )
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    """A table cell: one printable, bounded line (see host.cli.errors.safe)."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return safe(",".join(str(v) for v in value)) or "-"
    return safe(value)


def run_async(coro: Coroutine[Any, Any, T], *, spinner: bool = True) -> T:
    """Run connector work, bounded by the command's --timeout (with a spinner on a tty)."""
    import asyncio  # not at the top: asyncio (and ssl) cost `erpsync apps list` ~40 ms

    from host.cli.deadline import bounded

    return asyncio.run(bounded(coro, spinner=spinner))


MAX_URL_LENGTH = 2048
URL_EXPECTED = "expected http://host[:port]/path, https://... or app:<connector id>"


def check_connector_url(url: str) -> str:
    """Only http, https and app:<id> URLs are connector URLs, and only ones a request can use.

    Checked before anything is stored (also with --no-check): a control character or space
    would forge a header or break every later command on the connector, a port of 0 or out of
    range can never be reached, and an `app:` id must be a connector id.
    """
    from urllib.parse import urlsplit

    from host.connector import CONNECTOR_ID_PATTERN

    shown = repr(url if len(url) <= 80 else url[:80] + "...")
    if len(url) > MAX_URL_LENGTH:
        raise CliError(
            f"URL {shown} is {len(url):,} characters long; a connector URL has at most "
            f"{MAX_URL_LENGTH:,}"
        )
    bad = next((ch for ch in url if ch.isspace() or not ch.isprintable()), None)
    if bad is not None:
        kind = "a space" if bad == " " else "whitespace or a control character"
        raise CliError(f"URL {shown} holds {kind} ({bad!r}); {URL_EXPECTED}")
    if url.startswith("app:"):
        connector_id = url[4:]
        if not connector_id:
            raise CliError("URL 'app:' names no app connector; expected app:<connector id>")
        if not CONNECTOR_ID_PATTERN.fullmatch(connector_id):
            raise CliError(
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
        raise CliError(f"URL {shown} is not a connector URL; {URL_EXPECTED}")
    try:
        port = parts.port  # raises ValueError for a port that is not a number or > 65535
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise CliError(f"URL {shown}: the port must be a number from 1 to 65535")
    if parts.username is not None or parts.password is not None:
        # Stored and listed in clear: a password there would leak. (Not echoed here either.)
        raise CliError(
            f"a connector URL must not hold a user name or password ({parts.scheme}://"
            f"...@{parts.hostname}); give the connector's token with --token or --token-file"
        )
    return url.rstrip("/")


def make_client(
    url: str,
    *,
    token: str | None,
    registry: Registry | None = None,
    label: str | None = None,
    timeout: float = 15.0,
    ca_bundle: str | None = None,
    secrets: Sequence[str] = (),
) -> ConnectorClient:
    """A client for a connector URL; `app:<id>` runs the installed app in-process over ASGI.

    The URL is checked again here: a row stored by an older version may hold one that no
    request can use, and that must be one line, not httpx's traceback. `secrets` (besides
    the token and a saved connection's own) are scrubbed from answers.
    """
    import httpx

    from host.client import ConnectorClient

    check_connector_url(url)

    lookup = secret_lookup = None
    if registry is not None:
        reg = registry

        async def lookup(guid: str) -> Mapping[str, Any] | None:
            return reg.connection_config(guid)

        async def secret_lookup(guid: str) -> list[str]:
            return reg.connection_secrets(guid)

    if url.startswith("app:"):
        from host.apps import load_apps
        from host.server import create_app

        connector_id = url[4:]
        loaded = load_apps()
        connector = loaded.connectors.get(connector_id)
        if connector is None:
            served = ", ".join(sorted(loaded.connectors)) or "none"
            raise CliError(
                f"no installed app provides connector {connector_id!r} (installed: {served})"
            )
        app = create_app({connector_id: connector}, token=None)
        return ConnectorClient(
            f"http://app/connectors/{connector_id}",
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


def check_stored_url(record: ConnectorRecord) -> str:
    """A registered connector's URL, or one line saying it is invalid and how to fix it."""
    try:
        return check_connector_url(record.url)
    except CliError as exc:
        raise CliError(
            f"connector {record.name!r} has an invalid stored URL: {exc.message}; fix it with "
            f"erpsync connectors edit {record.name} --url NEW_URL"
        ) from None


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
        label=f"connector {record.name!r} ({record.url})",
        ca_bundle=record.ca_bundle,
        secrets=secrets,
    )


def check_ca_bundle(path: str) -> str:
    """A readable PEM file of CA certificates, as an absolute path; else one clear line."""
    import ssl
    from pathlib import Path

    resolved = Path(path).expanduser().resolve()
    try:
        ssl.create_default_context(cafile=str(resolved))
    except FileNotFoundError:
        raise CliError(f"--ca-bundle {path!r}: no such file") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise CliError(
            f"--ca-bundle {path!r} is not a PEM file of CA certificates ({exc})"
        ) from None
    return str(resolved)
