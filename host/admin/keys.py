"""The key behind stored secrets: rotate it, or drop what a lost key can no longer decrypt.

The steps that make rotation safe to kill at any point are host/registry/keys.py; this
module decides which rotation applies (key file or ERPSYNC_SECRET_KEY), holds the lock, and
says what happened. Plain Python: results are returned, never printed.

Known limit: a command that read the old key before the rotation and stores a secret after
it writes that secret under the old key. Rotate while no other erpsync command runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from host.admin.errors import AdminError, InvalidInput
from host.registry.secrets import KEY_FILE_NAME, SECRET_KEY_ENV

if TYPE_CHECKING:
    from host.registry import Registry


@dataclass(frozen=True)
class Rotation:
    """What `rotate_key` did: `count` secrets re-encrypted; the new key is in `key_path`
    (the key file, or the file the admin named for ERPSYNC_SECRET_KEY)."""

    count: int
    key_path: Path
    from_env: bool = False
    completed_interrupted: bool = False
    nothing_stored: bool = False
    no_registry: bool = False


@dataclass(frozen=True)
class Reset:
    """What `reset` dropped, and how many other records still hold undecryptable secrets
    (`key_missing`: no key at all, so nothing new can be stored until those go too)."""

    dropped: list[str]
    left: int
    key_missing: bool


def rotate_key(registry: Registry, new_key_file: Path | None = None) -> Rotation:
    """Re-encrypt every stored secret with a new key, in one transaction.

    With the key file, the new key replaces it once the database committed (an interrupted
    rotation is completed first). With ERPSYNC_SECRET_KEY, the new key goes to
    `new_key_file`, which the admin must give."""
    from host.appstate import file_lock
    from host.registry.keys import (
        LOCK_FILE_NAME,
        NEW_KEY_FILE_NAME,
        resolve_interrupted_rotation,
        rotate_env_key,
        rotate_key_file,
    )

    if registry.in_memory:  # no registry there: no secret, no key
        return Rotation(0, registry.path, nothing_stored=True, no_registry=True)
    if os.environ.get(SECRET_KEY_ENV):
        if new_key_file is None:
            raise InvalidInput(
                f"the key comes from {SECRET_KEY_ENV}: give --new-key-file PATH to receive "
                f"the new key, then set {SECRET_KEY_ENV} to its content"
            )
        count = rotate_env_key(registry, new_key_file)
        return Rotation(count, new_key_file, from_env=True)
    if new_key_file is not None:
        raise InvalidInput(
            f"--new-key-file is only for a key from {SECRET_KEY_ENV}; "
            f"the key file {KEY_FILE_NAME} is replaced in place"
        )
    key_dir = registry.secrets.key_dir
    key_path = key_dir / KEY_FILE_NAME
    with file_lock(key_dir / LOCK_FILE_NAME):
        completed = False
        if (key_dir / NEW_KEY_FILE_NAME).exists():
            completed = resolve_interrupted_rotation(registry)
        if not key_path.exists():
            if not any(True for _ in registry.stored_secrets()):
                return Rotation(0, key_path, nothing_stored=True)
            raise AdminError(
                f"no key file {str(key_path)!r} (and {SECRET_KEY_ENV} is not set): "
                "the stored secrets cannot be decrypted"
            )
        count = rotate_key_file(registry)
    return Rotation(count, key_path, completed_interrupted=completed)


def lost_secrets(registry: Registry, kind: str | None, name: str | None) -> list[str]:
    """The records ("connector acme") whose secret the key cannot decrypt: of one connector
    or connection (`kind`, `name`; NotFound if unknown), or all (None, None)."""
    lost = [
        f"{k} {n}"
        for k, n, _ in registry.undecryptable_secrets()
        if kind in (None, k) and name in (None, n)
    ]
    if kind == "connector" and name is not None:
        registry.connector(name)
    elif kind == "connection" and name is not None:
        registry.connection(name)
    return lost


def reset(registry: Registry, kind: str | None, name: str | None) -> Reset:
    """Drop the undecryptable secrets chosen as in `lost_secrets`, audited; a connection
    that lost its passwords is deactivated and must pass a new test."""
    dropped = registry.reset_secrets(kind, name)
    left = registry.undecryptable_secrets()
    missing = (
        not os.environ.get(SECRET_KEY_ENV)
        and not (registry.secrets.key_dir / KEY_FILE_NAME).exists()
    )
    return Reset(dropped, len(left), bool(left) and missing)
