"""Files the host reads on an admin's behalf, and the one way it writes its own.

Reading: regular files only, and never without a bound. A token file pointed at /dev/zero, a
FIFO that never closes or a config file of many gigabytes must end in one clear line, not in a
process that reads until the kernel kills it.

Writing (`write_atomically`): whole, private and in one step, so no reader ever sees half a
file (the app state, the secret key, a new key during rotation).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

#: Bounds by what is read. A token or key is a line; a config file a few fields.
TOKEN_FILE_LIMIT = 16 * 1024
KEY_FILE_LIMIT = 16 * 1024
CONFIG_FILE_LIMIT = 1024 * 1024


class FileReadError(ValueError):
    """A file the admin named cannot be used; the message is one line naming it (`what`)."""


def read_bounded(path: str | os.PathLike[str], *, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, else FileReadError.

    `what` names the file for the admin ("--token-file 'tok'"). The file is opened without
    following into a device or FIFO (O_NONBLOCK keeps a FIFO open from blocking), checked to
    be a regular file on the open descriptor, and read one byte past the limit at most.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(os.fspath(path), flags)
    except FileNotFoundError:
        raise FileReadError(f"{what}: no such file") from None
    except IsADirectoryError:
        raise FileReadError(f"{what}: is a directory, expected a regular file") from None
    except OSError as exc:
        raise FileReadError(f"{what}: cannot read it ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError(f"{what}: not a regular file (a device, FIFO or socket)")
        if info.st_size > limit:
            raise FileReadError(f"{what}: larger than {limit:,} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileReadError(f"{what}: larger than {limit:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise FileReadError(f"{what}: cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_bounded_text(path: str | os.PathLike[str], *, what: str, limit: int) -> str:
    """`read_bounded`, decoded as UTF-8; undecodable bytes are one line (never echoed)."""
    data = read_bounded(path, what=what, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileReadError(f"{what}: not UTF-8 text") from None


def is_regular_file(path: Path) -> bool:
    """True for an existing regular file (not following into devices, FIFOs or sockets)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def write_atomically(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Put `data` at `path` in one step; False when `replace` is off and `path` exists.

    The bytes go to a private (0600) temporary file beside `path` and are fsync'ed first.
    `replace=True` then renames it over any old file (readers see the old or the new one);
    `replace=False` links it into place only if `path` is absent, so of two racing writers
    exactly one wins and the other learns it (a key must never be replaced by another).
    The directory is fsync'ed after, so the new name survives a crash.
    """
    import tempfile  # only writers need it; `apps list` must start fast

    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)
            except FileExistsError:
                return False
            finally:
                os.unlink(temp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    sync_directory(path.parent)
    return True


def replace_file(source: Path, target: Path) -> None:
    """Rename `source` over `target` atomically and make the rename durable."""
    os.replace(source, target)
    sync_directory(target.parent)


def sync_directory(path: Path) -> None:
    """fsync a directory so a rename in it survives a crash; a no-op where impossible."""
    with contextlib.suppress(OSError, AttributeError):  # directories cannot be fsync'ed on Windows
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
