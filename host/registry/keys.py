"""The key behind the stored secrets: which records it cannot decrypt, dropping those, and
rotating it.

Rotation with a key file (`secret.key` beside the database), in this order:

1. under an exclusive lock (`secret.key.lock`, taken by the caller), so two rotations never
   interleave,
2. write the new key to `secret.key.new` (0600, whole, only if absent),
3. re-encrypt every secret in one database transaction and commit,
4. rename `secret.key.new` over `secret.key` (atomic) and fsync the directory.

If the process dies between 3 and 4, the database is encrypted with the new key while
`secret.key` still holds the old one, but the new key is safe in `secret.key.new`:
`resolve_interrupted_rotation` moves a `secret.key.new` that decrypts any stored secret over
`secret.key` (the rotation committed) and deletes one that decrypts none (it never did).

With ERPSYNC_SECRET_KEY the host cannot change the environment of other processes: the new
key is written to a file the admin names (before the commit, so it is never lost).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from host.files import replace_file, write_atomically
from host.registry.base import SECRET_COLUMNS
from host.registry.connections import Connections
from host.registry.records import RegistryError, now
from host.registry.secrets import KEY_FILE_NAME, SecretBox, SecretKeyError

NEW_KEY_FILE_NAME = KEY_FILE_NAME + ".new"
LOCK_FILE_NAME = KEY_FILE_NAME + ".lock"


class KeyFileError(RegistryError):
    """A new key cannot be written where it must go (exists already, or not writable)."""


class Keys(Connections):
    """What the key decrypts, what it cannot, and re-encrypting everything with a new one."""

    def stored_secrets(self) -> Iterator[str]:
        """Every encrypted value in the registry: connector tokens and connection secrets."""
        for _kind, table, column in SECRET_COLUMNS:
            for row in self.db.query(f"select {column} from {table} where {column} is not null"):
                yield str(row[column])

    def undecryptable_secrets(self) -> list[tuple[str, str, str]]:
        """(kind, name, reason) of each record whose secret the key cannot decrypt."""
        found = []
        for kind, table, column in SECRET_COLUMNS:
            for row in self.db.table(table).rows_where(f"{column} is not null", order_by="name"):
                try:
                    self.secrets.decrypt(row[column])
                except SecretKeyError as exc:
                    found.append((kind, str(row["name"]), str(exc)))
        return found

    def reset_secrets(self, kind: str | None = None, name: str | None = None) -> list[str]:
        """Drop the secrets the key cannot decrypt (of one connector or connection, or all),
        in one audited transaction, so the admin can re-enter them with `edit`.

        A connection that lost its secrets is deactivated and marked not tested: it must
        pass a new test before it is activated again. Returns what was dropped."""
        dropped: list[str] = []
        with self.transaction():
            if kind == "connector" and name is not None:
                self.connector(name)
            if kind == "connection" and name is not None:
                self.connection(name)
            for table_kind, table, column in SECRET_COLUMNS:
                if kind not in (None, table_kind):
                    continue
                where, args = f"{column} is not null", []
                if name is not None:
                    where, args = where + " and name = ?", [name]
                for row in list(self.db.table(table).rows_where(where, args)):
                    if _decrypts(self.secrets, row[column]):
                        continue
                    detail = self._drop_secret(table_kind, row)
                    self.audit("secrets.reset", f"{table_kind} {row['name']}", detail)
                    dropped.append(f"{table_kind} {row['name']}")
        return dropped

    def _drop_secret(self, kind: str, row: dict[str, Any]) -> str:
        """Forget one record's undecryptable secret; returns the audit detail."""
        if kind == "connector":
            self.db.table("connectors").update(row["name"], {"token": None, "updated_at": now()})
            return "token"
        keys = json.loads(str(row["secret_keys"] or "[]"))
        self.db.table("connections").update(
            row["guid"],
            {
                "secrets": None,
                "secret_keys": "[]",
                "active": 0,
                "last_test_state": None,
                "last_test_message": None,
                "last_tested_at": None,
                "updated_at": now(),
            },
        )
        return ", ".join(keys) + "; deactivated, not tested"

    def rotate_secrets(self, new_box: SecretBox) -> int:
        """Re-encrypt every secret with `new_box`'s key in one transaction; returns the count."""
        count = 0
        with self.transaction("secrets.rotate-key", "registry"):
            for _kind, table, column in SECRET_COLUMNS:
                pk = self.db.table(table).pks[0]
                for row in list(self.db.table(table).rows_where(f"{column} is not null")):
                    sealed = new_box.encrypt(self.secrets.decrypt(row[column]))
                    self.db.table(table).update(row[pk], {column: sealed})
                    count += 1
        return count


