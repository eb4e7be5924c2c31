"""`erpsync admins`: the accounts that may sign in to the web admin (`erpsync web`).

A password is never taken from the command line (every local user sees argv in `ps`): it comes
from a hidden prompt, or from a file or stdin with `--password-file`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from host.admin.names import check_name
from host.cli.common import db_option, emit_json, json_option, open_registry, print_table
from host.cli.errors import CliError

if TYPE_CHECKING:
    from host.registry.admins import AdminStore


def _store(db_path: str | None, *, create: bool = False) -> AdminStore:
    """The admins of the registry; only `admins add` creates a registry that is missing."""
    from host.registry.admins import AdminStore

    return AdminStore(open_registry(db_path, create=create))


password_file_option = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read the password from the first line of this file; '-' reads it from stdin.",
)


def read_password(password_file: str | None, name: str) -> str:
    """The new password: from --password-file (or stdin), else a hidden prompt asked twice."""
    from host.registry.admins import PASSWORD_MAX_LENGTH, check_password

    if password_file == "-":
        line = sys.stdin.readline(PASSWORD_MAX_LENGTH + 2)
        password = line.rstrip("\r\n")
        if not password:
            raise CliError("--password-file -: stdin gave no password line")
    elif password_file:
        from host.files import TOKEN_FILE_LIMIT, FileReadError, read_bounded_text

        try:
            text = read_bounded_text(
                password_file, what=f"--password-file {password_file!r}", limit=TOKEN_FILE_LIMIT
            )
        except FileReadError as exc:
            raise CliError(str(exc)) from None
        lines = text.splitlines()
        password = lines[0] if lines else ""
        if not password:
            raise CliError(f"--password-file {password_file!r} is empty")
    else:
        if not sys.stdin.isatty():
            raise CliError(
                "no terminal to ask for the password; give --password-file FILE, or "
                "--password-file - to read it from stdin"
            )
        password = click.prompt(
            f"Password for admin {name!r}",
            hide_input=True,
            confirmation_prompt="Repeat the password",
        )
    return check_password(password)


@click.group()
def admins() -> None:
    """Add, list and remove the admins who may sign in to the web admin.

    Passwords are stored as argon2id hashes. They are asked for with a hidden prompt, or read
    with --password-file (a file, or - for stdin); never give one as an argument.

    \b
    Examples:
        erpsync admins add alice
        printf '%s\\n' "$PASSWORD" | erpsync admins add ci-admin --password-file -
        erpsync admins list
    """


@admins.command(name="add")
@click.argument("name")
@password_file_option
@db_option
def add_admin(name: str, password_file: str | None, db_path: str | None) -> None:
    """Add admin NAME, who can then sign in to `erpsync web`.

    The password needs at least 10 characters.

    \b
    Examples:
        erpsync admins add alice
        erpsync admins add bob --password-file bob.pw
    """
    name = check_name(name, "admin")
    store = _store(db_path, create=True)
    if any(a["name"] == name for a in store.admins()):  # before asking for a password
        raise CliError(f"an admin named {name!r} already exists")
    store.add(name, read_password(password_file, name))
    click.echo(f"Added admin {name!r}")


@admins.command(name="list")
@json_option
@db_option
def list_admins(as_json: bool, db_path: str | None) -> None:
    """List admins with when they were added and last signed in.

    \b
    Example:
        erpsync admins list --json
    """
    rows = _store(db_path).admins()
    if as_json:
        emit_json(rows)
        return
    print_table(rows, ["name", "created_at", "last_login_at"])


@admins.command(name="remove")
@click.argument("name")
@db_option
def remove_admin(name: str, db_path: str | None) -> None:
    """Remove admin NAME; their web sessions end at once.

    \b
    Example:
        erpsync admins remove alice
    """
    name = check_name(name, "admin")
    _store(db_path).remove(name)
    click.echo(f"Removed admin {name!r}")


@admins.command(name="passwd")
@click.argument("name")
@password_file_option
@db_option
def passwd(name: str, password_file: str | None, db_path: str | None) -> None:
    """Set a new password for admin NAME; their web sessions end at once.

    \b
    Examples:
        erpsync admins passwd alice
        erpsync admins passwd alice --password-file -
    """
    name = check_name(name, "admin")
    store = _store(db_path)
    store.require(name)  # before asking for a password
    password = read_password(password_file, name)
    store.set_password(name, password)
    click.echo(f"Changed the password of admin {name!r}; their web sessions ended")
