"""Issue #10 item 15: `connections add` in a terminal keeps what was typed.

Each test drives the real command in a real pseudo-terminal against a real `erpsync
mock-server` (demo login: the app's DEMO_LOGIN, tests/helpers MOCK_CONFIG).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.cli import assert_one_line_error
from helpers.terminal import Terminal

PASSWORD = MOCK_PASSWORD
Invoke = Callable[..., Result]
ERPSYNC = [sys.executable, "-m", "host.cli"]


@pytest.fixture
def registered(invoke: Invoke, erpsync_home: Path, mock_server: object) -> Invoke:
    """Connector `mock-erp`: the real mock server over HTTP, with its token."""
    url, token_file = mock_server.url, str(mock_server.token_file)  # type: ignore[attr-defined]
    result = invoke("connectors", "add", "mock-erp", url, "--token-file", token_file)
    assert result.exit_code == 0, result.output
    return invoke


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    """Terminals a test opens; a process still running at the end is killed."""
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        if term.process.poll() is None:
            term.process.kill()
            term.process.wait()


def start(terminals: list[Terminal], *args: str) -> Terminal:
    term = Terminal([*ERPSYNC, *args], dict(os.environ))
    terminals.append(term)
    return term


def saved(invoke: Invoke) -> list[dict[str, object]]:
    rows = json.loads(invoke("connections", "list", "--json").stdout)
    assert isinstance(rows, list)
    return rows


def answer_rest_with_defaults(term: Terminal) -> None:
    """Company, decimal separator, read only: Enter takes each default."""
    for prompt in [r"\(company\) \[1\]: ", r"\(decimal_separator\) \[\.\]: ", r"\[y/N\]: "]:
        term.expect(prompt)
        term.send("")


def test_a_failed_test_keeps_the_values_and_offers_to_change_one(
    registered: Invoke, terminals: list[Terminal]
) -> None:
    """The mistake: a wrong password. Today everything typed is lost with exit 3."""
    term = start(terminals, "connections", "add", "acme", "--connector", "mock-erp")
    term.expect(r"\(server\) \[erp\.mock\.local\]: ")
    term.send("")
    term.expect(r"\(username\): ")
    term.send("demo")
    term.expect(r"\(password\): ")
    term.send("wrong-password")
    answer_rest_with_defaults(term)
    term.expect(r"Description: ")
    term.send("Acme in the mock ERP")
    term.expect(r"wrong username or password")
    term.expect(r"Change a value and test again\? \[Y/n\]: ")
    term.send("")
    term.expect(r"Field to change: ")
    term.send("password")
    term.expect(r"\(password\): ")
    term.send(PASSWORD)
    term.expect(r"tested and saved")
    assert term.finish() == 0
    assert PASSWORD not in term.seen and "wrong-password" not in term.seen
    (row,) = saved(registered)
    assert row["description"] == "Acme in the mock ERP"  # kept from before the failure
    config = row["config"]
    assert isinstance(config, dict) and config["username"] == "demo"


def test_declining_to_change_a_value_saves_nothing_and_exits_3(
    registered: Invoke, terminals: list[Terminal]
) -> None:
    term = start(
        terminals,
        *["connections", "add", "acme", "--connector", "mock-erp", "--description", ""],
        *["--config", "username=demo", "--config", "password=wrong-password"],
    )
    term.expect(r"\(server\) \[erp\.mock\.local\]: ")
    term.send("")
    answer_rest_with_defaults(term)
    term.expect(r"Change a value and test again\? \[Y/n\]: ")
    term.send("n")
    term.expect(r"Error: connection test failed, nothing was saved")
    assert term.finish() == 3
    assert saved(registered) == []


def test_an_empty_mandatory_password_and_a_bad_value_are_asked_again(
    registered: Invoke, terminals: list[Terminal]
) -> None:
    """Today an empty password is accepted at the prompt, then everything fails at the end."""
    term = start(
        terminals,
        *["connections", "add", "acme", "--connector", "mock-erp", "--description", ""],
        *["--config", "username=demo"],
    )
    term.expect(r"\(server\) \[erp\.mock\.local\]: ")
    term.send("")
    term.expect(r"\(password\): ")
    term.send("")
    term.expect(r"password is mandatory")
    term.expect(r"\(password\): ")
    term.send(PASSWORD)
    term.expect(r"\(company\) \[1\]: ")
    term.send("many")
    term.expect(r"company: expected a whole number")
    term.expect(r"\(company\) \[1\]: ")
    term.send("2")
    term.expect(r"\(decimal_separator\) \[\.\]: ")
    term.send("")
    term.expect(r"\[y/N\]: ")
    term.send("")
    term.expect(r"tested and saved")
    assert term.finish() == 0
    (row,) = saved(registered)
    config = row["config"]
    assert isinstance(config, dict) and config["company"] == 2


def test_the_first_ctrl_c_aborts_cleanly_and_saves_nothing(
    registered: Invoke, terminals: list[Terminal]
) -> None:
    """Today the first Ctrl-C at a prompt is swallowed (the prompt runs inside asyncio.run,
    whose handler only cancels the task); the command keeps waiting."""
    term = start(terminals, "connections", "add", "acme", "--connector", "mock-erp")
    term.expect(r"Server or file path .*\[erp\.mock\.local\]: ")  # the first prompt
    # A person types later than this: a SIGINT landing between input() writing its prompt
    # and starting to read is only seen after the read (a CPython race, not ours).
    time.sleep(0.5)
    term.interrupt()
    term.expect(r"Aborted!", timeout=15)
    assert term.finish(timeout=15) == 130
    assert "Traceback" not in term.seen
    assert saved(registered) == []


def test_label_fields_are_text_and_each_prompt_has_one_bracketed_default(
    registered: Invoke, terminals: list[Terminal]
) -> None:
    term = start(
        terminals,
        *["connections", "add", "acme", "--connector", "mock-erp", "--description", ""],
        *["--config", "username=demo", "--config", f"password={PASSWORD}"],
    )
    term.expect(r"\(server\) \[erp\.mock\.local\]: ")
    term.send("")
    answer_rest_with_defaults(term)
    term.expect(r"tested and saved")
    assert term.finish() == 0
    # The mock's label field (rank 70) is shown as text, after the fields before it.
    assert "Demo login: see the erpsync README" in term.seen
    assert term.seen.index("(read_only)") < term.seen.index("Demo login")
    assert "(note)" not in term.seen  # not a prompt
    prompts = [p for p in term.seen.split("\n") if re.search(r"\]: ", p)]
    assert prompts
    for prompt in prompts:
        assert prompt.count("[") == 1, f"more than one bracketed default: {prompt!r}"


def test_a_terminal_asks_for_connector_scope_and_description(
    registered: Invoke, terminals: list[Terminal]
) -> None:
    """Today `--connector` is required even in a terminal, and scope/description are never
    asked: the admin must know every option up front."""
    for args in (["users", "add", "alice"], ["users", "add", "bob"], ["groups", "add", "sales"]):
        assert registered(*args).exit_code == 0
    term = start(
        terminals,
        *["connections", "add", "acme"],
        *["--config", "username=demo", "--config", f"password={PASSWORD}"],
    )
    term.expect(r"mock-erp: http://")  # the registered connectors are listed
    term.expect(r"Connector \[mock-erp\]: ")
    term.send("")
    term.expect(r"\(server\) \[erp\.mock\.local\]: ")
    term.send("")
    answer_rest_with_defaults(term)
    term.expect(r"Who may use it \(everyone, restricted\) \[everyone\]: ")
    term.send("restricted")
    term.expect(r"users: alice, bob")
    term.expect(r"Users \(comma-separated, empty for none\): ")
    term.send("alice, mallory")
    term.expect(r"no user named 'mallory'")
    term.expect(r"Users \(comma-separated, empty for none\): ")
    term.send("alice")
    term.expect(r"Groups \(comma-separated, empty for none\): ")
    term.send("sales")
    term.expect(r"Description: ")
    term.send("Acme in the mock ERP")
    term.expect(r"tested and saved")
    assert term.finish() == 0
    (row,) = saved(registered)
    assert row["connector"] == "mock-erp"
    assert row["scope"] == "restricted"
    assert (row["users"], row["groups"]) == (["alice"], ["sales"])
    assert row["description"] == "Acme in the mock ERP"


def test_without_a_terminal_a_missing_connector_is_one_line(registered: Invoke) -> None:
    """--no-input (or no terminal) keeps today's behaviour: nothing is asked."""
    result = registered("connections", "add", "acme", "--no-input")
    error = assert_one_line_error(result, 2)
    assert "missing option --connector (registered: mock-erp)" in error


