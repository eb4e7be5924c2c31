"""`erpsync secrets rotate-key`: every secret re-encrypted in one transaction, the new key
installed only after the commit, an interrupted rotation repaired, and no key or secret ever
printed or stored in the clear."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.fernet import Fernet, InvalidToken
from helpers.cli import assert_one_line_error

from host.registry import Registry
from host.registry.secrets import SecretBox, SecretKeyError

Invoke = Callable[..., Result]
TOKEN = "connector-token-7f3a9c"
PASSWORD = "erp-password-c41d2e"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose key lives in the key file (no ERPSYNC_SECRET_KEY)."""
    path = tmp_path / "home"
    monkeypatch.setenv("ERPSYNC_HOME", str(path))
    monkeypatch.delenv("ERPSYNC_SECRET_KEY", raising=False)
    return path


def fill(db: Path) -> None:
    """A connector with a token and a connection with a password, written by the Registry."""
    registry = Registry.open(db)
    try:
        registry.add_connector("erp", "http://127.0.0.1:1/connectors/mock", TOKEN)
        registry.add_connection(
            guid="7d0c5c9e-0000-4000-8000-000000000001",
            name="main",
            connector="erp",
            config={"server": "erp.local", "username": "demo", "password": PASSWORD},
            secret_keys=["password"],
        )
    finally:
        registry.close()


def raw_tokens(db: Path) -> list[str]:
    registry = Registry.open(db)
    try:
        rows = registry.db.query("select token from connectors")
        tokens = [r["token"] for r in rows]
        tokens += [r["secrets"] for r in registry.db.query("select secrets from connections")]
        return tokens
    finally:
        registry.close()


def decrypted(db: Path) -> tuple[str | None, dict[str, object] | None]:
    registry = Registry.open(db)
    try:
        token = registry.connector_token("erp")
        return token, registry.connection_config("7d0c5c9e-0000-4000-8000-000000000001")
    finally:
        registry.close()


EXPECTED = (TOKEN, {"server": "erp.local", "username": "demo", "password": PASSWORD})


