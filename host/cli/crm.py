"""`erpsync crm`: the host's own CRM store (companies, persons, projects), to watch sync work.

Change a record here and the next sync pass pushes it to the ERPs it is linked to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, print_table
from host.cli.errors import CliError

if TYPE_CHECKING:
    from host.crm.store import SqliteCrm

ENTITY_NAMES = ("company", "person", "project")
SUMMARY = {
    "company": ["id", "name", "postalcity", "country", "email", "updated"],
    "person": ["id", "firstname", "lastname", "company_id", "email", "updated"],
    "project": ["id", "name", "number", "enddate", "status", "updated"],
}


def open_crm_for(db_path: str | None, *, create: bool = True) -> SqliteCrm:
    """The CRM store beside the registry given by --db (or in the home).

    `create=False` is for look-ups: a crm.db that does not exist is not created; an empty
    store in memory stands in. When the registry is missing too (a typo in --db or
    ERPSYNC_HOME), the command says where it looked, as `open_registry` does.
    """
    import sqlite3
    from pathlib import Path

    from host.cli.common import note_missing_registry
    from host.crm import crm_path, open_crm
    from host.home import default_db_path

    try:
        if not create and not crm_path(db_path).exists():
            registry = Path(db_path) if db_path else default_db_path()
            if not registry.exists():
                note_missing_registry(str(registry))
            return open_crm(db_path, in_memory=True)
        return open_crm(db_path)
    except sqlite3.DatabaseError as exc:
        raise CliError(f"CRM store {crm_path(db_path)}: cannot open it ({exc})") from exc


def connection_names(db_path: str | None) -> dict[str, str]:
    """Connection GUID -> name, for showing names where the stores keep GUIDs (links, audit
    targets): a GUID stays the identity across renames, a name is what the admin knows."""
    registry = open_registry(db_path, create=False)
    rows = registry.db.execute("SELECT guid, name FROM connections").fetchall()
    return {guid: name for guid, name in rows}


def parse_sets(pairs: tuple[str, ...], option: str = "--set") -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"{option} {pair!r} is not FIELD=VALUE")
        if key in values:
            raise CliError(f"{option} {key} is given twice")
        values[key] = value
    return values


entity_argument = click.argument("entity", type=click.Choice(ENTITY_NAMES))


@click.group()
def crm() -> None:
    """The host's CRM store: list, show, add and edit companies, persons and projects.

    \b
    Example:
        erpsync crm add company --set name="Fjord Marine AS" --set country=NO
    """


@crm.command(name="list")
@entity_argument
@click.option("--search", default="", help="Text contained in any text field.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--offset", default=0, type=click.IntRange(0), help="Skip this many records.")
@json_option
@db_option
def list_records(
    entity: str, search: str, limit: int, offset: int, as_json: bool, db_path: str | None
) -> None:
    """List CRM records of ENTITY (company, person or project), oldest first.

    \b
    Example:
        erpsync crm list company --search oslo --limit 20
    """
    store = open_crm_for(db_path, create=False)
    rows = store.records(entity, search=search, limit=limit, offset=offset)
    if as_json:
        emit_json({"entity": entity, "total": store.count(entity), "records": rows})
        return
    print_table(rows, SUMMARY[entity])


@crm.command(name="show")
@entity_argument
@click.argument("record_id", type=int)
@click.option(
    "--erp-tab", is_flag=True, help="Also fetch the mapped ERP fields live from each connector."
)
@json_option
@db_option
def show_record(
    entity: str, record_id: int, erp_tab: bool, as_json: bool, db_path: str | None
) -> None:
    """Show CRM record ENTITY RECORD_ID with its links to ERP actors.

    Links name their connection (--json also gives its GUID, the link's identity).

    --erp-tab fetches each linked actor's ERP-tab fields from its connector (read-only, in
    the configured ERP field order).

    \b
    Example:
        erpsync crm show company 1 --erp-tab
    """
    store = open_crm_for(db_path, create=False)
    record = store.get(entity, record_id)
    if record is None:
        raise CliError(f"no {entity} with id {record_id}")
    names = connection_names(db_path)
    links = [
        {**link.to_dict(), "connection_name": names.get(link.connection)}
        for link in store.links_of(entity, record_id)
    ]
    tabs: list[dict[str, Any]] = []
    if erp_tab and links:
        from host.cli.common import run_async
        from host.sync.erptab import erp_tabs

        registry = open_registry(db_path, create=False)
        tabs = run_async(erp_tabs(registry, store.links_of(entity, record_id)))
    if as_json:
        emit_json({"entity": entity, "record": record, "links": links, "erp_tab": tabs})
        return
    print_table([{"field": k, "value": v} for k, v in record.items()], ["field", "value"])
    if links:
        click.echo("")
        click.echo("Links:")
        shown = [
            {**link, "connection": link["connection_name"] or f"(removed) {link['connection']}"}
            for link in links
        ]
        print_table(shown, ["connection", "actor_type", "erp_key", "last_modified"])
    for tab in tabs:
        click.echo("")
        click.echo(f"ERP tab: {tab['connection_name']} {tab['actor_type']} {tab['erp_key']}")
        if tab.get("error"):
            click.echo(f"  ({tab['error']})")
            continue
        print_table(tab["fields"], ["label", "key", "value"])


@crm.command(name="add")
@entity_argument
@click.option("--set", "pairs", multiple=True, metavar="FIELD=VALUE", help="A field value.")
@json_option
@db_option
def add_record(entity: str, pairs: tuple[str, ...], as_json: bool, db_path: str | None) -> None:
    """Add a CRM record of ENTITY with --set FIELD=VALUE for each field.

    List fields take a CRM list item key (see `erpsync crm lists`).

    \b
    Example:
        erpsync crm add person --set firstname=Kari --set lastname=Nordmann --set company_id=1
    """
    from host.crm import CrmError

    values = parse_sets(pairs)
    if not values:
        raise CliError("give at least one --set FIELD=VALUE")
    store = open_crm_for(db_path)
    try:
        record = store.add(entity, values)
    except CrmError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json({"entity": entity, "record": record})
        return
    click.echo(f"Added {entity} {record['id']}")


@crm.command(name="edit")
@entity_argument
@click.argument("record_id", type=int)
@click.option("--set", "pairs", multiple=True, metavar="FIELD=VALUE", help="A changed value.")
@json_option
@db_option
def edit_record(
    entity: str, record_id: int, pairs: tuple[str, ...], as_json: bool, db_path: str | None
) -> None:
    """Change fields of CRM record ENTITY RECORD_ID; the next sync pass pushes them.

    \b
    Example:
        erpsync crm edit company 1 --set phone="+47 22 00 00 00"
    """
    from host.crm import CrmError

    values = parse_sets(pairs)
    if not values:
        raise CliError("give at least one --set FIELD=VALUE")
    store = open_crm_for(db_path, create=False)
    try:
        record = store.update(entity, record_id, values)
    except CrmError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json({"entity": entity, "record": record})
        return
    click.echo(f"Updated {entity} {record_id}")


@crm.command(name="lists")
@click.argument("list_name", required=False)
@json_option
@db_option
def show_lists(list_name: str | None, as_json: bool, db_path: str | None) -> None:
    """Show the CRM lists (country, category, business ...) or the items of LIST_NAME.

    \b
    Example:
        erpsync crm lists country
    """
    store = open_crm_for(db_path, create=False)
    lists = store.lists()
    if list_name is not None:
        if list_name not in lists:
            raise CliError(f"no CRM list {list_name!r} (lists: {', '.join(lists)})")
        lists = {list_name: lists[list_name]}
    if as_json:
        emit_json(lists)
        return
    rows = [
        {"list": n, "key": k, "text": t} for n, items in lists.items() for k, t in items.items()
    ]
    print_table(rows, ["list", "key", "text"])
