"""A lost or wrong secret key (issue #10, item 9): never silently replaced, named in every
error with the way to restore it, reported per record by `doctor`, and an audited way out
(`secrets reset`, then re-entering the secret with `edit`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from helpers import MOCK_PASSWORD
from helpers.cli import assert_one_line_error
from helpers.mock_server import MockServer

from host.registry import Registry

Invoke = Callable[..., Result]
DEMO = ["--config", "username=demo", "--config", f"password={MOCK_PASSWORD}", "--no-input"]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose key lives in the key file (no ERPSYNC_SECRET_KEY)."""
    path = tmp_path / "home"
    monkeypatch.setenv("ERPSYNC_HOME", str(path))
    monkeypatch.delenv("ERPSYNC_SECRET_KEY", raising=False)
    return path


def setup_secrets(invoke: Invoke, server: MockServer) -> None:
    """A connector with a token and an active connection with a password."""
    ok(invoke("connectors", "add", "m", server.url, "--token-file", str(server.token_file)))
    ok(invoke("connectors", "add", "plain", "app:mock"))
    ok(invoke("connections", "add", "acme", "--connector", "m", *DEMO))
    ok(invoke("mapping", "enable", "acme", "customer"))
    ok(invoke("connections", "activate", "acme"))


def test_a_lost_key_file_is_never_replaced_and_every_error_names_it(
    invoke: Invoke, home: Path, mock_server: MockServer
) -> None:
    setup_secrets(invoke, mock_server)
    key = home / "secret.key"
    key.unlink()  # lost: a restore without it, a wrong backup set, an rm

    for args in (
        ["connectors", "edit", "m", "--token", "another-token", "--no-check"],
        ["connections", "test", "acme"],
        ["connections", "add", "second", "--connector", "m", *DEMO],
        ["connections", "edit", "acme", "--config", "company=2", "--no-input"],
    ):
        text = assert_one_line_error(invoke(*args), 1)
        assert str(key) in text, args
        assert "ERPSYNC_SECRET_KEY" in text and "secrets reset" in text, args
        assert not key.exists(), f"{args} made a new key"
    # What does not need the key still works, and makes no key either.
    ok(invoke("connections", "list"))
    ok(invoke("connectors", "show", "m"))
    assert not key.exists()


def test_doctor_reports_each_undecryptable_secret_and_checks_the_rest(
    invoke: Invoke, home: Path, mock_server: MockServer
) -> None:
    setup_secrets(invoke, mock_server)
    (home / "secret.key").unlink()

    for args in (["doctor", "--json"], ["doctor", "--repair", "--json"]):
        report = invoke(*args)
        assert report.exit_code == 1, args
        found = {f["check"]: f for f in json.loads(report.stdout)["findings"]}
        assert found["secret key"]["status"] == "problem"
        assert str(home / "secret.key") in found["secret key"]["detail"]
        assert found["secrets of connector m"]["status"] == "problem"
        assert "secrets reset --connector m" in found["secrets of connector m"]["detail"]
        assert found["secrets of connection acme"]["status"] == "problem"
        assert found["connector m"]["status"] == "skipped"
        assert found["connector plain"]["status"] == "ok"  # the rest is still checked
        assert found["registry integrity"]["status"] == "ok"
    table = invoke("doctor")
    assert "secrets of connection acme" in table.stdout
    assert not (home / "secret.key").exists()