def rotate_key_file(registry: Keys) -> int:
    """Rotate a key kept in secret.key (steps 2-4 of the module docstring); the caller locks."""
    from cryptography.fernet import Fernet

    key_dir = registry.secrets.key_dir
    new_path = key_dir / NEW_KEY_FILE_NAME
    new_key = Fernet.generate_key()
    write_new_key(new_path, new_key)
    try:
        count = registry.rotate_secrets(SecretBox(key_dir, key=new_key))
    except BaseException:
        # Committed or not? Only the stored secrets can tell; never delete a key in use.
        with contextlib.suppress(Exception):
            resolve_interrupted_rotation(registry)
        raise
    replace_file(new_path, key_dir / KEY_FILE_NAME)
    return count


def rotate_env_key(registry: Keys, new_key_file: Path) -> int:
    """Rotate a key from ERPSYNC_SECRET_KEY; the new key goes to `new_key_file` first."""
    from cryptography.fernet import Fernet

    new_key = Fernet.generate_key()
    write_new_key(new_key_file, new_key)
    box = SecretBox(registry.secrets.key_dir, key=new_key)
    try:
        return registry.rotate_secrets(box)
    except BaseException:
        with contextlib.suppress(Exception):
            if not any(_decrypts(box, s) for s in registry.stored_secrets()):
                new_key_file.unlink()
        raise


def resolve_interrupted_rotation(registry: Keys) -> bool:
    """Finish or discard a left-over secret.key.new; True when it was installed.

    Every secret is re-encrypted in one transaction, so the new key decrypting any stored
    secret means that transaction committed; decrypting none means it never did.
    """
    from host.files import KEY_FILE_LIMIT, FileReadError, read_bounded

    key_dir = registry.secrets.key_dir
    new_path = key_dir / NEW_KEY_FILE_NAME
    try:
        key = read_bounded(new_path, what=f"key file {new_path}", limit=KEY_FILE_LIMIT)
    except FileReadError as exc:
        if not (new_path.exists() or new_path.is_symlink()):
            return False
        raise KeyFileError(f"{exc}; move it away to rotate again") from None
    box = SecretBox(key_dir, key=key.strip())
    if any(_decrypts(box, s) for s in registry.stored_secrets()):
        replace_file(new_path, key_dir / KEY_FILE_NAME)
        return True
    new_path.unlink()
    return False


def write_new_key(path: Path, key: bytes) -> None:
    """Write a new key whole to `path`, which must not exist yet (KeyFileError otherwise)."""
    try:
        written = write_atomically(path, key + b"\n", replace=False)
    except OSError as exc:
        raise KeyFileError(f"cannot create {str(path)!r}: {exc.strerror}") from exc
    if not written:
        raise KeyFileError(
            f"{str(path)!r} already exists; choose another path for the new key"
            if path.name != NEW_KEY_FILE_NAME
            else f"{str(path)!r} already exists: another rotation is running"
        )


def _decrypts(box: SecretBox, token: str) -> bool:
    try:
        box.decrypt(token)
    except (SecretKeyError, ValueError, TypeError):  # wrong or malformed key
        return False
    return True
