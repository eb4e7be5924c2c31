"""Encryption of secrets at rest (Fernet): password config values and connector tokens.

The key comes from ERPSYNC_SECRET_KEY, else from a key file created 0600 beside the
database. A database copied without its key reveals no secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from host.files import write_atomically

SECRET_KEY_ENV = "ERPSYNC_SECRET_KEY"
KEY_FILE_NAME = "secret.key"


class SecretKeyError(Exception):
    """The key is missing, malformed, or not the one the secrets were written with."""


class MissingKeyError(SecretKeyError):
    """No key at all while encrypted values exist: nothing can be encrypted or decrypted."""


class SecretBox:
    """Encrypts and decrypts strings; the key is read (or created) on first use only."""

    def __init__(
        self,
        key_dir: Path,
        key: bytes | None = None,
        holds_secrets: Callable[[], bool] | None = None,
    ) -> None:
        """`key` fixes the key (key rotation); else ERPSYNC_SECRET_KEY or the key file.

        `holds_secrets` tells whether encrypted values exist: then a missing key file is an
        error naming it, never replaced by a new key that would decrypt none of them."""
        self.key_dir = key_dir
        self._key = key
        self._holds_secrets = holds_secrets
        self._source = f"the key file {key_dir / KEY_FILE_NAME}"
        self._fernet: Any = None

    def _cipher(self) -> Any:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            if self._key is not None:
                key, source = self._key, "the given key"
            elif os.environ.get(SECRET_KEY_ENV):
                key, source = os.environ[SECRET_KEY_ENV].encode(), SECRET_KEY_ENV
            else:
                self._refuse_a_new_key()
                key = self._key_from_file()
                source = f"key file {self.key_dir / KEY_FILE_NAME}"
            self._source = source
            try:
                self._fernet = Fernet(key)
            except (ValueError, TypeError):
                raise SecretKeyError(
                    f"{source} is not a valid Fernet key (32 url-safe base64 bytes); "
                    "create one with: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'"
                ) from None
        return self._fernet

    def _refuse_a_new_key(self) -> None:
        """No key file while encrypted values exist: the key was lost, not never made."""
        path = self.key_dir / KEY_FILE_NAME
        if path.exists() or self._holds_secrets is None or not self._holds_secrets():
            return
        raise MissingKeyError(
            f"the key of the stored secrets is missing: {SECRET_KEY_ENV} is not set and the "
            f"key file {path} does not exist. Restore {path} from a backup (owner-only, "
            f"chmod 600) or set {SECRET_KEY_ENV} to the key; if the key is lost, run "
            "erpsync secrets reset --all and re-enter the tokens and passwords "
            "(no new key is made while encrypted secrets exist)"
        )

    def _key_from_file(self) -> bytes:
        """Read the key file, creating it (0600) on first use."""
        from cryptography.fernet import Fernet

        path = self.key_dir / KEY_FILE_NAME
        if path.exists() or path.is_symlink():
            return _read_key_file(path)
        self.key_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # Written whole and linked into place only if absent: of two first uses racing,
        # one key wins and the other reads it; nobody ever reads a half-written key.
        if not write_atomically(path, key + b"\n", replace=False):
            return _read_key_file(path)
        return key

    def encrypt(self, plain: str) -> str:
        return str(self._cipher().encrypt(plain.encode()).decode())

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return str(self._cipher().decrypt(token.encode()).decode())
        except InvalidToken:
            raise SecretKeyError(
                f"cannot decrypt a stored secret: {self._source} is not the key it was "
                f"written with. Restore that key ({KEY_FILE_NAME} in {self.key_dir} from a "
                f"backup, or {SECRET_KEY_ENV}), or drop what it cannot decrypt with "
                "erpsync secrets reset and re-enter it with edit"
            ) from None


def _read_key_file(path: Path) -> bytes:
    """The key in the key file: a regular file of a few bytes, read bounded."""
    from host.files import KEY_FILE_LIMIT, FileReadError, read_bounded

    try:
        return read_bounded(path, what=f"key file {path}", limit=KEY_FILE_LIMIT).strip()
    except FileReadError as exc:
        raise SecretKeyError(str(exc)) from None