def test_a_bad_value_given_as_an_option_is_offered_for_change_not_thrown_away(
    registered: Invoke, terminals: list[Terminal]
) -> None:
    """A bad --config value and a value for a label field: the first is offered for change
    (suggested), the second dropped; everything else typed is kept."""
    term = start(
        terminals,
        *["connections", "add", "acme", "--connector", "mock-erp", "--description", "d"],
        *["--config", "username=demo", "--config", f"password={PASSWORD}"],
        *["--config", "company=many", "--config", "note=hello"],
    )
    term.expect(r"\(server\) \[erp\.mock\.local\]: ")
    term.send("other.mock.local")
    term.expect(r"\(decimal_separator\) \[\.\]: ")
    term.send(",")
    term.expect(r"\[y/N\]: ")
    term.send("")
    term.expect(r"company .* whole number")
    term.expect(r"note: cannot be given a value; dropped")
    term.expect(r"Change a value and try again\? \[Y/n\]: ")
    term.send("")
    term.expect(r"Field to change \[company\]: ")
    term.send("")
    term.expect(r"\(company\) \[1\]: ")
    term.send("3")
    term.expect(r"tested and saved")
    assert term.finish() == 0
    (row,) = saved(registered)
    config = row["config"]
    assert isinstance(config, dict)
    assert (config["server"], config["company"], config["decimal_separator"]) == (
        "other.mock.local",
        3,
        ",",
    )
