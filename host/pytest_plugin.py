"""The `erpsync` pytest plugin (pytest11 entry point of erpsync-host): what a partner's tests need.

Fixtures (all names start with `erpsync_`, so they never clash with a project's own):

- `erpsync_serve`: session factory, `erpsync_serve("acme")` serves an installed connector (or
  a Connector instance) over real HTTP on a free 127.0.0.1 port (uvicorn in a thread, with a
  bearer token) and returns a `ServedApp`.
- `erpsync_app`: the app of the test class's `connector_id` (or the `erpsync_connector_id`
  fixture), served.
- `erpsync_client`: a `ConnectorClient` bound to `erpsync_app`; call its coroutines with
  `erpsync_run(...)` in a plain test.
- `erpsync_run`: runs a coroutine to completion on the test's own event loop.
- `erpsync_mock_server`: the bundled mock ERP served alone, with its demo login in `.config`.

And `ConformanceSuite`: subclass it, set `connector_id` and `config`, and pytest runs every
check of the conformance suite as its own test, `test_conformance[<check id>]`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pytest

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.conformance import SuiteReport
    from host.connector import Connector

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20.0


@dataclass
class ServedApp:
    """One connector served on a loopback port: its URL and the token it requires."""

    connector_id: str
    url: str
    token: str | None
    config: dict[str, Any] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> ConnectorClient:
        """A new client for this connector; use it as `async with served.client() as c:`."""
        from host.client import ConnectorClient

        return ConnectorClient(self.url, token=self.token, **kwargs)


class LoopbackServer:
    """The connector host ASGI app served in a daemon thread, on 127.0.0.1 only."""

    def __init__(self, connectors: Mapping[str, Connector], *, token: str | None) -> None:
        from host.server import create_app
        from host.server.run import Server

        self.token = token
        app = create_app(dict(connectors), token=token)
        self._server = Server(app, LOOPBACK, 0, lifespan="off", backlog=128)
        self.port = self._server.port

    @property
    def base(self) -> str:
        return self._server.base

    def url(self, connector_id: str) -> str:
        return f"{self.base}/connectors/{connector_id}"

    def start(self) -> None:
        """Start serving and wait until uvicorn says it has started."""
        try:
            self._server.start(START_TIMEOUT)
        except RuntimeError:
            raise RuntimeError(f"the connector host did not start on {self.base}") from None

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def serve_connectors(
    connectors: Mapping[str, Connector], *, token: str | None = None
) -> Iterator[LoopbackServer]:
    """Serve these connectors on a free loopback port for the duration of the block."""
    server = LoopbackServer(connectors, token=token)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def load_connector(connector_id: str) -> Connector:
    """The installed connector with this id, loaded the way the host loads it.

    Apps disabled with `erpsync apps disable` are loaded anyway (tests must not depend on the
    developer's machine); a missing or broken app fails with the host's one-line reason.
    """
    from host.apps import load_apps

    loaded = load_apps(disabled=())
    connector = loaded.connectors.get(connector_id)
    if connector is not None:
        return connector
    broken = [f"{a.name}: {a.status} {a.error}".strip() for a in loaded.apps if a.error]
    served = ", ".join(sorted(loaded.connectors)) or "none"
    raise LookupError(
        f"no installed app provides connector {connector_id!r} (loaded: {served})"
        + (f"; not loaded: {'; '.join(broken)}" if broken else "")
        + ". Install your app (pip install -e .) so its erpsync.apps entry point is found."
    )


class AppServers:
    """The session's servers, one per connector id, started on first use."""

    def __init__(self) -> None:
        self._servers: dict[str, tuple[LoopbackServer, ServedApp]] = {}

    def __call__(
        self,
        connector: str | Connector,
        *,
        token: str | None = "",
        config: Mapping[str, Any] | None = None,
    ) -> ServedApp:
        """Serve an installed connector id, or a Connector instance; `token=None` disables
        auth, the default is a fresh random token."""
        if isinstance(connector, str):
            connector_id = connector
            key = connector_id
        else:
            connector_id = connector.id
            key = f"{connector_id}@{id(connector)}"
        if key not in self._servers:
            instance = load_connector(connector) if isinstance(connector, str) else connector
            secret = secrets.token_urlsafe(24) if token == "" else token
            server = LoopbackServer({connector_id: instance}, token=secret)
            server.start()
            served = ServedApp(connector_id, server.url(connector_id), secret, dict(config or {}))
            self._servers[key] = (server, served)
        return self._servers[key][1]

    def close(self) -> None:
        for server, _ in self._servers.values():
            server.stop()
        self._servers.clear()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def erpsync_serve() -> Iterator[AppServers]:
    """`erpsync_serve("acme")`: serve an installed connector (or a Connector instance) on a
    free loopback port for the session; returns a ServedApp (url, token)."""
    servers = AppServers()
    yield servers
    servers.close()


@pytest.fixture
def erpsync_connector_id(request: pytest.FixtureRequest) -> str:
    """The connector id the test is about: the test class's `connector_id`; override this
    fixture to choose another way."""
    connector_id = getattr(request.cls, "connector_id", "") if request.cls else ""
    if not connector_id:
        raise pytest.UsageError(
            "erpsync_app needs a connector id: set connector_id on the test class or override "
            "the erpsync_connector_id fixture"
        )
    return str(connector_id)


@pytest.fixture
def erpsync_app(erpsync_serve: AppServers, erpsync_connector_id: str) -> ServedApp:
    """The installed app's connector served over HTTP on a loopback port."""
    return erpsync_serve(erpsync_connector_id)


@pytest.fixture
def erpsync_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The test's own event loop, for erpsync_run and erpsync_client."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def erpsync_run(
    erpsync_loop: asyncio.AbstractEventLoop,
) -> Callable[[Coroutine[Any, Any, T]], T]:
    """`erpsync_run(client.info())`: await a coroutine from a plain (sync) test."""

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return erpsync_loop.run_until_complete(coro)

    return run


