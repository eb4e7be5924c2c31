"""`erpsync secrets`: rotate the key that encrypts stored passwords and connector tokens,
or drop the secrets a lost key can no longer decrypt (`reset`).

How rotation survives being killed at any point is told in host/registry/keys.py.

Known limit: a command that read the old key before the rotation and stores a secret after
it writes that secret under the old key. Rotate while no other erpsync command runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from host.appstate import file_lock
from host.cli.common import db_option, open_registry
from host.cli.errors import CliError
from host.registry.secrets import KEY_FILE_NAME, SECRET_KEY_ENV


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
    from host.registry.keys import (
        LOCK_FILE_NAME,
        NEW_KEY_FILE_NAME,
        resolve_interrupted_rotation,
        rotate_env_key,
        rotate_key_file,
    )

    registry = open_registry(db_path)
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
            if not any(True for _ in registry.stored_secrets()):
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
    registry = open_registry(db_path)
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


def _secrets(count: int) -> str:
    return f"{count} secret{'' if count == 1 else 's'}"
