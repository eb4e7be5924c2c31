"""`erpsync users`: the people an ERP connection can be restricted to."""

from __future__ import annotations

import click

from host.admin.names import check_name
from host.cli.common import db_option, emit_json, json_option, open_registry, print_table


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