def test_secrets_reset_is_the_audited_way_out_of_a_lost_key(
    invoke: Invoke, home: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERPSYNC_ADMIN", "dana")
    setup_secrets(invoke, mock_server)
    (home / "secret.key").unlink()

    declined = invoke("secrets", "reset", "--all", input="n\n")
    assert declined.exit_code == 1
    assert Registry.open(home / "registry.db").holds_secrets()  # nothing dropped

    ok(invoke("secrets", "reset", "--all", "--yes"))
    rows = json.loads(ok(invoke("audit", "--json")).stdout)
    resets = {r["target"]: r for r in rows if r["action"] == "secrets.reset"}
    assert set(resets) == {"connector m", "connection acme"}
    assert all(r["who"] == "dana" for r in resets.values())
    assert "password" in resets["connection acme"]["detail"]
    acme = json.loads(ok(invoke("connections", "show", "acme", "--json")).stdout)
    assert acme["active"] is False and acme["last_test"]["state"] is None

    # Nothing is encrypted any more: a new key may be made, and the secrets re-entered.
    ok(invoke("connectors", "edit", "m", "--token-file", str(mock_server.token_file)))
    assert (home / "secret.key").exists()
    blocked = invoke("connections", "activate", "acme")
    assert blocked.exit_code == 1 and "never tested" in blocked.stderr
    ok(invoke("connections", "edit", "acme", "--config", f"password={MOCK_PASSWORD}", "--no-input"))
    ok(invoke("connections", "activate", "acme"))
    ok(invoke("connections", "test", "acme"))
    ok(invoke("doctor"))


def test_a_secret_written_with_another_key_is_replaced_on_edit(
    invoke: Invoke, home: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERPSYNC_SECRET_KEY", Fernet.generate_key().decode())
    setup_secrets(invoke, mock_server)
    ok(invoke("connections", "deactivate", "acme"))
    monkeypatch.setenv("ERPSYNC_SECRET_KEY", Fernet.generate_key().decode())  # the wrong key

    text = assert_one_line_error(invoke("connections", "test", "acme"), 1)
    assert "ERPSYNC_SECRET_KEY is not the key" in text and "secrets reset" in text
    # Re-entering each secret replaces it; nothing needs the old values.
    ok(invoke("connectors", "edit", "m", "--token-file", str(mock_server.token_file)))
    ok(invoke("connections", "edit", "acme", "--config", f"password={MOCK_PASSWORD}", "--no-input"))
    ok(invoke("connections", "test", "acme"))
    ok(invoke("doctor"))


def test_secrets_reset_drops_only_what_cannot_be_decrypted(
    invoke: Invoke, home: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_secrets(invoke, mock_server)
    done = ok(invoke("secrets", "reset", "--all", "--yes"))
    assert "Nothing to reset" in done.stdout
    registry = Registry.open(home / "registry.db")
    assert registry.connector_token("m") == mock_server.token
    # One record written with another key: only that one is dropped.
    other = Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    registry.db.execute("update connectors set token = ? where name = 'm'", [other])
    registry.db.conn.commit()
    ok(invoke("secrets", "reset", "--connection", "acme", "--yes"))  # decrypts: kept
    assert registry.connection_config(registry.connection("acme").guid)["password"]
    ok(invoke("secrets", "reset", "--connector", "m", "--yes"))
    assert registry.connector("m").has_token is False
    assert_one_line_error(invoke("secrets", "reset", "--connector", "nope", "--yes"), 1)
    assert_one_line_error(invoke("secrets", "reset", "--yes"), 2)


def test_the_first_secret_makes_the_key(invoke: Invoke, home: Path) -> None:
    """No encrypted value and no key: the first one stored creates the key file (0600)."""
    ok(invoke("connectors", "add", "plain", "app:mock"))
    assert not (home / "secret.key").exists()
    ok(invoke("connectors", "add", "m", "app:mock", "--token", "first-token"))
    assert (home / "secret.key").exists()
    assert Registry.open(home / "registry.db").connector_token("m") == "first-token"


def test_resetting_one_record_of_a_lost_key_still_makes_no_new_key(
    invoke: Invoke, home: Path, mock_server: MockServer
) -> None:
    setup_secrets(invoke, mock_server)
    (home / "secret.key").unlink()
    partial = ok(invoke("secrets", "reset", "--connection", "acme", "--yes"))
    assert "--all" in partial.stderr  # the token is still encrypted: say what is left
    text = assert_one_line_error(
        invoke("connectors", "edit", "m", "--token", "another-token", "--no-check"), 1
    )
    assert "secrets reset --all" in text
    assert not (home / "secret.key").exists()
