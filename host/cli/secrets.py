"""`erpsync secrets`: rotate the key that encrypts stored passwords and connector tokens,
or drop the secrets a lost key can no longer decrypt (`reset`).

Rotation with a key file (`secret.key` beside the database), in this order:

1. under an exclusive lock (`secret.key.lock`), so two rotations never interleave,
2. write the new key to `secret.key.new` (0600, O_EXCL, fsync'ed),
3. re-encrypt every secret in one database transaction and commit,
4. `os.replace` `secret.key.new` over `secret.key` (atomic) and fsync the directory.

If the process dies between 3 and 4, the database is encrypted with the new key while
`secret.key` still holds the old one: commands then fail with "cannot decrypt a stored
secret", but the new key is safe in `secret.key.new`. Running `erpsync secrets rotate-key`
again repairs it first: a `secret.key.new` that decrypts any stored secret is moved over
`secret.key` (the interrupted rotation is completed); one that decrypts none was never
committed and is deleted. Then the fresh rotation runs. If it dies before 3, the database
still uses the old key and the stale `secret.key.new` is simply deleted the same way.

With ERPSYNC_SECRET_KEY, the host cannot change the environment of other processes: the new
key is written to `--new-key-file` (0600, before the commit, so it is never lost) and the
admin sets ERPSYNC_SECRET_KEY to it. A key is never printed.

Known limit: a command that read the old key before the rotation and stores a secret after
it writes that secret under the old key. Rotate while no other erpsync command runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from host.appstate import file_lock
from host.cli.common import db_option, open_registry
from host.cli.errors import CliError
from host.registry.secrets import KEY_FILE_NAME, SECRET_KEY_ENV, SecretBox

if TYPE_CHECKING:
    from host.registry import Registry

NEW_KEY_FILE_NAME = KEY_FILE_NAME + ".new"
LOCK_FILE_NAME = KEY_FILE_NAME + ".lock"


@click.group()
def secrets() -> None:
    """Manage the key that encrypts stored passwords and connector tokens.

    \b
    Examples:
        erpsync secrets rotate-key
        erpsync secrets reset --all
    """


@secrets.command(name="rotate-key")
@click.option(
    "--new-key-file",
    type=click.Path(dir_okay=False),
    help=f"Where to write the new key when the current one comes from {SECRET_KEY_ENV} "
    "(created 0600; must not exist yet).",
)
@db_option
def rotate_key(new_key_file: str | None, db_path: str | None) -> None:
    """Re-encrypt every stored secret with a new key, in one transaction.

    With the key file (secret.key beside the database), the new key replaces it once the
    database has committed; an interrupted rotation is completed by running this again.
    With ERPSYNC_SECRET_KEY, give --new-key-file and then set ERPSYNC_SECRET_KEY to the
    content of that file. The key itself is never printed.

    \b
    Examples:
        erpsync secrets rotate-key
        ERPSYNC_SECRET_KEY=... erpsync secrets rotate-key --new-key-file new.key
    """
    registry = open_registry(db_path, create=False)
    if registry.in_memory:  # no registry there (the warning says where): no secret, no key
        click.echo("Nothing to rotate: no secret is stored there.")
        return
    if os.environ.get(SECRET_KEY_ENV):
        if not new_key_file:
            raise CliError(
                f"the key comes from {SECRET_KEY_ENV}: give --new-key-file PATH to receive "
                f"the new key, then set {SECRET_KEY_ENV} to its content"
            )
        count = rotate_env_key(registry, Path(new_key_file))
        click.echo(
            f"Re-encrypted {_secrets(count)} with a new key written to {new_key_file}. "
            f"Set {SECRET_KEY_ENV} to the content of that file for every erpsync process: "
            "the old key decrypts nothing any more."
        )
        return
    if new_key_file:
        raise CliError(
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
            if not any(True for _ in stored_secrets(registry)):
                click.echo(f"Nothing to rotate: no secret is stored and no {key_path} exists yet.")
                return
            raise CliError(
                f"no key file {str(key_path)!r} (and {SECRET_KEY_ENV} is not set): "
                "the stored secrets cannot be decrypted"
            )
        count = rotate_key_file(registry)
    if completed:
        click.echo(f"Completed an interrupted rotation: {key_path} holds the key it committed.")
    click.echo(
        f"Re-encrypted {_secrets(count)} with a new key; {key_path} now holds it and the old "
        "key decrypts nothing any more."
    )


@secrets.command(name="reset")
@click.option("--connector", "connector_name", help="Drop this connector's token.")
@click.option("--connection", "connection_name", help="Drop this connection's passwords.")
@click.option(
    "--all", "reset_all", is_flag=True, help="Drop every secret that cannot be decrypted."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
def reset(
    connector_name: str | None,
    connection_name: str | None,
    reset_all: bool,
    yes: bool,
    db_path: str | None,
) -> None:
    """Drop stored secrets that the key cannot decrypt (lost or wrong key), to re-enter them.

    Only values the current key cannot decrypt are dropped; the rest are kept. Each drop is
    audited. A connection that lost its passwords is deactivated and marked not tested;
    re-enter them with `connections edit NAME --config password=...`, which tests it again,
    then activate it. Re-enter a token with `connectors edit NAME --token-file FILE`. With
    the key file lost, a new key is made only once no encrypted value is left (--all).

    \b
    Examples:
        erpsync secrets reset --connection acme --yes
        erpsync secrets reset --all
    """
    chosen = [o for o in (connector_name, connection_name, reset_all) if o]
    if len(chosen) != 1:
        raise CliError("give one of --connector NAME, --connection NAME or --all", 2)
    registry = open_registry(db_path, create=False)
    kind = "connector" if connector_name else "connection" if connection_name else None
    name = connector_name or connection_name
    lost = [
        f"{k} {n}"
        for k, n, _ in registry.undecryptable_secrets()
        if kind in (None, k) and name in (None, n)
    ]
    if kind == "connector" and name is not None:
        registry.connector(name)
    elif kind == "connection" and name is not None:
        registry.connection(name)
    if not lost:
        click.echo("Nothing to reset: every stored secret there decrypts.")
        return
    if not yes:
        click.confirm(
            f"Drop the secrets of {', '.join(lost)}? They must be entered again",
            abort=True,
            err=True,
        )
    dropped = registry.reset_secrets(kind, name)
    click.echo(
        f"Dropped the undecryptable secrets of {', '.join(dropped)}. Re-enter them with "
        "erpsync connectors edit NAME --token-file FILE / erpsync connections edit NAME "
        "--config KEY=VALUE (then test and activate the connection)."
    )
    left = registry.undecryptable_secrets()
    if left:
        missing = (
            not os.environ.get(SECRET_KEY_ENV)
            and not (registry.secrets.key_dir / KEY_FILE_NAME).exists()
        )
        click.echo(
            f"note: {len(left)} other record(s) still hold secrets the key cannot decrypt"
            + (
                "; while the key is missing, no new secret can be stored until they are "
                "reset too (--all) or the key is restored"
                if missing
                else ""
            ),
            err=True,
        )


def rotate_key_file(registry: Registry) -> int:
    """Rotate a key kept in secret.key (steps 2-4 of the module docstring); the caller locks."""
    from cryptography.fernet import Fernet

    key_dir = registry.secrets.key_dir
    new_path = key_dir / NEW_KEY_FILE_NAME
    new_key = Fernet.generate_key()
    _write_new_key(new_path, new_key)
    try:
        count = registry.rotate_secrets(SecretBox(key_dir, key=new_key))
    except BaseException:
        # Committed or not? Only the stored secrets can tell; never delete a key in use.
        with contextlib.suppress(Exception):
            resolve_interrupted_rotation(registry)
        raise
    _install(new_path, key_dir / KEY_FILE_NAME)
    return count


def rotate_env_key(registry: Registry, new_key_file: Path) -> int:
    """Rotate a key from ERPSYNC_SECRET_KEY; the new key goes to `new_key_file` first."""
    from cryptography.fernet import Fernet

    new_key = Fernet.generate_key()
    _write_new_key(new_key_file, new_key)
    box = SecretBox(registry.secrets.key_dir, key=new_key)
    try:
        return registry.rotate_secrets(box)
    except BaseException:
        with contextlib.suppress(Exception):
            if not any(_decrypts(box, s) for s in stored_secrets(registry)):
                new_key_file.unlink()
        raise


def resolve_interrupted_rotation(registry: Registry) -> bool:
    """Finish or discard a left-over secret.key.new; True when it was installed.

    Every secret is re-encrypted in one transaction, so the new key decrypting any stored
    secret means that transaction committed; decrypting none means it never did.
    """
    key_dir = registry.secrets.key_dir
    new_path = key_dir / NEW_KEY_FILE_NAME
    from host.files import KEY_FILE_LIMIT, FileReadError, read_bounded

    try:
        key = read_bounded(new_path, what=f"key file {new_path}", limit=KEY_FILE_LIMIT)
    except FileReadError as exc:
        if not (new_path.exists() or new_path.is_symlink()):
            return False
        raise CliError(f"{exc}; move it away to rotate again") from None
    box = SecretBox(key_dir, key=key.strip())
    if any(_decrypts(box, s) for s in stored_secrets(registry)):
        _install(new_path, key_dir / KEY_FILE_NAME)
        return True
    new_path.unlink()
    return False


def stored_secrets(registry: Registry) -> Iterator[str]:
    """Every encrypted value in the registry: connector tokens and connection secrets."""
    for row in registry.db.query("select token from connectors where token is not null"):
        yield row["token"]
    for row in registry.db.query("select secrets from connections where secrets is not null"):
        yield row["secrets"]


def _decrypts(box: SecretBox, token: str) -> bool:
    from host.registry.secrets import SecretKeyError

    try:
        box.decrypt(token)
    except (SecretKeyError, ValueError, TypeError):  # wrong or malformed key
        return False
    return True


def _write_new_key(path: Path, key: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(
            f"{str(path)!r} already exists; choose another path for the new key"
            if path.name != NEW_KEY_FILE_NAME
            else f"{str(path)!r} already exists: another rotation is running"
        ) from None
    except OSError as exc:
        raise CliError(f"cannot create {str(path)!r}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def _install(new_path: Path, key_path: Path) -> None:
    os.replace(new_path, key_path)
    with contextlib.suppress(OSError, AttributeError):  # directories cannot be fsync'ed on Windows
        fd = os.open(key_path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _secrets(count: int) -> str:
    return f"{count} secret{'' if count == 1 else 's'}"
