"""Where the admin side keeps its files: ERPSYNC_HOME, else the platform's user data dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "erpsync"


def home_dir() -> Path:
    """The erpsync home; not created here, so read-only commands leave no trace."""
    explicit = os.environ.get("ERPSYNC_HOME")
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP_DIR_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_DIR_NAME
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR_NAME


def default_db_path() -> Path:
    return home_dir() / "registry.db"


def make_private_dir(path: Path) -> None:
    """Create `path` (the home, which holds the registry and the key) readable by its owner
    only; a directory that already exists is left as it is (`erpsync doctor` reports it)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
