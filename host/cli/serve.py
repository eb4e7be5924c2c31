"""`erpsync serve` and `erpsync mock-server`: the connector host over HTTP (uvicorn)."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from host.cli.errors import CliError

TOKEN_ENV = "ERPSYNC_SERVE_TOKEN"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_token(
    token: str | None, token_file: str | None, no_auth: bool, host: str
) -> str | None:
    """The token the host will require, or None for an explicit --no-auth on loopback."""
    if no_auth:
        if token or token_file:
            raise CliError("--no-auth cannot be combined with --token or --token-file")
        if not _is_loopback(host):
            raise CliError(f"--no-auth is allowed only on loopback; --host is {host!r}")
        return None
    if token and token_file:
        raise CliError("give --token or --token-file, not both")
    if token_file:
        path = Path(token_file)
        if path.exists():
            text = path.read_text(encoding="utf-8").strip()
            if not text:
                raise CliError(f"--token-file {token_file!r} is empty")
            return text
        # A missing token file is created with a fresh token, readable by its owner only.
        fresh = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = path.open("x", encoding="utf-8")
        path.chmod(0o600)
        with fd:
            fd.write(fresh + "\n")
        return fresh
    return token or None


def serve_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--host", default="127.0.0.1", show_default=True, help="Bind address."),
            click.option(
                "--port",
                default=8765,
                show_default=True,
                type=click.IntRange(0, 65535),
                help="Port; 0 picks a free one (the URL is printed).",
            ),
            click.option(
                "--token", envvar=TOKEN_ENV, help=f"Required bearer token (or ${TOKEN_ENV})."
            ),
            click.option(
                "--token-file",
                type=click.Path(dir_okay=False),
                help="Read the token from this file; created 0600 if missing.",
            ),
            click.option("--no-auth", is_flag=True, help="Require no token (loopback only)."),
            click.option(
                "--log-level",
                default="warning",
                show_default=True,
                type=click.Choice(["critical", "error", "warning", "info", "debug"]),
            ),
        ]
    ):
        func = option(func)
    return func


def run_server(
    connectors: dict[str, Any], host: str, port: int, token: str | None, log_level: str
) -> None:
    """Bind first (so --port 0 works and the URL printed is the real one), then serve."""
    import uvicorn

    from host.server import create_app

    if not connectors:
        raise CliError("no connector to serve: no installed app loaded (see erpsync apps list)")
    if token is None and not _is_loopback(host):
        raise CliError(
            "refusing to serve without a token on a non-loopback address; give --token or "
            "--token-file"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)  # clients that connect before uvicorn starts wait instead of failing
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    for cid in sorted(connectors):
        click.echo(f"serving connector {cid} at http://{shown_host}:{bound_port}/connectors/{cid}")
    click.echo(
        "auth: bearer token required" if token else "auth: none (--no-auth, loopback only)",
        err=True,
    )
    sys.stdout.flush()
    app = create_app(connectors, token=token)
    config = uvicorn.Config(app, log_level=log_level, access_log=log_level in ("info", "debug"))
    server = uvicorn.Server(config)
    server.run(sockets=[sock])


@click.command()
@serve_options
@click.option("--app", "app_names", multiple=True, help="Serve only this app (repeatable).")
def serve(
    host: str,
    port: int,
    token: str | None,
    token_file: str | None,
    no_auth: bool,
    log_level: str,
    app_names: tuple[str, ...],
) -> None:
    """Serve every installed connector at http://HOST:PORT/connectors/<id>/v1.

    A token is required unless --no-auth is given on a loopback address.

    \b
    Example:
        erpsync serve --port 8765 --token-file ~/.erpsync-serve.token
    """
    from host.apps import load_apps

    secret = resolve_token(token, token_file, no_auth, host)
    if secret is None and not no_auth:
        raise CliError("give --token, --token-file or (on loopback) --no-auth")
    loaded = load_apps()
    connectors = {
        cid: c
        for cid, c in loaded.connectors.items()
        if not app_names or loaded.connector_app[cid] in app_names
    }
    run_server(connectors, host, port, secret, log_level)


@click.command(name="mock-server")
@serve_options
def mock_server(
    host: str,
    port: int,
    token: str | None,
    token_file: str | None,
    no_auth: bool,
    log_level: str,
) -> None:
    """Serve the bundled mock ERP connector alone, at http://HOST:PORT/connectors/mock.

    Demo login: username demo, password mock-erp-secret, company 1-3.

    \b
    Example:
        erpsync mock-server --port 0 --no-auth
    """
    from erpsync_mock_erp import MockErpConnector

    secret = resolve_token(token, token_file, no_auth, host)
    if secret is None and not no_auth:
        raise CliError("give --token, --token-file or (on loopback) --no-auth")
    connector = MockErpConnector()
    run_server({connector.id: connector}, host, port, secret, log_level)
