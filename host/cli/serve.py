"""`erpsync serve` and `erpsync mock-server`: the connector host over HTTP (uvicorn)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from host.cli.errors import CliError

if TYPE_CHECKING:
    from host.server.run import Address

TOKEN_ENV = "ERPSYNC_SERVE_TOKEN"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


MIN_REMOTE_TOKEN_LENGTH = 32
"""Shorter tokens draw a warning when the host listens beyond loopback (guessable online)."""


def resolve_token(
    token: str | None, token_file: str | None, no_auth: bool, host: str
) -> str | None:
    """The token the host will require, or None for an explicit --no-auth on loopback.

    The token passes the same check as a connector's (no whitespace or control characters);
    a short one on a non-loopback address is served, with a warning on stderr.
    """
    from host.tokens import TokenError, check_token

    if no_auth:
        if token or token_file:
            raise CliError("--no-auth cannot be combined with --token or --token-file")
        if not _is_loopback(host):
            raise CliError(f"--no-auth is allowed only on loopback; --host is {host!r}")
        return None
    if token and token_file:
        raise CliError("give --token or --token-file, not both")
    try:
        if token_file:
            secret: str | None = _token_from_file(token_file)
        else:
            secret = check_token(token, what=f"--token (or ${TOKEN_ENV})") if token else None
    except TokenError as exc:
        raise CliError(str(exc)) from None
    if secret and len(secret) < MIN_REMOTE_TOKEN_LENGTH and not _is_loopback(host):
        click.echo(
            f"warning: the token is {len(secret)} characters long and --host {host} is not "
            f"loopback; use at least {MIN_REMOTE_TOKEN_LENGTH} random characters (a missing "
            "--token-file is created with one)",
            err=True,
        )
    return secret


def _token_from_file(token_file: str) -> str:
    """Read the token file, or create it (0600, fresh token) when missing.

    The file must be private: a token others can read is no secret. Its directory must
    exist: a typo in a path creates no directory tree.
    """
    from host.tokens import read_token_file

    what = f"--token-file {token_file!r}"
    path = Path(token_file)
    if path.exists():
        if os.name == "posix":
            mode = path.stat().st_mode
            if stat.S_ISREG(mode) and mode & 0o077:
                raise CliError(
                    f"{what} can be read or written by other users (mode "
                    f"{stat.S_IMODE(mode):04o}); make it private: chmod 600 {token_file}"
                )
        return read_token_file(path, what=what)
    parent = path.parent
    if not parent.is_dir():
        raise CliError(
            f"{what}: directory {str(parent)!r} does not exist; create it first "
            "(serve creates a missing token file, not directories)"
        )
    # A missing token file is created with a fresh token, readable by its owner only.
    fresh = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token_file(path, what=what)  # another process created it just now
    except OSError as exc:
        raise CliError(f"{what}: cannot create it ({exc.strerror or exc})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(fresh + "\n")
    return fresh


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
                type=click.Path(),
                metavar="FILE",
                help="Read the token from this file (must not be readable by others); "
                "created 0600 with a fresh token if missing, in a directory that exists.",
            ),
            click.option("--no-auth", is_flag=True, help="Require no token (loopback only)."),
            click.option(
                "--workers",
                default=1,
                show_default=True,
                type=click.IntRange(1, 64),
                help="Worker processes on the one port; more than 1 keeps the connections' "
                "configs in an encrypted SQLite file in the erpsync home (docs/scaling.md).",
            ),
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
    connectors: dict[str, Any],
    host: str,
    port: int,
    token: str | None,
    log_level: str,
    wrap: Callable[[Any], Any] | None = None,
    *,
    workers: int = 1,
    factory: HostAppFactory | None = None,
) -> None:
    """Bind first (so --port 0 works and the URL printed is the real one), then serve.

    `wrap`, when given, wraps the ASGI app (mock-server's fault injection uses it). With
    `workers` > 1 each worker process builds its own app with `factory`, and they share the
    connections' configs through a `SharedConnectionStore` made here.
    """
    if not connectors:
        raise CliError("no connector to serve: no installed app loaded (see erpsync apps list)")
    if token is None and not _is_loopback(host):
        raise CliError(
            "refusing to serve without a token on a non-loopback address; give --token or "
            "--token-file"
        )

    def announce(server: Address) -> None:
        for cid in sorted(connectors):
            click.echo(f"serving connector {cid} at {server.base}/connectors/{cid}")
        click.echo(
            "auth: bearer token required" if token else "auth: none (--no-auth, loopback only)",
            err=True,
        )
        if workers > 1:
            click.echo(f"workers: {workers}", err=True)

    if workers > 1 and factory is not None:
        with _shared_store() as store_path:
            shared = replace(factory, token=token, store_path=str(store_path))
            serve_app(None, host, port, log_level, ready=announce, workers=(workers, shared))
        return
    from host.server import create_app

    app: Any = create_app(connectors, token=token)
    if wrap is not None:
        app = wrap(app)
    serve_app(app, host, port, log_level, ready=announce)


@contextmanager
def _shared_store() -> Iterator[Path]:
    """A fresh shared GUID -> config store for the workers of this server, removed after."""
    from host.home import home_dir
    from host.registry.secrets import SecretKeyError
    from host.server.store import SharedConnectionStore, remove_store

    path = home_dir() / "connector-host" / f"configs-{os.getpid()}.db"
    try:
        store = SharedConnectionStore.create(path)
    except (OSError, SecretKeyError) as exc:
        raise CliError(f"cannot create the workers' shared store {path}: {exc}") from None
    try:
        yield path
    finally:
        store.close()
        remove_store(path)


@dataclass(frozen=True)
class HostAppFactory:
    """Builds the connector host app inside each worker process: it is pickled to the
    spawned workers, so it holds settings, never live objects."""

    token: str | None = None
    store_path: str = ""
    app_names: tuple[str, ...] = ()
    mock: tuple[int | None, int | None, str | None] | None = None
    """mock-server: (customers, seed, db_path) of the one MockErpConnector."""
    faults: tuple[float, float, tuple[str, ...], int] | None = None
    """mock-server: (latency, error_rate, fail kinds, fault seed)."""

    def __call__(self) -> Any:
        from host.server import create_app
        from host.server.store import SharedConnectionStore

        if self.mock is not None:
            from erpsync_mock_erp import MockErpConnector

            customers, seed, db_path = self.mock
            mock = MockErpConnector(customers=customers, seed=seed, db_path=db_path)
            connectors: dict[str, Any] = {mock.id: mock}
        else:
            connectors = _installed_connectors(self.app_names)
        store = SharedConnectionStore(Path(self.store_path))
        app: Any = create_app(connectors, token=self.token, store=store)
        if self.faults is not None:
            from erpsync_mock_erp.faults import FaultInjector

            latency, error_rate, kinds, seed = self.faults
            app = FaultInjector(app, latency=latency, error_rate=error_rate, fail=kinds, seed=seed)
        return app


def _installed_connectors(app_names: tuple[str, ...]) -> dict[str, Any]:
    from host.apps import load_apps

    loaded = load_apps()
    return {
        cid: c
        for cid, c in loaded.connectors.items()
        if not app_names or loaded.connector_app[cid] in app_names
    }


def serve_app(
    app: Any,
    host: str,
    port: int,
    log_level: str,
    *,
    ready: Callable[[Address], None],
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    workers: tuple[int, Callable[[], Any]] | None = None,
) -> None:
    """Serve an ASGI app with host.server.run until interrupted; `ready(server)` prints the
    real URL (flushed, so a parent reading our stdout sees it). A port that cannot be bound
    is one line. `workers` (count, app factory) serves the factory's app in that many
    processes instead of `app`."""
    from host.server.run import CannotListen, run, run_workers

    def announce(server: Address) -> None:
        ready(server)
        sys.stdout.flush()

    try:
        if workers is not None:
            count, factory = workers
            run_workers(factory, count, host, port, ready=announce, log_level=log_level)
            return
        run(
            app,
            host,
            port,
            ready=announce,
            log_level=log_level,
            access_log=log_level in ("info", "debug"),
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
    except CannotListen as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


@click.command()
@serve_options
@click.option("--app", "app_names", multiple=True, help="Serve only this app (repeatable).")
def serve(
    host: str,
    port: int,
    token: str | None,
    token_file: str | None,
    no_auth: bool,
    workers: int,
    log_level: str,
    app_names: tuple[str, ...],
) -> None:
    """Serve every installed connector at http://HOST:PORT/connectors/<id>/v1.

    A token is required unless --no-auth is given on a loopback address.

    \b
    Example:
        erpsync serve --port 8765 --token-file ~/.erpsync-serve.token
    """
    secret = resolve_token(token, token_file, no_auth, host)
    if secret is None and not no_auth:
        raise CliError("give --token, --token-file or (on loopback) --no-auth")
    connectors = _installed_connectors(app_names)
    factory = HostAppFactory(app_names=app_names)
    run_server(connectors, host, port, secret, log_level, workers=workers, factory=factory)


def _fault_wrapper(
    latency: float, error_rate: float, fail_kinds: tuple[str, ...], seed: int
) -> Callable[[Any], Any] | None:
    """The fault-injecting ASGI wrapper, or None when no fault option is given."""
    if not (latency or error_rate or fail_kinds):
        return None
    from erpsync_mock_erp.faults import FaultInjector

    def wrap(app: Any) -> Any:
        injector = FaultInjector(
            app, latency=latency, error_rate=error_rate, fail=fail_kinds, seed=seed
        )
        click.echo(injector.describe(), err=True)
        return injector

    return wrap


class MockFailKinds(click.Choice):
    """The mock app's fault kinds (erpsync_mock_erp.faults.FAIL_KINDS), read when first
    needed (help or parsing of mock-server), so `erpsync --help` imports no plugin."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from erpsync_mock_erp.faults import FAIL_KINDS

        return FAIL_KINDS

    @choices.setter
    def choices(self, value: object) -> None:
        """Ignored: the kinds are the mock app's."""


@click.command(name="mock-server")
@serve_options
@click.option(
    "--customers",
    type=click.IntRange(0, 1_000_000),
    help="Customers per company (default $ERPSYNC_MOCK_CUSTOMERS or 200).",
)
@click.option(
    "--seed", type=int, help="Seed of the generated data (default $ERPSYNC_MOCK_SEED or 42)."
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    help="Persist the data to this SQLite file (default $ERPSYNC_MOCK_DB, else memory only; "
    "with --workers a temporary file the workers share).",
)
@click.option(
    "--latency",
    type=click.FloatRange(0, 600),
    default=0.0,
    show_default=True,
    help="Seconds added to every request.",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of requests answered HTTP 500 with an HTML body.",
)
@click.option(
    "--fail",
    "fail_kinds",
    multiple=True,
    type=MockFailKinds(),
    help="Misbehave on every request this way (repeatable).",
)
@click.option(
    "--fault-seed",
    type=int,
    default=42,
    show_default=True,
    help="Seed of the RNG that picks which requests --error-rate fails.",
)
def mock_server(
    host: str,
    port: int,
    token: str | None,
    token_file: str | None,
    no_auth: bool,
    workers: int,
    log_level: str,
    customers: int | None,
    seed: int | None,
    db_path: str | None,
    latency: float,
    error_rate: float,
    fail_kinds: tuple[str, ...],
    fault_seed: int,
) -> None:
    """Serve the bundled mock ERP connector alone, at http://HOST:PORT/connectors/mock.

    Demo login: username demo, password mock-erp-secret, company 1-3. The data is generated
    per company on first use, deterministic for a seed. Fault options make the server slow or
    broken on purpose, to test clients: http500, malformed-json, slow-body, drop,
    wrong-version, reject-token.

    \b
    Examples:
        erpsync mock-server --port 0 --no-auth
        erpsync mock-server --no-auth --customers 100000 --db mock.sqlite
        erpsync mock-server --no-auth --latency 0.5 --error-rate 0.1 --fail slow-body
    """
    from erpsync_mock_erp import MockErpConnector

    secret = resolve_token(token, token_file, no_auth, host)
    if secret is None and not no_auth:
        raise CliError("give --token, --token-file or (on loopback) --no-auth")
    try:
        connector = MockErpConnector(customers=customers, seed=seed, db_path=db_path)
    except ValueError as exc:
        raise CliError(f"mock ERP settings: {exc}") from exc
    wrap = _fault_wrapper(latency, error_rate, fail_kinds, fault_seed)
    if workers == 1:
        run_server({connector.id: connector}, host, port, secret, log_level, wrap=wrap)
        return
    faults = (latency, error_rate, fail_kinds, fault_seed) if wrap is not None else None
    if wrap is not None:
        wrap(None)  # describes the faults once, in the parent
    with _mock_db(db_path) as shared_db:
        factory = HostAppFactory(mock=(customers, seed, shared_db), faults=faults)
        run_server(
            {connector.id: connector},
            host,
            port,
            secret,
            log_level,
            workers=workers,
            factory=factory,
        )


@contextmanager
def _mock_db(db_path: str | None) -> Iterator[str]:
    """The mock's SQLite file, which the workers share so each sees the others' writes:
    --db (or $ERPSYNC_MOCK_DB) when given, else a private temporary one removed after."""
    import shutil
    import tempfile

    from erpsync_mock_erp.connector import ENV_DB

    given = db_path or os.environ.get(ENV_DB, "").strip()
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="erpsync-mock-")
    try:
        yield str(Path(folder) / "mock.sqlite")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