@pytest.fixture
def erpsync_client(
    erpsync_app: ServedApp, erpsync_loop: asyncio.AbstractEventLoop
) -> Iterator[ConnectorClient]:
    """A ConnectorClient bound to erpsync_app, closed after the test."""
    client = erpsync_app.client()
    yield client
    erpsync_loop.run_until_complete(client.aclose())


@pytest.fixture(scope="session")
def erpsync_mock_server(erpsync_serve: AppServers) -> ServedApp:
    """The bundled mock ERP served alone (fresh data); `.config` holds its demo login."""
    from host.apps import MOCK_APP, app_module

    mock = app_module(MOCK_APP)  # the app through its entry point, like any other
    return erpsync_serve(mock.MockErpConnector(), config=dict(mock.DEMO_LOGIN))


# --- the conformance suite as pytest tests ---------------------------------------------------


def format_result(result: Any) -> str:
    """A failed check as pytest shows it: the message, then expected and got."""
    lines = [f"{result.id}: {result.message}"]
    if result.expected is not None:
        lines.append(f"  expected: {result.expected}")
    if result.got is not None:
        lines.append(f"  got:      {result.got}")
    return "\n".join(lines)


class ConformanceSuite:
    """Subclass as `class TestConformance(ConformanceSuite)` and set the class attributes:

    - `connector_id`: the installed connector to serve;
    - `config`: its connection values (or override the class-scoped fixture
      `erpsync_conformance_config`, e.g. to build them from tmp_path_factory);
    - `write`: also create and save actors (a read-only connector's write checks skip);
    - `only`: run only these checks (ids or prefixes such as "changed_since").

    pytest then runs one test per check: `test_conformance[info]`, ... The suite runs once
    per class against the app served on a loopback port; each test reports its check.
    """

    connector_id: ClassVar[str] = ""
    config: ClassVar[Mapping[str, Any] | None] = None
    write: ClassVar[bool] = False
    only: ClassVar[Sequence[str]] = ()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """One test per check, named by the check's id."""
        if "erpsync_check" in metafunc.fixturenames:
            from host.conformance import select_checks

            ids = [c.id for c in select_checks(type(self).only)]
            metafunc.parametrize("erpsync_check", ids, ids=ids)

    @pytest.fixture(scope="class")
    @classmethod
    def erpsync_conformance_config(cls) -> Mapping[str, Any] | None:
        """The connection values the suite uses; the class's `config` by default."""
        return cls.config

    @pytest.fixture(scope="class")
    @classmethod
    def erpsync_conformance_report(
        cls,
        erpsync_serve: AppServers,
        erpsync_conformance_config: Mapping[str, Any] | None,
    ) -> SuiteReport:
        """The whole suite, run once for the class against the served app."""
        from host.conformance import run_suite

        if not cls.connector_id:
            raise pytest.UsageError(f"{cls.__name__} must set connector_id")
        try:
            served = erpsync_serve(cls.connector_id)
        except LookupError as exc:
            pytest.fail(str(exc), pytrace=False)

        async def run() -> SuiteReport:
            async with served.client() as client:
                return await run_suite(
                    client,
                    config=erpsync_conformance_config,
                    write=cls.write,
                    only=cls.only,
                    target=served.url,
                )

        return asyncio.run(run())

    def test_conformance(self, erpsync_check: str, erpsync_conformance_report: SuiteReport) -> None:
        """One check of the conformance suite (see docs/partner-guide.md for each)."""
        from host.conformance import Status

        result = erpsync_conformance_report.result(erpsync_check)
        if result.status is Status.SKIP:
            pytest.skip(f"{result.id}: {result.message}")
        if result.status is Status.FAIL:
            pytest.fail(format_result(result), pytrace=False)
