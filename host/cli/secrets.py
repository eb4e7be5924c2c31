"""`erpsync secrets`: rotate the key that encrypts stored passwords and connector tokens,
or drop the secrets a lost key can no longer decrypt (`reset`).

The workflows are host/admin/keys.py; how rotation survives being killed at any point
is told in host/registry/keys.py. This module parses and renders.

Known limit: a command that read the old key before the rotation and stores a secret after
it writes that secret under the old key. Rotate while no other erpsync command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from host.cli.common import db_option, open_registry
from host.cli.errors import CliError
from host.registry.secrets import SECRET_KEY_ENV


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
    from host.admin.keys import rotate_key as rotate

    done = rotate(
        open_registry(db_path, create=False), Path(new_key_file) if new_key_file else None
    )
    if done.no_registry:  # the warning says where
        click.echo("Nothing to rotate: no secret is stored there.")
        return
    if done.from_env:
        click.echo(
            f"Re-encrypted {_secrets(done.count)} with a new key written to {new_key_file}. "
            f"Set {SECRET_KEY_ENV} to the content of that file for every erpsync process: "
            "the old key decrypts nothing any more."
        )
        return
    if done.nothing_stored:
        click.echo(f"Nothing to rotate: no secret is stored and no {done.key_path} exists yet.")
        return
    if done.completed_interrupted:
        click.echo(
            f"Completed an interrupted rotation: {done.key_path} holds the key it committed."
        )
    click.echo(
        f"Re-encrypted {_secrets(done.count)} with a new key; {done.key_path} now holds it and "
        "the old key decrypts nothing any more."
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
    from host.admin import keys

    registry = open_registry(db_path, create=False)
    kind = "connector" if connector_name else "connection" if connection_name else None
    name = connector_name or connection_name
    lost = keys.lost_secrets(registry, kind, name)
    if not lost:
        click.echo("Nothing to reset: every stored secret there decrypts.")
        return
    if not yes:
        click.confirm(
            f"Drop the secrets of {', '.join(lost)}? They must be entered again",
            abort=True,
            err=True,
        )
    done = keys.reset(registry, kind, name)
    click.echo(
        f"Dropped the undecryptable secrets of {', '.join(done.dropped)}. Re-enter them with "
        "erpsync connectors edit NAME --token-file FILE / erpsync connections edit NAME "
        "--config KEY=VALUE (then test and activate the connection)."
    )
    if done.left:
        click.echo(
            f"note: {done.left} other record(s) still hold secrets the key cannot decrypt"
            + (
                "; while the key is missing, no new secret can be stored until they are "
                "reset too (--all) or the key is restored"
                if done.key_missing
                else ""
            ),
            err=True,
        )


def _secrets(count: int) -> str:
    return f"{count} secret{'' if count == 1 else 's'}"
