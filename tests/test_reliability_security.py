"""Security properties, tried for real: the audit log of admin actions holds no secret, connector
URLs are restricted, the admin side only ever calls the registered connector URL, and secrets
stay out of the connector host's logs at every log level.

The threat model these belong to is docs/security.md. Tried elsewhere: secrets encrypted at
rest and never printed (test_cli_skeleton.py::test_the_whole_connection_flow_and_no_secret_ever_
leaks, test_registry.py::test_no_secret_is_stored_in_clear), no redirect followed
(test_client_server.py::test_a_redirect_is_refused_and_the_token_never_reaches_its_target),
a connector repeating a password is scrubbed (test_client_server.py::
test_a_connector_that_repeats_the_password_never_leaks_it).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from helpers import MOCK_CONFIG, MOCK_PASSWORD
from helpers.apps import AppFactory
from helpers.cli import assert_one_line_error
from helpers.faults import serve_asgi
from helpers.mock_server import env_without_erpsync, stop_process

Invoke = Callable[..., Result]

GOOD = [f"--config={k}={v}" for k, v in MOCK_CONFIG.items()]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


# --- audit ------------------------------------------------------------------------------------


def test_every_admin_change_is_audited_and_no_secret_is_in_the_audit(
    invoke: Invoke, erpsync_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/test_cli_users_groups.py::test_audit_records_who_did_what covers users and groups;
    this covers connectors, connections and the key rotation, with secrets in play."""
    monkeypatch.setenv("ERPSYNC_ADMIN", "dana")
    token, new_token = "connector-token-AAAA1111", "connector-token-BBBB2222"
    ok(invoke("connectors", "add", "m", "app:mock", "--token", token))
    ok(invoke("connections", "add", "acme", "--connector", "m", "--no-input", *GOOD))
    ok(invoke("connections", "edit", "acme", "--config", "company=2", "--no-input"))
    ok(invoke("mapping", "enable", "acme", "customer"))
    ok(invoke("connections", "activate", "acme"))
    ok(invoke("connections", "deactivate", "acme"))
    ok(invoke("connections", "edit", "acme", "--config", f"password={MOCK_PASSWORD}", "--no-input"))
    ok(invoke("connectors", "edit", "m", "--token", new_token, "--no-check"))
    ok(invoke("connections", "remove", "acme", "--yes"))
    ok(invoke("connectors", "remove", "m"))
    ok(invoke("secrets", "rotate-key", "--new-key-file", str(erpsync_home / "new.key")))

    rows = json.loads(ok(invoke("audit", "--json", "--limit", "100")).stdout)
    assert [r["action"] for r in reversed(rows)] == [
        "connector.add",
        "connection.add",
        "connection.edit",
        "sync.enable",
        "sync.lists",  # enabling maps the type's list items too
        "connection.activate",
        "connection.deactivate",
        "connection.edit",
        "connector.edit",
        "connection.remove",
        "connector.remove",
        "secrets.rotate-key",
    ]
    for row in rows:
        assert row["who"] == "dana" and row["at"] and row["target"], row
    table = ok(invoke("audit")).stdout
    raw = sqlite3.connect(str(erpsync_home / "registry.db")).execute("select * from audit")
    everything = json.dumps(rows) + table + repr(raw.fetchall())
    for secret in (token, new_token, MOCK_PASSWORD):
        assert secret not in everything


# --- connector URLs ---------------------------------------------------------------------------

