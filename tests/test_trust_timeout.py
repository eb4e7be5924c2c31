"""Issue #10 item 16: a connector that accepts and never answers cannot hold a command.

Each command that calls a connector has one overall `--timeout`; the error (or warning)
names the connector and the call it waited for; a terminal shows a spinner meanwhile.
Commands run as subprocesses with a generous subprocess timeout, which only catches a hang:
nothing here asserts on elapsed time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.faults import RawServer, raw_server
from helpers.terminal import Terminal

PASSWORD = MOCK_PASSWORD
Invoke = Callable[..., Result]
ERPSYNC = [sys.executable, "-m", "host.cli"]
HANG_LIMIT = 30  # seconds: far above --timeout 2, only there to end a hanging command

pytestmark = pytest.mark.slow


@pytest.fixture
def silent() -> Iterator[RawServer]:
    """A server that accepts every connection, reads the request, and never answers."""
    with raw_server("hang") as server:
        yield server


@pytest.fixture
def stuck(invoke: Invoke, erpsync_home: Path, mock_server: object, silent: RawServer) -> str:
    """Connector `m` with connection `acme` saved while it answered; now it is at a URL that
    never answers. Returns that URL."""
    url, token_file = mock_server.url, str(mock_server.token_file)  # type: ignore[attr-defined]
    steps = [
        ["connectors", "add", "m", url, "--token-file", token_file],
        [
            *["connections", "add", "acme", "--connector", "m", "--no-input"],
            *["--config", "username=demo", "--config", f"password={PASSWORD}"],
        ],
        ["connectors", "edit", "m", "--url", f"{silent.base}/connectors/mock", "--no-check"],
    ]
    for step in steps:
        result = invoke(*step)
        assert result.exit_code == 0, result.output
    return f"{silent.base}/connectors/mock"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ERPSYNC, *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=HANG_LIMIT,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "args, code, call",
    [
        (["connectors", "show", "m", "--check"], 4, "info"),
        (["connectors", "edit", "m", "--token", "new-token"], 4, "info"),
        (["connections", "test", "acme"], 4, "info"),
        (["connections", "activate", "acme"], 4, "info"),
        (["connections", "edit", "acme", "--config", "company=2", "--no-input"], 4, "info"),
        (["connections", "add", "b", "--connector", "m", "--no-input"], 4, "info"),
        (["doctor"], 1, "info"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_a_silent_connector_ends_each_command_within_its_timeout(
    stuck: str, args: list[str], code: int, call: str
) -> None:
    done = run(*args, "--timeout", "2")
    assert done.returncode == code, (done.stdout, done.stderr)
    assert (
        f"connector 'm' ({stuck}) did not answer '{call}' within 2 s" in done.stdout + done.stderr
    )
    assert "Traceback" not in done.stderr
    assert "\r" not in done.stderr  # no spinner when stderr is not a terminal


def test_connectors_add_of_a_silent_url_ends_within_its_timeout(
    erpsync_home: Path, silent: RawServer
) -> None:
    url = f"{silent.base}/connectors/mock"
    done = run("connectors", "add", "x", url, "--timeout", "2")
    assert done.returncode == 4, (done.stdout, done.stderr)
    assert f"connector 'x' ({url}) did not answer 'info' within 2 s" in done.stderr
    assert json.loads(run("connectors", "list", "--json").stdout) == []


def test_remove_of_a_connection_whose_connector_is_silent_removes_it_here_with_a_warning(
    invoke: Invoke, stuck: str
) -> None:
    done = run("connections", "remove", "acme", "--yes", "--timeout", "2")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert (
        f"warning: connector 'm' ({stuck}) did not answer 'delete connection' within 2 s"
        in done.stderr
    )
    assert "removed here anyway" in done.stderr
    assert json.loads(invoke("connections", "list", "--json").stdout) == []


def test_a_terminal_shows_a_spinner_naming_the_call_it_waits_for(stuck: str) -> None:
    term = Terminal(
        [*ERPSYNC, "connections", "remove", "acme", "--yes", "--timeout", "2"], dict(os.environ)
    )
    try:
        term.expect(r"\r[|/\\-] erpsync connections remove: waiting for delete connection")
        term.expect(r"removed here anyway")
        assert term.finish() == 0
    finally:
        if term.process.poll() is None:
            term.process.kill()
            term.process.wait()
