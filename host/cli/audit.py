"""`erpsync audit`: who changed what in the registry, and when."""

from __future__ import annotations

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, print_table


@click.command(name="audit")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most this many records, newest first.",
)
@json_option
@db_option
def audit(limit: int, as_json: bool, db_path: str | None) -> None:
    """Show the audit log, newest first: when, who (ERPSYNC_ADMIN or the OS user), what.

    Every change to the registry is recorded in the same transaction as the change itself;
    secret values never appear in it. Targets stored with a connection's GUID (sync settings)
    show its current name here; --json gives them as stored.

    \b
    Example:
        erpsync audit --limit 20
        erpsync audit --json
    """
    rows = [
        {
            "at": r["at"],
            "who": r["who"],
            "action": r["action"],
            "target": r["target"],
            "detail": r["detail"] or "",
        }
        for r in open_registry(db_path, create=False).audit_log(limit)
    ]
    if as_json:
        emit_json(rows)
        return
    from host.cli.crm import connection_names

    names = connection_names(db_path)
    for row in rows:  # sync settings targets start with a connection GUID: show its name
        guid, slash, rest = row["target"].partition("/")
        if guid in names:
            row["target"] = f"{names[guid]}{slash}{rest}"
    print_table(rows, ["at", "who", "action", "target", "detail"])
