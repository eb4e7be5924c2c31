"""The persisted app state: which installed apps the admin disabled, in `apps.json` in the home.

A plain JSON file rather than the registry database, so `erpsync apps list` and `erpsync serve`
read it without importing sqlite-utils. A missing or unreadable file means "nothing disabled":
a broken state file must never stop the host. Writes go to a temporary file that replaces the
old one atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from host.files import write_atomically
from host.home import home_dir, make_private_dir

STATE_FILE_NAME = "apps.json"


class AppStateError(Exception):
    """The state file could not be written; the message is one line for the admin."""


def state_path() -> Path:
    """`apps.json` in the erpsync home (ERPSYNC_HOME or the user data dir)."""
    return home_dir() / STATE_FILE_NAME


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def disabled_apps() -> set[str]:
    """Names of the apps the admin disabled; empty when the file is missing or unreadable."""
    names = _read(state_path()).get("disabled")
    if not isinstance(names, list):
        return set()
    return {name for name in names if isinstance(name, str)}


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing) that serialises read-modify-write
    between processes; POSIX only, elsewhere a no-op (the last writer wins)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def set_disabled(name: str, disabled: bool) -> bool:
    """Disable or enable app `name`; returns False when it already was in that state."""
    path = state_path()
    try:
        make_private_dir(path.parent)
        with file_lock(path.with_name(STATE_FILE_NAME + ".lock")):
            data = _read(path)
            current = disabled_apps()
            if (name in current) == disabled:
                return False
            current = current | {name} if disabled else current - {name}
            data["disabled"] = sorted(current)
            text = json.dumps(data, indent=2, sort_keys=True) + "\n"
            write_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise AppStateError(f"cannot write the app state {str(path)!r}: {exc.strerror}") from exc
    return True
