"""`erpsync users`: the people an ERP connection can be restricted to."""

from __future__ import annotations

from host.cli.people import people_group

users = people_group(
    "user",
    doc="""Add, list and remove users (the people a connection can be restricted to).

    \b
    Example:
        erpsync users add alice
        erpsync groups add-member sales alice
        erpsync users list
    """,
    example="alice",
    list_doc="List users with the groups they belong to.",
    related="groups",
    remove_doc="Remove user NAME, with its group memberships and connection access entries.",
)
