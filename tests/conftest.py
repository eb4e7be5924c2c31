"""Shared fixtures: an isolated erpsync home, a real mock connector server, the CLI runner, and
fake installed apps that the host discovers through real `.dist-info` entry points.

Helpers that are not fixtures live in tests/helpers/.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet
from helpers.apps import AppFactory
from helpers.mock_server import MockServer, refusing_port, start_mock_server, stop_process


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test has its own node id: xdist (`make test` runs `pytest -n 2 --dist loadfile`)
    schedules by node id, and its file and group modes silently run one of several items that
    share one. Schemathesis (4.x on pytest 9) gives all the operations of a schema-parametrized
    test the function's node id: each gets its operation back (`...::test_x[GET /path]`, as its
    name already says). Any other shared node id stops the run."""
    for item in items:
        base = item.nodeid.rpartition("::")[2]
        if "[" not in base and item.name.startswith(base + "[") and item.name.endswith("]"):
            params = item.name[len(base) + 1 : -1]
            if hasattr(item, "_id"):  # pytest >= 9: a structured node id
                item._id = item._id.with_params(params)
            else:
                item._nodeid = f"{item.nodeid}[{params}]"
    seen = Counter(item.nodeid for item in items)
    shared = sorted(nodeid for nodeid, count in seen.items() if count > 1)
    if shared:
        raise pytest.UsageError(f"tests share a node id (xdist would skip some): {shared}")


@pytest.fixture(autouse=True)
def _isolated_erpsync_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's ERPSYNC_* settings or writes to the real user data dir."""
    for name in list(os.environ):
        if name.startswith("ERPSYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ERPSYNC_HOME", str(tmp_path_factory.mktemp("default-home")))


@pytest.fixture
def erpsync_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ERPSYNC_HOME and a fixed ERPSYNC_SECRET_KEY (a real Fernet key)."""
    home = tmp_path / "erpsync-home"
    home.mkdir(mode=0o700)  # as erpsync creates it: `doctor` reports a home others can read
    monkeypatch.setenv("ERPSYNC_HOME", str(home))
    monkeypatch.setenv("ERPSYNC_SECRET_KEY", Fernet.generate_key().decode())
    return home


@pytest.fixture(scope="session")
def mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    """One real `erpsync mock-server` for the session, on a free loopback port, with a token.

    It keeps state (GUID -> config) across tests: use a fresh GUID per test.
    """
    server = start_mock_server(tmp_path_factory.mktemp("mock-server"))
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections during the test (helpers.mock_server)."""
    with refusing_port() as port:
        yield port


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner) -> Callable[..., Result]:
    """`invoke("connectors", "list", "--json", input=None)` runs `erpsync` in-process.

    stdout and stderr stay separate: result.stdout, result.stderr (click >= 8.2).
    """

    def _invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        from host.cli import cli

        return runner.invoke(cli, list(args), input=input, env=env, prog_name="erpsync")

    return _invoke


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppFactory]:
    """`make_app("name", source)` installs a fake sync app (a real .dist-info) for one test."""
    factory = AppFactory(tmp_path / "fake-apps", monkeypatch)
    factory.root.mkdir()
    yield factory
    factory.cleanup()


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester without pytest-playwright in the inner runs: the plugin wraps every test in a
    soft-assertion scope that cannot nest, so an in-process run inside a test would fail."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:playwright")
    return pytester