BAD_URLS = [
    "file:///etc/passwd",
    "ftp://127.0.0.1/c",
    "javascript:alert(1)",
    "data:text/plain,hello",
    "gopher://127.0.0.1:70/",
    "//127.0.0.1/c",
    "127.0.0.1:8765/c",
    "http://",
    "http://127.0.0.1:99999/c",
    "http://127.0.0.1:port/c",
    "http://[::1/c",
    "app:",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_only_http_https_and_app_urls_are_connector_urls(
    invoke: Invoke, erpsync_home: Path, url: str
) -> None:
    text = assert_one_line_error(invoke("connectors", "add", "x", url, "--no-check"), 1)
    assert "URL" in text
    ok(invoke("connectors", "add", "y", "app:mock"))
    edited = invoke("connectors", "edit", "y", "--url", url, "--no-check")
    assert "URL" in assert_one_line_error(edited, 1)
    (row,) = json.loads(ok(invoke("connectors", "list", "--json")).stdout)
    assert row["url"] == "app:mock"


def test_a_url_holding_credentials_is_refused_without_echoing_them(
    invoke: Invoke, erpsync_home: Path
) -> None:
    result = invoke("connectors", "add", "x", "https://admin:pa55word@erp.example.com/c")
    text = assert_one_line_error(result, 1)
    assert "pa55word" not in result.output and "--token" in text


# --- the admin side only calls the registered URL ---------------------------------------------


@pytest.fixture
def mock_over_http() -> Iterator[str]:
    from erpsync_mock_erp import MockErpConnector
    from host.server import create_app

    app = create_app({"mock": MockErpConnector(customers=5)}, token="t0ken-value-123")
    with serve_asgi(app) as base:
        yield base + "/connectors/mock"


def test_every_admin_call_goes_to_the_registered_url_only(
    invoke: Invoke, erpsync_home: Path, mock_over_http: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    send = httpx.AsyncClient.send

    async def recording(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        sent.append(str(request.url))
        return await send(self, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", recording)
    ok(invoke("connectors", "add", "m", mock_over_http, "--token", "t0ken-value-123"))
    ok(invoke("connections", "add", "acme", "--connector", "m", "--no-input", *GOOD))
    ok(invoke("connections", "test", "acme"))
    ok(invoke("connections", "test", "--all"))
    ok(invoke("mapping", "enable", "acme", "customer"))
    ok(invoke("connections", "activate", "acme"))
    ok(invoke("connections", "deactivate", "acme"))
    ok(invoke("connections", "edit", "acme", "--config", "company=3", "--no-input"))
    ok(invoke("connections", "remove", "acme", "--yes"))
    assert len(sent) > 10
    assert all(url.startswith(mock_over_http + "/v1/") for url in sent), sent


# --- secrets stay out of the connector host's logs, at every log level -----------------------

LEAKY_APP = """
    import logging

    from host import ConfigField, Connector, FieldType, Response, hookimpl

    log = logging.getLogger("erpsync.server")


    class Leaky(Connector):
        id = "leaky"
        name = "Repeats what it is given"
        vendor = "Tests"
        version = "1.0"
        config_fields = [
            ConfigField("password", "Password", FieldType.PASSWORD),
            ConfigField("explode", "Explode", FieldType.CHECKBOX, default=False),
        ]

        def test_config(self, config):
            if config["password"] != "right-horse-battery":
                return Response.error(
                    f"password {config['password']} is wrong", f"got {config['password']}"
                )
            return Response.success(f"logged in with {config['password']}")

        def test_connection(self, connection):
            if connection.config.get("explode"):
                raise RuntimeError(f"cannot log in with {connection.config['password']}")
            return self.test_config(connection.config)


    @hookimpl
    def register_connectors(register):
        register(Leaky())
"""

SERVE_TOKEN = "serve-token-should-stay-secret"
SECRETS = ("right-horse-battery", "wrong-horse-battery", SERVE_TOKEN)
LEVELS = ["debug", "info", "warning", "error", "critical"]


@pytest.mark.slow
def test_no_secret_reaches_the_connector_hosts_output_at_any_log_level(
    invoke: Invoke, erpsync_home: Path, make_app: AppFactory, tmp_path: Path
) -> None:
    make_app("leaky", LEAKY_APP)
    env = {**env_without_erpsync(), "PYTHONPATH": make_app.pythonpath()}
    env["ERPSYNC_HOME"] = str(tmp_path / "serve-home")
    env["ERPSYNC_SERVE_TOKEN"] = SERVE_TOKEN
    servers = {}
    for level in LEVELS:
        out, err = tmp_path / f"{level}.out", tmp_path / f"{level}.err"
        servers[level] = (
            subprocess.Popen(
                [sys.executable, "-m", "host.cli", "serve", "--port", "0", "--app", "leaky",
                 "--log-level", level],
                stdout=out.open("w"), stderr=err.open("w"), text=True, env=env,
            ),
            out,
            err,
        )  # fmt: skip
    try:
        for level, (process, out, _err) in servers.items():
            url = _served_url(process, out)
            _admin_flow(invoke, level, url)
    finally:
        for process, _out, _err in servers.values():
            stop_process(process)
    for level, (_process, out, err) in servers.items():
        logged = out.read_text() + err.read_text()
        for secret in SECRETS:
            assert secret not in logged, (level, secret, logged)
        if level in ("debug", "info", "warning", "error"):
            # The connector's exception is logged, with its traceback, the password scrubbed.
            assert "cannot log in with ****" in logged, (level, logged)
            assert "Traceback" in logged
        if level in ("debug", "info"):
            assert "POST /connectors/leaky/v1/config/test" in logged  # the access log is on


def _served_url(process: subprocess.Popen[str], out: Path) -> str:
    deadline = time.monotonic() + 60
    while True:
        text = out.read_text()
        if "\n" in text:
            line = text.splitlines()[0]
            assert line.startswith("serving connector leaky at "), line
            url = line.removeprefix("serving connector leaky at ")
            break
        assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.05)
    while True:
        try:
            httpx.get(url.rsplit("/connectors/", 1)[0] + "/", timeout=2)
            return url
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def _admin_flow(invoke: Invoke, level: str, url: str) -> None:
    printed: list[str] = []

    def run(*args: str, expect: int = 0) -> None:
        result = invoke(*args)
        printed.append(result.stdout + result.stderr)
        assert result.exit_code == expect, (level, args, result.output)

    name, conn = f"leaky-{level}", f"conn-{level}"
    run("connectors", "add", name, url, "--token", SERVE_TOKEN)
    bad = ["connections", "add", f"bad-{level}", "--connector", name, "--no-input"]
    run(*bad, "--config", "password=wrong-horse-battery", expect=3)
    run("connections", "add", conn, "--connector", name, "--no-input",
        "--config", "password=right-horse-battery")  # fmt: skip
    run("connections", "test", conn)
    # The stored password is merged, not re-entered; the connector then raises repeating it.
    run("connections", "edit", conn, "--config", "explode=true", "--no-input", expect=3)
    run("connections", "test", conn)
    run("connections", "remove", conn, "--yes")
    for text in printed:
        for secret in SECRETS:
            assert secret not in text, (level, secret, text)
