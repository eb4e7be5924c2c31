"""`erpsync groups`: named sets of users, so access is granted once per team."""

from __future__ import annotations

import click

from host.admin.names import check_name
from host.cli.common import db_option, open_registry
from host.cli.people import people_group

groups = people_group(
    "group",
    doc="""Add, list and remove groups of users, and manage their members.

    \b
    Example:
        erpsync groups add sales
        erpsync groups add-member sales alice
        erpsync groups list
    """,
    example="sales",
    list_doc="List groups with their members.",
    related="members",
    remove_doc="""Remove group NAME, with its memberships and connection access entries.

    The users themselves stay.""",
)


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
