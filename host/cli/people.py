"""The shared shape of `erpsync users` and `erpsync groups`: add, list and remove one kind of name.

Both groups differ only in words and registry methods, so they are built here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from host.admin.names import check_name
from host.cli.common import db_option, emit_json, json_option, open_registry, print_table


def _documented(doc: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a generated command body its help text (click reads it from the docstring)."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__doc__ = doc
        return func

    return wrap


def people_group(
    kind: str, *, doc: str, example: str, list_doc: str, related: str, remove_doc: str
) -> click.Group:
    """Build the `erpsync <kind>s` group with its add, list and remove commands.

    `related` names the list column (a user's groups, a group's members); `remove_doc` is the
    first paragraph of the remove command's help.
    """
    plural = f"{kind}s"

    @click.group(name=plural)
    @_documented(doc)
    def group() -> None:
        pass

    @group.command(name="add")
    @click.argument("name")
    @db_option
    @_documented(
        f"""Add {kind} NAME (at most 100 characters, no control characters).

    \b
    Example:
        erpsync {plural} add {example}
    """
    )
    def add(name: str, db_path: str | None) -> None:
        name = check_name(name, kind)
        getattr(open_registry(db_path), f"add_{kind}")(name)
        click.echo(f"Added {kind} {name!r}")

    @group.command(name="list")
    @json_option
    @db_option
    @_documented(
        f"""{list_doc}

    \b
    Example:
        erpsync {plural} list --json
    """
    )
    def list_(as_json: bool, db_path: str | None) -> None:
        rows = [
            {"name": r["name"], "created_at": r["created_at"], related: list(r[related])}
            for r in getattr(open_registry(db_path, create=False), plural)()
        ]
        if as_json:
            emit_json(rows)
            return
        print_table(rows, ["name", related, "created_at"])

    @group.command(name="remove")
    @click.argument("name")
    @db_option
    @_documented(
        f"""{remove_doc}

    \b
    Example:
        erpsync {plural} remove {example}
    """
    )
    def remove(name: str, db_path: str | None) -> None:
        name = check_name(name, kind)
        getattr(open_registry(db_path, create=False), f"remove_{kind}")(name)
        click.echo(f"Removed {kind} {name!r}")

    return group
