"""`erpsync admins` and `erpsync web`'s refusals: accounts with argon2 hashes, passwords never
from argv, and no plain http on a non-loopback address unless asked for."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers.cli import assert_one_line_error, heavy_modules_after_help
from helpers.faults import self_signed_cert

Invoke = Callable[..., Result]
PASSWORD = "a long enough password"


def add(invoke: Invoke, name: str = "alice", password: str = PASSWORD) -> Result:
    return invoke("admins", "add", name, "--password-file", "-", input=password + "\n")


def test_add_list_and_remove_an_admin(invoke: Invoke, erpsync_home: Path) -> None:
    result = add(invoke)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added admin 'alice'\n"
    listed = json.loads(invoke("admins", "list", "--json").stdout)
    assert [a["name"] for a in listed] == ["alice"]
    assert set(listed[0]) == {"name", "created_at", "updated_at", "last_login_at"}
    table = invoke("admins", "list").stdout
    assert "alice" in table and "hash" not in table.lower()
    assert invoke("admins", "remove", "alice").exit_code == 0
    assert json.loads(invoke("admins", "list", "--json").stdout) == []
    raw = b"".join(p.read_bytes() for p in erpsync_home.glob("registry.db*"))
    assert PASSWORD.encode() not in raw


def test_the_password_is_stored_as_an_argon2id_hash(invoke: Invoke, erpsync_home: Path) -> None:
    import sqlite3

    add(invoke)
    with sqlite3.connect(erpsync_home / "registry.db") as conn:
        (hashed,) = conn.execute("select password_hash from admins").fetchone()
    assert hashed.startswith("$argon2id$")
    from host.registry import Registry
    from host.registry.admins import AdminStore

    store = AdminStore(Registry.open(erpsync_home / "registry.db"))
    assert store.verify("alice", PASSWORD)
    assert not store.verify("alice", PASSWORD + "x")
    assert not store.verify("nobody", PASSWORD)


def test_the_password_comes_from_a_file(invoke: Invoke, erpsync_home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    result = invoke("admins", "add", "bob", "--password-file", str(secret))
    assert result.exit_code == 0, result.output
    from host.registry import Registry
    from host.registry.admins import AdminStore

    assert AdminStore(Registry.open(erpsync_home / "registry.db")).verify("bob", PASSWORD)


@pytest.mark.parametrize(
    "password, expected",
    [
        ("short", "the password is 5 characters long; at least 10"),
        (" leading space pw", "starts or ends with white space"),
    ],
)
def test_a_weak_password_is_one_line_and_never_shown(
    invoke: Invoke, erpsync_home: Path, password: str, expected: str
) -> None:
    result = add(invoke, password=password)
    line = assert_one_line_error(result, 1)
    assert expected in line
    assert password.strip() not in line
    assert json.loads(invoke("admins", "list", "--json").stdout) == []


def test_without_a_terminal_or_password_file_nothing_is_read(
    invoke: Invoke, erpsync_home: Path
) -> None:
    result = invoke("admins", "add", "alice", input=PASSWORD + "\n")
    line = assert_one_line_error(result, 1)
    assert "--password-file" in line


def test_a_password_file_that_is_not_a_regular_file_is_refused(
    invoke: Invoke, erpsync_home: Path
) -> None:
    result = invoke("admins", "add", "alice", "--password-file", "/dev/zero")
    line = assert_one_line_error(result, 1)
    assert "not a regular file" in line


def test_the_same_name_twice_is_a_conflict(invoke: Invoke, erpsync_home: Path) -> None:
    add(invoke)
    assert "already exists" in assert_one_line_error(add(invoke), 1)


def test_unknown_admin_is_one_line(invoke: Invoke, erpsync_home: Path) -> None:
    assert "no admin named 'ghost'" in assert_one_line_error(invoke("admins", "remove", "ghost"), 1)
    result = invoke("admins", "passwd", "ghost", "--password-file", "-", input=PASSWORD + "\n")
    assert "no admin named 'ghost'" in assert_one_line_error(result, 1)


def test_passwd_changes_the_password_and_ends_sessions(invoke: Invoke, erpsync_home: Path) -> None:
    from host.registry import Registry
    from host.registry.admins import AdminStore

    add(invoke)
    store = AdminStore(Registry.open(erpsync_home / "registry.db"))
    session_id = store.start_session("alice", "127.0.0.1")
    assert store.session(session_id) is not None
    result = invoke(
        "admins", "passwd", "alice", "--password-file", "-", input="another password!\n"
    )
    assert result.exit_code == 0, result.output
    assert store.session(session_id) is None
    assert store.verify("alice", "another password!")
    assert not store.verify("alice", PASSWORD)
    audit = json.loads(invoke("audit", "--json").stdout)
    assert [e["action"] for e in audit][:3] == ["admin.passwd", "admin.login", "admin.add"]


def test_a_session_ends_when_idle_or_too_old(
    erpsync_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from host.registry import Registry
    from host.registry import admins as module

    store = module.AdminStore(Registry.open(erpsync_home / "registry.db"))
    store.add("alice", PASSWORD)
    clock = [1_000_000.0]
    monkeypatch.setattr(module.time, "time", lambda: clock[0])
    idle = store.start_session("alice")
    busy = store.start_session("alice")
    clock[0] += module.SESSION_IDLE_SECONDS - 10
    assert store.session(busy) is not None
    clock[0] += 20
    assert store.session(idle) is None  # idle too long
    assert store.session(busy) is not None  # seen 20 s ago
    for _ in range(module.SESSION_MAX_SECONDS // (module.SESSION_IDLE_SECONDS - 60) + 1):
        clock[0] += module.SESSION_IDLE_SECONDS - 60
        found = store.session(busy)
    assert found is None  # past the absolute limit, however busy
    assert store.session("") is None and store.session("x" * 500) is None


def test_the_password_is_asked_twice_with_a_hidden_prompt(tmp_path: Path) -> None:
    """A real terminal (a pty): the prompt hides what is typed and asks again to confirm."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPSYNC_")}
    env["ERPSYNC_HOME"] = str(tmp_path / "home")
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "admins", "add", "carol"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    seen = b""

    def read_until(marker: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    seen += os.read(master, 1024)
                except OSError:
                    break
        assert marker in seen, seen

    try:
        read_until(b"Password for admin 'carol':")
        os.write(master, PASSWORD.encode() + b"\n")
        read_until(b"Repeat the password:")
        os.write(master, PASSWORD.encode() + b"\n")
        read_until(b"Added admin 'carol'")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert PASSWORD.encode() not in seen  # never echoed


def test_web_refuses_plain_http_on_a_non_loopback_address(invoke: Invoke) -> None:
    line = assert_one_line_error(invoke("web", "--host", "0.0.0.0"), 1)
    assert "without TLS" in line and "--allow-insecure-remote" in line


def test_web_needs_both_cert_and_key(invoke: Invoke, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    assert "--cert and --key together" in assert_one_line_error(
        invoke("web", "--cert", str(cert)), 1
    )
    assert "not a PEM certificate" in assert_one_line_error(
        invoke("web", "--cert", str(key), "--key", str(key)), 1
    )


def test_web_demo_cannot_take_a_registry(invoke: Invoke) -> None:
    line = assert_one_line_error(invoke("web", "--demo", "--db", "x.db"), 1)
    assert "--demo" in line


def test_help_stays_light() -> None:
    """`erpsync --help`, `web --help` and `admins --help` import no web framework."""
    assert (
        heavy_modules_after_help(
            [["--help"], ["web", "--help"], ["admins", "--help"]],
            ("fastapi", "starlette", "jinja2", "argon2", "uvicorn", "sqlite_utils", "httpx"),
        )
        == []
    )
