"""`erpsync users`: the people an ERP connection can be restricted to."""

from __future__ import annotations

import unicodedata

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, print_table
from host.cli.errors import CliError

MAX_NAME_LENGTH = 100
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format, surrogate, private-use and unassigned characters, line and paragraph
separators: none of them belongs in a name shown to people."""


def check_name(value: str, what: str) -> str:
    """A name, stripped and NFC-normalised; refused when empty, too long, or holding a control
    or format character.

    Names end up in tables, audit lines and access lists: a newline or escape code in one
    would forge or garble that output, and a zero-width or bidi character would make two
    names look the same. NFC makes "é" typed as one or two code points the same name.
    """
    name = unicodedata.normalize("NFC", value.strip())
    shown = repr(value if len(value) <= 60 else value[:60] + "...")
    if not name:
        raise CliError(f"{what} name {shown} is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise CliError(
            f"{what} name {shown} is {len(name)} characters long; at most {MAX_NAME_LENGTH}"
        )
    bad = next((ch for ch in name if unicodedata.category(ch) in REFUSED_CATEGORIES), None)
    if bad is not None:
        if unicodedata.category(bad) == "Cf":  # invisible: name it by its code point
            raise CliError(f"{what} name {shown} contains a format character (U+{ord(bad):04X})")
        raise CliError(f"{what} name {shown} contains a control character")
    return name


@click.group()
def users() -> None:
    """Add, list and remove users (the people a connection can be restricted to).

    \b
    Example:
        erpsync users add alice
        erpsync groups add-member sales alice
        erpsync users list
    """


@users.command(name="add")
@click.argument("name")
@db_option
def add_user(name: str, db_path: str | None) -> None:
    """Add user NAME (at most 100 characters, no control characters).

    \b
    Example:
        erpsync users add alice
    """
    name = check_name(name, "user")
    open_registry(db_path).add_user(name)
    click.echo(f"Added user {name!r}")


@users.command(name="list")
@json_option
@db_option
def list_users(as_json: bool, db_path: str | None) -> None:
    """List users with the groups they belong to.

    \b
    Example:
        erpsync users list --json
    """
    rows = [
        {"name": u["name"], "created_at": u["created_at"], "groups": list(u["groups"])}
        for u in open_registry(db_path, create=False).users()
    ]
    if as_json:
        emit_json(rows)
        return
    print_table(rows, ["name", "groups", "created_at"])


@users.command(name="remove")
@click.argument("name")
@db_option
def remove_user(name: str, db_path: str | None) -> None:
    """Remove user NAME, with its group memberships and connection access entries.

    \b
    Example:
        erpsync users remove alice
    """
    name = check_name(name, "user")
    open_registry(db_path, create=False).remove_user(name)
    click.echo(f"Removed user {name!r}")
