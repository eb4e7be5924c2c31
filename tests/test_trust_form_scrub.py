"""The `connections add/edit` form meets an untrusted connector (issue #10 items 1/2 with 15).

The form tests a config with one client and saves it with another, so each must know which
values are secret from the fields the connector declared, not guess by key name. And every
prompt, label, hint and list item it shows in a terminal is escaped. The connector is the
hostile one of tests/helpers/hostile_connector.py (a plain http.server: no server-side help).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers.cli import assert_one_line_error
from helpers.hostile_connector import HostileConnector, hostile_connector
from helpers.terminal import Terminal

from host.protocol.scrub import MASK

Invoke = Callable[..., Result]

PIN = "Pin-7730-LeakMe"
"""The secret, in a password field whose key ("pin") does not say it is one."""
TOKEN = "EVIL-tok-4f1c9e2b77"
CONFIG = ["--config", "server=erp.example.test", "--config", "username=bob"]
RAW = ("\x1b", "\x07", "\x9b", "\u200b", "\u202e")


@pytest.fixture
def evil(invoke: Invoke, erpsync_home: Path) -> Iterator[HostileConnector]:
    """The hostile connector, its secret field keyed `pin`, registered as `evil`."""
    with hostile_connector() as server:
        server.secret_key = "pin"
        added = invoke("connectors", "add", "evil", server.url, "--token", TOKEN)
        assert added.exit_code == 0, added.output
        yield server


@pytest.fixture
def pin_file(tmp_path: Path) -> str:
    path = tmp_path / "pin.txt"
    path.write_text(PIN + "\n", encoding="utf-8")
    return str(path)


def assert_clean(text: str) -> None:
    assert PIN.casefold() not in text.casefold(), text
    assert TOKEN not in text, text
    for ch in RAW:
        assert ch not in text, (repr(ch), text)


def test_a_failed_config_test_never_shows_a_secret_whose_key_does_not_say_so(
    invoke: Invoke, evil: HostileConnector, pin_file: str
) -> None:
    args = ["connections", "add", "acme", "--connector", "evil", *CONFIG, "--no-input"]
    failed = invoke(*args, "--config", f"pin=@{pin_file}")
    line = assert_one_line_error(failed, 3)
    assert f"Login failed for bob with password {MASK}" in line
    assert_clean(failed.stdout + failed.stderr)
    as_json = invoke(*args, "--config", f"pin=@{pin_file}", "--json")
    assert as_json.exit_code == 3
    assert json.loads(as_json.stdout)["test"]["error_code"] == "login_failed"
    assert_clean(as_json.stdout + as_json.stderr)


def test_a_saved_connection_and_its_edit_never_show_the_secret_either(
    invoke: Invoke, evil: HostileConnector, pin_file: str, tmp_path: Path
) -> None:
    evil.test_config_mode = "ok"
    args = ["connections", "add", "acme", "--connector", "evil", *CONFIG, "--no-input"]
    saved = invoke(*args, "--config", f"pin=@{pin_file}", "--config", "company=2")
    assert saved.exit_code == 0, saved.output
    assert f"Connected as bob with password {MASK}" in saved.stdout
    assert_clean(saved.stdout + saved.stderr)
    shown = invoke("connections", "show", "acme", "--json")
    assert_clean(shown.stdout)
    # The edit tests a new secret: its answers hide the new one and the stored one.
    new = tmp_path / "new-pin.txt"
    new.write_text("Pin-9911-Other", encoding="utf-8")
    evil.test_config_mode = "error"
    edited = invoke(
        "connections", "edit", "acme", "--config", f"pin=@{new}", "--no-input"
    )  # fmt: skip
    assert edited.exit_code == 3, edited.output
    assert "Pin-9911-Other" not in edited.stdout + edited.stderr
    assert_clean(edited.stdout + edited.stderr)


@pytest.mark.slow
def test_the_terminal_form_escapes_every_connector_text(
    evil: HostileConnector, erpsync_home: Path
) -> None:
    """Labels with escapes, a hint holding the token, list items with a forged line: the
    prompts show them escaped and scrubbed; the typed secret is neither echoed nor shown."""
    env = dict(os.environ)
    term = Terminal([sys.executable, "-m", "host.cli", "connections", "add", "acme"], env)
    try:
        term.expect(r"Connector \[evil\]: ")
        term.send("")
        term.expect(r"\(server\): ")
        term.send("erp.example.test")
        term.expect(r"\(username\): ")
        term.send("bob")
        term.expect(r"\(pin\): ")
        term.send(PIN)
        term.expect(r"Main company")
        term.expect(r"\(company\): ")
        term.send("1")
        term.expect(r"Description: ")
        term.send("")
        term.expect(r"Login failed for bob with password \*\*\*\*")
        term.expect(r"Change a value and test again\? \[Y/n\]: ")
        term.send("n")
        assert term.finish() == 3
    finally:
        if term.process.poll() is None:
            term.process.kill()
            term.process.wait()
    assert "\\x1b" in term.seen and "\\u202e" in term.seen  # shown, escaped
    assert_clean(term.seen)
