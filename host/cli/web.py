"""`erpsync web`: the web admin (Settings and administration → Sync) over HTTP(S), by uvicorn.

Started the way `erpsync serve` starts the connector host (`serve_app` from host/cli/serve.py:
host.server.run, socket bound first). FastAPI and Jinja2 are imported only when the command
runs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from host.cli.common import db_option, open_registry
from host.cli.errors import CliError
from host.cli.serve import _is_loopback, serve_app

if TYPE_CHECKING:
    from host.server.run import Address

DEMO_ADMIN = "admin"
DEMO_PASSWORD_ENV = "ERPSYNC_WEB_DEMO_PASSWORD"


def check_tls(cert: str | None, key: str | None) -> bool:
    """True when TLS is asked for and the certificate and key load; else one clear line."""
    if not cert and not key:
        return False
    if not (cert and key):
        raise CliError("give --cert and --key together (a certificate and its private key)")
    import ssl

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise CliError(f"--cert/--key: no such file {exc.filename!r}") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise CliError(
            f"--cert {cert!r} / --key {key!r}: not a PEM certificate and its private key ({exc})"
        ) from None
    return True


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port; 0 picks a free one (the URL is printed).",
)
@click.option("--cert", type=click.Path(dir_okay=False), help="TLS certificate (PEM) for https.")
@click.option("--key", type=click.Path(dir_okay=False), help="Private key (PEM) of --cert.")
@click.option(
    "--allow-insecure-remote",
    is_flag=True,
    help="Serve plain http on a non-loopback address (passwords cross the network in clear).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Serve a throw-away home with the bundled mock ERP, demo data and an admin 'admin'.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@db_option
def web(
    host: str,
    port: int,
    cert: str | None,
    key: str | None,
    allow_insecure_remote: bool,
    demo: bool,
    log_level: str,
    db_path: str | None,
) -> None:
    """Serve the web admin: sign in, then Settings and administration → Sync.

    Admins sign in with accounts from `erpsync admins add`. A non-loopback --host needs TLS
    (--cert and --key) unless --allow-insecure-remote is given. With --demo, a throw-away
    home gets the bundled mock ERP server, a connector, connections and the admin 'admin'
    (password from $ERPSYNC_WEB_DEMO_PASSWORD, else generated and printed once).

    \b
    Examples:
        erpsync admins add alice && erpsync web
        erpsync web --host 0.0.0.0 --port 8443 --cert web.pem --key web.key
        erpsync web --demo --port 0
    """
    tls = check_tls(cert, key)
    loopback = _is_loopback(host)
    if not loopback and not tls and not allow_insecure_remote:
        raise CliError(
            f"refusing to serve the web admin on non-loopback address {host!r} without TLS: "
            "give --cert and --key, or --allow-insecure-remote"
        )
    home: Path | None = None
    server: subprocess.Popen[str] | None = None
    try:
        if demo:
            if db_path:
                raise CliError("--demo uses a throw-away home; it cannot be combined with --db")
            _exit_cleanly_on_sigterm()
            home, server = _demo_setup()
        _serve(host, port, tls, cert, key, loopback, log_level, db_path)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


def _serve(
    host: str,
    port: int,
    tls: bool,
    cert: str | None,
    key: str | None,
    loopback: bool,
    log_level: str,
    db_path: str | None,
) -> None:
    from host.registry.admins import AdminStore
    from host.web import WebSettings, create_app
    from host.web.app import LOOPBACK_HOSTS

    registry = open_registry(db_path)  # a bad registry is one line now, not on first page
    admin_count = len(AdminStore(registry).admins())
    resolved = registry.path
    registry.close()
    settings = WebSettings(
        db_path=resolved,
        tls=tls,
        allowed_hosts=list(LOOPBACK_HOSTS) if loopback else ["*"],
    )
    app = create_app(settings)

    def announce(server: Address) -> None:
        click.echo(f"serving the web admin at {server.base}/")
        if not admin_count:
            click.echo("no admin yet: add one with `erpsync admins add NAME`", err=True)
        if not loopback and not tls:
            click.echo(
                "warning: plain http on a non-loopback address (--allow-insecure-remote)", err=True
            )

    serve_app(app, host, port, log_level, ready=announce, ssl_certfile=cert, ssl_keyfile=key)


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM raises SystemExit, so the demo's `finally` stops the mock server and removes
    the home. (uvicorn re-raises the signal after its graceful shutdown; with the default
    handler the process would die there and leave both behind.)"""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _demo_setup() -> tuple[Path, subprocess.Popen[str]]:
    """A throw-away home with the mock ERP server, demo data and the admin 'admin'."""
    from host.cli.demo import _start_mock_server, demo_login, login_options

    home = Path(tempfile.mkdtemp(prefix="erpsync-web-demo-"))
    for name in ("ERPSYNC_DB", "ERPSYNC_SECRET_KEY"):
        os.environ.pop(name, None)
    os.environ["ERPSYNC_HOME"] = str(home)
    env = dict(os.environ)
    server, url = _start_mock_server(env, home / "mock-server.token")
    try:
        login = [*login_options(demo_login(), "company"), "--no-input"]
        for args in (
            ["connectors", "add", "mock-erp", url, "--token-file", str(home / "mock-server.token")],
            ["users", "add", "alice"],
            ["groups", "add", "sales"],
            ["groups", "add-member", "sales", "alice"],
            [
                *("connections", "add", "acme", "--connector", "mock-erp", "--config"),
                *("company=1", *login, "--description", "Demo connection to the mock ERP"),
            ],
            ["mapping", "enable", "acme", "customer"],
            ["connections", "activate", "acme"],
            [
                *("connections", "add", "acme-sales", "--connector", "mock-erp"),
                *("--config", "company=2", "--group", "sales", *login),
            ],
        ):
            done = subprocess.run(
                [sys.executable, "-m", "host.cli", *args], env=env, capture_output=True, text=True
            )
            if done.returncode:
                raise CliError(
                    f"demo step '{' '.join(args[:2])}' failed: {done.stderr.strip()[-300:]}"
                )
        password = os.environ.get(DEMO_PASSWORD_ENV) or secrets.token_urlsafe(12)
        from host.registry.admins import AdminStore

        registry = open_registry(None)
        AdminStore(registry).add(DEMO_ADMIN, password)
        registry.close()
    except BaseException:
        server.terminate()
        shutil.rmtree(home, ignore_errors=True)
        raise
    click.echo(f"# demo home {home} (removed on exit); mock ERP connector at {url}")
    if os.environ.get(DEMO_PASSWORD_ENV):
        click.echo(f"# sign in as {DEMO_ADMIN!r} with the password in ${DEMO_PASSWORD_ENV}")
    else:
        click.echo(f"# sign in as {DEMO_ADMIN!r} with password {password} (shown once)")
    return home, server
