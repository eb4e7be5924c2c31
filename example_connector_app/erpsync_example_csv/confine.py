"""Confine the connector's file reads to the export root its operator sets.

Whoever can save or test a connection chooses `directory`: an admin of any host that holds a
token for this connector. Without a root, "customers.csv is missing in /etc" against "/etc does
not exist" would tell them which paths exist on the connector's machine, and a symbolic link
could make it read any file its user can read. So:

- The operator sets `ERPSYNC_CSV_ROOT` where the connector runs: one directory, or several
  separated by the platform's path separator (':' on POSIX). Unset, only the bundled sample
  export is readable.
- `directory` may be absolute or relative to the (first) root. It is resolved, symbolic
  links included (realpath), and must then lie inside a root; a `..` part is refused outright.
- Outside, the answer is the same whether or not the path exists: nothing can be probed.
- Each file is resolved again when read, so a link inside the root cannot point out of it.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "ERPSYNC_CSV_ROOT"
NOT_ALLOWED = "directory_not_allowed"


class OutsideRoot(Exception):
    """The same answer for every path outside the root, existing or not (csvstore turns it
    into a CsvStoreError with code `directory_not_allowed`)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is not inside the export root this connector may read. The connector's "
            f"operator sets that root with {ROOT_ENV} where the connector runs."
        )


def sample_data_dir() -> Path | None:
    """The bundled sample export: inside the package when installed from a wheel, else beside
    it (a checkout or an editable install); None when it is not there."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "sample_data", package.parent / "sample_data"):
        if candidate.is_dir():
            return candidate
    return None


def allowed_roots() -> list[Path]:
    """The resolved roots: `ERPSYNC_CSV_ROOT`, else the sample export alone (maybe none)."""
    configured = os.environ.get(ROOT_ENV, "")
    if configured.strip():
        parts = [p.strip() for p in configured.split(os.pathsep) if p.strip()]
        return [Path(os.path.realpath(Path(p).expanduser())) for p in parts]
    sample = sample_data_dir()
    return [Path(os.path.realpath(sample))] if sample is not None else []


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def confine_directory(raw: str) -> Path:
    """The export directory `raw` names, resolved, if it lies inside a root; else OutsideRoot.

    Nothing is said about whether an outside path exists: the check is on the resolved name,
    and the message is the same for every outside path.
    """
    roots = allowed_roots()
    shown = f"Export directory {raw!r}"
    candidate = Path(raw).expanduser()
    if ".." in candidate.parts or "\x00" in raw or not roots:
        raise OutsideRoot(shown)
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    resolved = Path(os.path.realpath(candidate))
    if not _inside(resolved, roots):
        raise OutsideRoot(shown)
    return resolved


def confine_file(path: Path) -> Path:
    """A file inside the (already confined) export directory, resolved; a symbolic link that
    leads out of the roots is refused like a directory outside them."""
    resolved = Path(os.path.realpath(path))
    if not _inside(resolved, allowed_roots()):
        raise OutsideRoot(f"{path.name} in the export directory")
    return resolved