def assert_no_plain_secret_on_disk(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data, path
            assert PASSWORD.encode() not in data, path


def test_rotate_key_file(invoke: Invoke, home: Path) -> None:
    db = home / "registry.db"
    fill(db)
    key_file = home / "secret.key"
    old_key = key_file.read_bytes().strip()
    before = raw_tokens(db)
    assert_no_plain_secret_on_disk(home)

    result = invoke("secrets", "rotate-key")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith("Re-encrypted 2 secrets with a new key; ")
    new_key = key_file.read_bytes().strip()
    assert new_key != old_key
    assert old_key.decode() not in result.output and new_key.decode() not in result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (home / "secret.key.new").exists()

    after = raw_tokens(db)
    assert len(after) == 2 and set(after).isdisjoint(before)
    for token in after:
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(token.encode())
        Fernet(new_key).decrypt(token.encode())
    assert decrypted(db) == EXPECTED
    assert_no_plain_secret_on_disk(home)

    audit = json.loads(invoke("audit", "--json").stdout)
    assert audit[0]["action"] == "secrets.rotate-key"


def test_rotate_env_key_writes_the_new_key_to_a_file(
    invoke: Invoke, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = Fernet.generate_key().decode()
    monkeypatch.setenv("ERPSYNC_SECRET_KEY", old_key)
    db = home / "registry.db"
    fill(db)

    missing = assert_one_line_error(invoke("secrets", "rotate-key"), 1)
    assert "give --new-key-file PATH" in missing
    assert decrypted(db) == EXPECTED

    new_key_file = tmp_path / "new.key"
    result = invoke("secrets", "rotate-key", "--new-key-file", str(new_key_file))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith(
        f"Re-encrypted 2 secrets with a new key written to {new_key_file}. "
        "Set ERPSYNC_SECRET_KEY to the content of that file"
    )
    new_key = new_key_file.read_text().strip()
    assert old_key not in result.output and new_key not in result.output
    assert stat.S_IMODE(new_key_file.stat().st_mode) == 0o600
    assert not (home / "secret.key").exists()

    with pytest.raises(SecretKeyError):
        decrypted(db)  # the old key decrypts nothing any more
    for token in raw_tokens(db):
        Fernet(new_key.encode()).decrypt(token.encode())
    monkeypatch.setenv("ERPSYNC_SECRET_KEY", new_key)
    assert decrypted(db) == EXPECTED
    assert_no_plain_secret_on_disk(home)

    again = assert_one_line_error(
        invoke("secrets", "rotate-key", "--new-key-file", str(new_key_file)), 1
    )
    assert "already exists" in again
    assert new_key_file.read_text().strip() == new_key
    assert decrypted(db) == EXPECTED


def test_new_key_file_is_refused_with_a_key_file(
    invoke: Invoke, home: Path, tmp_path: Path
) -> None:
    fill(home / "registry.db")
    message = assert_one_line_error(
        invoke("secrets", "rotate-key", "--new-key-file", str(tmp_path / "k")), 1
    )
    assert "--new-key-file is only for a key from ERPSYNC_SECRET_KEY" in message
    assert not (tmp_path / "k").exists()


def test_a_rotation_interrupted_after_the_commit_is_completed(invoke: Invoke, home: Path) -> None:
    """The process died between the commit and the os.replace: the DB uses secret.key.new."""
    db = home / "registry.db"
    fill(db)
    pending_key = Fernet.generate_key()
    (home / "secret.key.new").write_bytes(pending_key + b"\n")
    registry = Registry.open(db)
    registry.rotate_secrets(SecretBox(home, key=pending_key))
    registry.close()
    with pytest.raises(SecretKeyError):
        decrypted(db)

    result = invoke("secrets", "rotate-key")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith("Completed an interrupted rotation")
    assert "Re-encrypted 2 secrets" in result.stdout
    assert not (home / "secret.key.new").exists()
    assert decrypted(db) == EXPECTED


def test_a_rotation_interrupted_before_the_commit_is_discarded(invoke: Invoke, home: Path) -> None:
    """The process died before the commit: secret.key.new holds a key nothing uses."""
    db = home / "registry.db"
    fill(db)
    (home / "secret.key.new").write_bytes(Fernet.generate_key() + b"\n")

    result = invoke("secrets", "rotate-key")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith("Re-encrypted 2 secrets")
    assert not (home / "secret.key.new").exists()
    assert decrypted(db) == EXPECTED


def test_a_wrong_key_changes_nothing(invoke: Invoke, home: Path) -> None:
    db = home / "registry.db"
    fill(db)
    (home / "secret.key").write_bytes(Fernet.generate_key() + b"\n")
    wrong = (home / "secret.key").read_bytes()
    before = raw_tokens(db)

    message = assert_one_line_error(invoke("secrets", "rotate-key"), 1)
    assert message.startswith("Error: cannot decrypt a stored secret")
    assert (home / "secret.key").read_bytes() == wrong
    assert not (home / "secret.key.new").exists()
    assert raw_tokens(db) == before


def test_a_failure_halfway_rolls_back_every_secret(
    invoke: Invoke, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = home / "registry.db"
    fill(db)
    old_key = (home / "secret.key").read_bytes()
    before = raw_tokens(db)
    calls: list[str] = []
    real_encrypt = SecretBox.encrypt

    def failing_encrypt(self: SecretBox, plain: str) -> str:
        calls.append(plain)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_encrypt(self, plain)

    monkeypatch.setattr(SecretBox, "encrypt", failing_encrypt)
    result = invoke("secrets", "rotate-key")
    assert result.exit_code != 0
    assert isinstance(result.exception, OSError)
    assert len(calls) == 2
    assert raw_tokens(db) == before
    assert (home / "secret.key").read_bytes() == old_key
    assert not (home / "secret.key.new").exists()
    assert decrypted(db) == EXPECTED


def test_nothing_to_rotate_in_a_fresh_home(invoke: Invoke, home: Path) -> None:
    result = invoke("secrets", "rotate-key")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith("Nothing to rotate: no secret is stored")
    assert not (home / "secret.key").exists()


def test_the_key_beside_a_db_option_file_is_rotated(
    invoke: Invoke, home: Path, tmp_path: Path
) -> None:
    db = tmp_path / "other" / "team.db"
    fill(db)
    old_key = (db.parent / "secret.key").read_bytes()
    result = invoke("secrets", "rotate-key", "--db", str(db))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert (db.parent / "secret.key").read_bytes() != old_key
    assert decrypted(db) == EXPECTED


@pytest.mark.parametrize("path", [("secrets",), ("secrets", "rotate-key")])
def test_help_has_an_example(invoke: Invoke, path: tuple[str, ...]) -> None:
    text = invoke(*path, "--help").stdout
    assert "Example" in text and "erpsync secrets rotate-key" in text, text
