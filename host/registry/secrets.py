"""Encryption of secrets at rest (Fernet): password config values and connector tokens.

The key comes from ERPSYNC_SECRET_KEY, else from a key file created 0600 beside the
database. A database copied without its key reveals no secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SECRET_KEY_ENV = "ERPSYNC_SECRET_KEY"
KEY_FILE_NAME = "secret.key"


class SecretKeyError(Exception):
    """The key is missing, malformed, or not the one the secrets were written with."""


class SecretBox:
    """Encrypts and decrypts strings; the key is read (or created) on first use only."""

    def __init__(self, key_dir: Path, key: bytes | None = None) -> None:
        """`key` fixes the key (key rotation); else ERPSYNC_SECRET_KEY or the key file."""
        self.key_dir = key_dir
        self._key = key
        self._fernet: Any = None

    def _cipher(self) -> Any:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            key = self._key or os.environ.get(SECRET_KEY_ENV) or self._key_from_file()
            try:
                self._fernet = Fernet(key.encode() if isinstance(key, str) else key)
            except (ValueError, TypeError):
                raise SecretKeyError(
                    f"{SECRET_KEY_ENV} is not a valid Fernet key (32 url-safe base64 bytes); "
                    "create one with: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'"
                ) from None
        return self._fernet

    def _key_from_file(self) -> bytes:
        from cryptography.fernet import Fernet

        path = self.key_dir / KEY_FILE_NAME
        if path.exists():
            return path.read_bytes().strip()
        self.key_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # O_EXCL: two processes creating the key at once must not both win.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return key

    def encrypt(self, plain: str) -> str:
        return str(self._cipher().encrypt(plain.encode()).decode())

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return str(self._cipher().decrypt(token.encode()).decode())
        except InvalidToken:
            raise SecretKeyError(
                f"cannot decrypt a stored secret: {SECRET_KEY_ENV} or {KEY_FILE_NAME} in "
                f"{self.key_dir} is not the key it was written with"
            ) from None
