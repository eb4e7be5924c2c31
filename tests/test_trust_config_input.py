"""Issue #10 item 4: a secret need not sit on the command line, where every local user reads it.

Values come from --config-file (JSON or TOML), --config KEY=@FILE, --config KEY=- (stdin, or a
hidden prompt on a terminal); one parser serves `connections add/edit` and `apps check`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.cli import assert_one_line_error
from helpers.terminal import Terminal

PASSWORD = MOCK_PASSWORD
Invoke = Callable[..., Result]
ADD_M = [sys.executable, "-m", "host.cli", "connections", "add", "acme", "--connector", "m"]


@pytest.fixture
def mock_app(invoke: Invoke, erpsync_home: Path) -> Invoke:
    """A registry with connector `m`, the bundled mock ERP run in-process."""
    assert invoke("connectors", "add", "m", "app:mock").exit_code == 0
    return invoke


def add(invoke: Invoke, *args: str, input: str | None = None) -> Result:
    return invoke(
        "connections", "add", "acme", "--connector", "m", "--no-input", *args, input=input
    )


def shown_config(invoke: Invoke) -> dict[str, object]:
    result = invoke("connections", "show", "acme", "--json")
    assert result.exit_code == 0, result.output
    config = json.loads(result.stdout)["config"]
    assert isinstance(config, dict)
    return config


def test_a_password_piped_on_stdin_is_never_in_the_process_list(
    erpsync_home: Path, mock_server: object
) -> None:
    """The attack: another local user reads /proc/PID/cmdline (what `ps` shows) while the
    command runs. With `password=-` the secret travels on a pipe, not in argv."""
    env = dict(os.environ)
    url = mock_server.url  # type: ignore[attr-defined]
    token_file = str(mock_server.token_file)  # type: ignore[attr-defined]
    erpsync = [sys.executable, "-m", "host.cli"]
    subprocess.run(
        [*erpsync, "connectors", "add", "mock-erp", url, "--token-file", token_file],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    process = subprocess.Popen(
        [
            *[*erpsync, "connections", "add", "acme", "--connector", "mock-erp", "--no-input"],
            *["--config", "username=demo", "--config", "password=-"],
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        # While it waits for stdin, look at it the way `ps` (any local user) does.
        cmdline = b""
        for _ in range(200):
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
            if b"password=-" in cmdline:
                break
            time.sleep(0.05)
        assert b"password=-" in cmdline
        assert PASSWORD.encode() not in cmdline
        out, err = process.communicate(PASSWORD.encode() + b"\n", timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    assert b"tested and saved" in out
    assert PASSWORD.encode() not in out + err


def test_a_value_from_a_file_with_at_strips_one_trailing_newline(
    mock_app: Invoke, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    result = add(mock_app, "--config", "username=demo", "--config", f"password=@{secret}")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    # It really was the file's content: the connector accepted the login.
    assert "Connected to erp.mock.local as demo" in result.stdout


def test_double_at_gives_a_literal_at(mock_app: Invoke) -> None:
    result = add(
        mock_app,
        "--config",
        "server=@@erp.mock.local",
        "--config",
        "username=demo",
        "--config",
        f"password={PASSWORD}",
    )
    assert result.exit_code == 0, result.output
    assert shown_config(mock_app)["server"] == "@erp.mock.local"


@pytest.mark.parametrize(
    "name, text",
    [
        (
            "acme.toml",
            f'server = "erp.mock.local"\nusername = "demo"\npassword = "{PASSWORD}"\n'
            "company = 2\nread_only = true\n",
        ),
        (
            "acme.json",
            json.dumps({"username": "demo", "password": PASSWORD, "company": 2, "read_only": True}),
        ),
        (
            "acme.conf",  # no telling name: JSON is tried, then TOML
            f'username = "demo"\npassword = "{PASSWORD}"\ncompany = 2\nread_only = true\n',
        ),
    ],
)
def test_a_config_file_in_json_or_toml_keeps_its_types(
    mock_app: Invoke, tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = add(mock_app, "--config-file", str(path))
    assert result.exit_code == 0, result.output
    config = shown_config(mock_app)
    assert config["company"] == 2 and config["read_only"] is True
    assert config["password"] == "****"
    assert PASSWORD not in result.output


def test_config_on_the_command_line_wins_over_the_file(mock_app: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(f'username = "demo"\npassword = "{PASSWORD}"\ncompany = 2\n')
    result = add(mock_app, "--config-file", str(path), "--config", "company=3")
    assert result.exit_code == 0, result.output
    assert shown_config(mock_app)["company"] == 3


def test_edit_takes_a_config_file_too(mock_app: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "acme.json"
    path.write_text(json.dumps({"username": "demo", "password": PASSWORD}))
    assert add(mock_app, "--config-file", str(path)).exit_code == 0
    change = tmp_path / "change.toml"
    change.write_text("company = 3\n")
    result = mock_app("connections", "edit", "acme", "--config-file", str(change), "--no-input")
    assert result.exit_code == 0, result.output
    assert shown_config(mock_app)["company"] == 3


def test_only_one_value_can_come_from_stdin(mock_app: Invoke) -> None:
    result = add(mock_app, "--config", "username=-", "--config", "password=-", input="x\n")
    error = assert_one_line_error(result, 1)
    assert "only one value can be read from stdin" in error


def test_apps_check_reads_the_same_toml_file(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "mock.toml"
    path.write_text(f'username = "demo"\npassword = "{PASSWORD}"\n')
    result = invoke(
        "apps", "check", "mock", "--config-file", str(path), "--only", "config", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["config_source"] == "given"
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    "make, option, message",
    [
        (lambda d: d / "missing.toml", "--config-file", "no such file"),
        (lambda d: Path("/dev/zero"), "--config-file", "not a regular file"),
        (lambda d: _write(d / "a.json", f'{{"pw": "{PASSWORD}",}}'), "--config-file", "not JSON"),
        (lambda d: _write(d / "a.toml", f'password = "{PASSWORD}'), "--config-file", "not TOML"),
        (lambda d: _write(d / "a.json", f'["{PASSWORD}"]'), "--config-file", "one JSON object"),
        (lambda d: _write(d / "big.json", " " * (1024 * 1024 + 1)), "--config-file", "larger than"),
        (lambda d: d / "missing", "@", "no such file"),
        (lambda d: Path("/dev/zero"), "@", "not a regular file"),
    ],
)  # fmt: skip
def test_a_config_source_that_cannot_be_used_is_one_line_without_the_secret(
    mock_app: Invoke,
    tmp_path: Path,
    make: Callable[[Path], Path],
    option: str,
    message: str,
) -> None:
    path = make(tmp_path)
    if option == "@":
        args = ["--config", "username=demo", "--config", f"password=@{path}"]
    else:
        args = [option, str(path)]
    error = assert_one_line_error(add(mock_app, *args), 1)
    assert message in error
    assert PASSWORD not in error
    assert mock_app("connections", "list", "--json").stdout.strip() == "[]"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_stdin_on_a_terminal_is_a_hidden_prompt(mock_app: Invoke) -> None:
    term = Terminal(
        [*ADD_M, "--config", "username=demo", "--config", "password=-", "--description", "x"],
        dict(os.environ),
    )
    term.expect(r"password \(hidden\): ")
    term.send(PASSWORD)
    for prompt in [
        r"\(server\) \[erp.mock.local\]: ",
        r"\(company\) \[1\]: ",
        r"\[\.\]: ",
        r"\[y/N\]: ",
    ]:
        term.expect(prompt)  # the other fields: take the defaults
        term.send("")
    term.expect("tested and saved")
    assert term.finish() == 0
    assert PASSWORD not in term.seen
    assert shown_config(mock_app)["password"] == "****"


def test_stdin_on_a_terminal_with_no_input_is_refused(mock_app: Invoke) -> None:
    term = Terminal(
        [*ADD_M, "--config", "username=demo", "--config", "password=-", "--no-input"],
        dict(os.environ),
    )
    term.expect("stdin is a terminal and --no-input forbids a prompt")
    assert term.finish() == 1
