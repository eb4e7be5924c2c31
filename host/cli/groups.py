"""`erpsync groups`: named sets of users, so access is granted once per team."""

from __future__ import annotations

import click

from host.admin.names import check_name
from host.cli.common import db_option, emit_json, json_option, open_registry, print_table


@click.group()
def groups() -> None:
    """Add, list and remove groups of users, and manage their members.

    \b
    Example:
        erpsync groups add sales
        erpsync groups add-member sales alice
        erpsync groups list
    """


@groups.command(name="add")
@click.argument("name")
@db_option
def add_group(name: str, db_path: str | None) -> None:
    """Add group NAME (at most 100 characters, no control characters).

    \b
    Example:
        erpsync groups add sales
    """
    name = check_name(name, "group")
    open_registry(db_path).add_group(name)
    click.echo(f"Added group {name!r}")


@groups.command(name="list")
@json_option
@db_option
def list_groups(as_json: bool, db_path: str | None) -> None:
    """List groups with their members.

    \b
    Example:
        erpsync groups list --json
    """
    rows = [
        {"name": g["name"], "created_at": g["created_at"], "members": list(g["members"])}
        for g in open_registry(db_path, create=False).groups()
    ]
    if as_json:
        emit_json(rows)
        return
    print_table(rows, ["name", "members", "created_at"])


@groups.command(name="remove")
@click.argument("name")
@db_option
def remove_group(name: str, db_path: str | None) -> None:
    """Remove group NAME, with its memberships and connection access entries.

    The users themselves stay.

    \b
    Example:
        erpsync groups remove sales
    """
    name = check_name(name, "group")
    open_registry(db_path, create=False).remove_group(name)
    click.echo(f"Removed group {name!r}")


@groups.command(name="add-member")
@click.argument("group")
@click.argument("user")
@db_option
def add_member(group: str, user: str, db_path: str | None) -> None:
    """Make USER a member of GROUP; both must exist. Adding a member twice is harmless.

    \b
    Example:
        erpsync groups add-member sales alice
    """
    group = check_name(group, "group")
    user = check_name(user, "user")
    open_registry(db_path, create=False).add_member(group, user)
    click.echo(f"User {user!r} is a member of group {group!r}")


@groups.command(name="remove-member")
@click.argument("group")
@click.argument("user")
@db_option
def remove_member(group: str, user: str, db_path: str | None) -> None:
    """Take USER out of GROUP; the user and the group stay.

    \b
    Example:
        erpsync groups remove-member sales alice
    """
    group = check_name(group, "group")
    user = check_name(user, "user")
    open_registry(db_path, create=False).remove_member(group, user)
    click.echo(f"Removed user {user!r} from group {group!r}")
