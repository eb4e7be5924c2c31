"""`erpsync mapping`: which actor types sync, and each ERP field's CRM field and direction.

Automatic mapping is lazy: the first command that reads a connection's settings maps every
actor type it has none for (ERP keys named like CRM fields, no direction yet).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, print_table
from host.cli.errors import CliError

if TYPE_CHECKING:
    from host.registry import Registry
    from host.sync.settings import TypeSettings

DIRECTION_CHOICES = ("erp_to_crm", "crm_to_erp", "both", "none")


def sync_call(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a host.sync function; its expected failures become one line (exit 1)."""
    from host.crm import CrmError
    from host.sync import SyncError

    try:
        return func(*args, **kwargs)
    except (SyncError, CrmError) as exc:
        raise CliError(str(exc)) from exc


def type_dict(settings: TypeSettings) -> dict[str, Any]:
    return {
        "actor_type": settings.actor_type,
        "entity": settings.entity,
        "enabled": settings.enabled,
        "create_in_erp": settings.create_in_erp,
        "fields": [
            {
                "erp_field": f.erp_field,
                "erp_type": settings.erp_fields[f.erp_field].type.value,
                "crm_field": f.crm_field,
                "direction": f.direction or None,
                "in_search": f.in_search,
                "on_tab": f.on_tab,
                "rank": f.rank,
            }
            for f in settings.fields
        ],
    }


def guid_of(registry: Registry, name: str) -> str:
    return registry.connection(name).guid


@click.group()
def mapping() -> None:
    """Field and list mapping per connection and actor type.

    \b
    Example:
        erpsync mapping enable acme customer
        erpsync mapping set acme customer CUSTGROUP --crm-field category --direction erp_to_crm
    """


@mapping.command(name="show")
@click.argument("connection")
@click.argument("actor_type", required=False)
@json_option
@db_option
def show(connection: str, actor_type: str | None, as_json: bool, db_path: str | None) -> None:
    """Show the mapping of CONNECTION (all actor types, or ACTOR_TYPE).

    \b
    Example:
        erpsync mapping show acme customer --json
    """
    from host.sync.settings import type_settings

    registry = open_registry(db_path, create=False)
    types = sync_call(type_settings, registry, guid_of(registry, connection))
    if actor_type is not None:
        if actor_type not in types:
            raise CliError(f"connection {connection!r} offers no actor type {actor_type!r}")
        types = {actor_type: types[actor_type]}
    data = [type_dict(t) for t in types.values()]
    if as_json:
        emit_json({"connection": connection, "types": data})
        return
    if not data:
        click.echo("(no actor types cached; test and save the connection again)")
    for item in data:
        state = "enabled" if item["enabled"] else "disabled"
        create = ", creates in the ERP" if item["create_in_erp"] else ""
        click.echo(f"{item['actor_type']} -> {item['entity']} ({state}{create})")
        print_table(
            item["fields"],
            ["erp_field", "erp_type", "crm_field", "direction", "in_search", "on_tab", "rank"],
        )
        click.echo("")


@mapping.command(name="enable")
@click.argument("connection")
@click.argument("actor_type")
@click.option(
    "--direction",
    type=click.Choice(["auto", "erp_to_crm", "crm_to_erp", "both"]),
    default="auto",
    show_default=True,
    help="Direction for fields mapped without one; auto: both ways where the types allow.",
)
@click.option(
    "--create-in-erp/--no-create-in-erp", default=None, help="Create new CRM records in the ERP."
)
@click.option(
    "--lists/--no-lists",
    "lists_too",
    default=True,
    show_default=True,
    help="Also map the items of the lists its list fields use, by key or name (asks the "
    "connector; existing item mappings are kept).",
)
@db_option
def enable_type(
    connection: str,
    actor_type: str,
    direction: str,
    create_in_erp: bool | None,
    lists_too: bool,
    db_path: str | None,
) -> None:
    """Enable "sync ERP ACTOR_TYPE to CRM <entity>" for CONNECTION.

    Its list fields' items are mapped too (ERP item -> CRM item with the same key or name),
    so a customer's COUNTRY fills the company's country; see `erpsync mapping lists`.

    \b
    Example:
        erpsync mapping enable acme customer --direction both
    """
    from host.cli.common import run_async
    from host.cli.crm import open_crm_for
    from host.sync.settings import enable_with_lists, set_create_in_erp

    registry = open_registry(db_path, create=False)
    guid = guid_of(registry, connection)
    crm = open_crm_for(db_path, create=False)
    done = sync_call(
        run_async,
        enable_with_lists(
            registry, crm, connection, actor_type, direction=direction, lists=lists_too
        ),
    )
    settings = done.settings
    if create_in_erp is not None:
        sync_call(set_create_in_erp, registry, guid, actor_type, create_in_erp)
    mapped = sum(1 for f in settings.fields if f.direction and f.crm_field)
    click.echo(
        f"Sync of {actor_type} to CRM {settings.entity} enabled for {connection!r} "
        f"({mapped} field{'s' if mapped != 1 else ''} mapped with a direction)"
    )
    if done.lists_error:
        click.echo(
            f"warning: list items not mapped ({done.lists_error}); map them with "
            f"erpsync mapping lists {connection} --auto",
            err=True,
        )
    elif done.rows:
        _say_list_items(done.rows, connection)


def _say_list_items(rows: list[dict[str, Any]], connection: str) -> None:
    """What enabling did to the list items of the type's list fields."""
    lists = sorted({r["erp_list"] for r in rows})
    unmapped = [f"{r['erp_list']}:{r['erp_item']}" for r in rows if r["crm_item"] is None]
    click.echo(
        f"List items mapped by key or name: {len(rows) - len(unmapped)} of {len(rows)} "
        f"({', '.join(lists)})"
    )
    if unmapped:
        click.echo(
            f"{len(unmapped)} list item{'s' if len(unmapped) != 1 else ''} unmapped: "
            f"{', '.join(unmapped[:10])}{' ...' if len(unmapped) > 10 else ''} "
            f"(erpsync mapping lists {connection} --map ERP_LIST:ERP_ITEM=CRM_ITEM)",
            err=True,
        )


@mapping.command(name="disable")
@click.argument("connection")
@click.argument("actor_type")
@db_option
def disable_type(connection: str, actor_type: str, db_path: str | None) -> None:
    """Stop syncing ACTOR_TYPE of CONNECTION (its mapping is kept).

    \b
    Example:
        erpsync mapping disable acme supplier
    """
    from host.sync.settings import disable

    registry = open_registry(db_path, create=False)
    sync_call(disable, registry, guid_of(registry, connection), actor_type)
    click.echo(f"Sync of {actor_type} disabled for {connection!r}")


@mapping.command(name="set")
@click.argument("connection")
@click.argument("actor_type")
@click.argument("erp_field")
@click.option("--crm-field", default=None, help="CRM field name ('' unmaps).")
@click.option("--direction", type=click.Choice(DIRECTION_CHOICES), default=None)
@click.option("--in-search/--not-in-search", default=None, help="Offer it as an import criterion.")
@click.option("--on-tab/--not-on-tab", default=None, help="Show it on the ERP tab.")
@click.option("--rank", type=int, default=None, help="Position on the ERP tab.")
@json_option
@db_option
def set_mapping(
    connection: str,
    actor_type: str,
    erp_field: str,
    crm_field: str | None,
    direction: str | None,
    in_search: bool | None,
    on_tab: bool | None,
    rank: int | None,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Map ERP_FIELD of ACTOR_TYPE; a mapping whose types cannot convert is refused.

    \b
    Example:
        erpsync mapping set acme customer CUSTGROUP --crm-field category --direction both
    """
    from dataclasses import asdict

    from host.sync.settings import set_field

    changes: dict[str, Any] = {}
    if crm_field is not None:
        changes["crm_field"] = crm_field
    if direction is not None:
        changes["direction"] = "" if direction == "none" else direction
    if in_search is not None:
        changes["in_search"] = in_search
    if on_tab is not None:
        changes["on_tab"] = on_tab
    if rank is not None:
        changes["rank"] = rank
    if not changes:
        raise CliError(
            "nothing to change: give --crm-field, --direction, --in-search, --on-tab or --rank"
        )
    registry = open_registry(db_path, create=False)
    result = sync_call(
        set_field, registry, guid_of(registry, connection), actor_type, erp_field, **changes
    )
    if as_json:
        emit_json(asdict(result))
        return
    click.echo(
        f"{actor_type}.{erp_field} -> {result.crm_field or '(unmapped)'} "
        f"{result.direction or '(no direction)'}"
    )


@mapping.command(name="order")
@click.argument("connection")
@click.argument("actor_type")
@click.argument("erp_fields", nargs=-1, required=True)
@db_option
def order(
    connection: str, actor_type: str, erp_fields: tuple[str, ...], db_path: str | None
) -> None:
    """Set the ERP field order on the ERP tab: ERP_FIELDS first, in this order.

    \b
    Example:
        erpsync mapping order acme customer NAME CustNo PHONE
    """
    from host.sync.settings import set_order

    registry = open_registry(db_path, create=False)
    sync_call(set_order, registry, guid_of(registry, connection), actor_type, list(erp_fields))
    click.echo(f"ERP tab order of {actor_type} set for {connection!r}")


@mapping.command(name="lists")
@click.argument("connection")
@click.option("--auto", "auto", is_flag=True, help="Propose and save mappings by key or name.")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="ERP_LIST:ERP_ITEM=CRM_ITEM",
    help="Map one ERP list item to a CRM list item ('' unmaps).",
)
@json_option
@db_option
def lists(
    connection: str, auto: bool, pairs: tuple[str, ...], as_json: bool, db_path: str | None
) -> None:
    """Show (and with --auto or --map, change) the list mapping of CONNECTION.

    The ERP lists are the ones mapped list fields use, asked from the connector; each ERP
    item maps to one CRM item, one to one. Unmapped items are listed.

    \b
    Example:
        erpsync mapping lists acme --auto
        erpsync mapping lists acme --map project_statuses:CANC=4
    """
    from host.cli.common import run_async

    registry = open_registry(db_path, create=False)
    rows = run_async(_list_rows(registry, connection, db_path, auto=auto, pairs=pairs))
    unmapped = [f"{r['erp_list']}:{r['erp_item']}" for r in rows if r["crm_item"] is None]
    if as_json:
        emit_json({"connection": connection, "items": rows, "unmapped": unmapped})
        return
    print_table(rows, ["erp_list", "erp_item", "erp_text", "crm_list", "crm_item", "crm_text"])
    if unmapped:
        click.echo(f"{len(unmapped)} unmapped: {', '.join(unmapped)}", err=True)


async def _list_rows(
    registry: Registry,
    connection: str,
    db_path: str | None,
    *,
    auto: bool = False,
    pairs: tuple[str, ...] = (),
    only: str | None = None,
) -> list[dict[str, Any]]:
    """The list mapping rows of CONNECTION (host.sync.lists.list_rows), after proposing
    (`auto`) and applying the `--map` pairs; all or nothing."""
    from host.cli.crm import open_crm_for
    from host.crm import CrmError
    from host.sync import SyncError
    from host.sync.settings import list_rows

    wanted: dict[str, dict[str, str]] = {}
    for pair in pairs:
        target, sep, crm_item = pair.partition("=")
        erp_list, colon, erp_item = target.partition(":")
        if not sep or not colon or not erp_list or not erp_item:
            raise CliError(f"--map {pair!r} is not ERP_LIST:ERP_ITEM=CRM_ITEM")
        wanted.setdefault(erp_list, {})[erp_item] = crm_item
    registry.connection(connection)
    crm = open_crm_for(db_path, create=False)
    try:
        rows: list[dict[str, Any]] = await list_rows(
            registry, crm, connection, auto=auto, wanted=wanted, only=only
        )
    except (SyncError, CrmError) as exc:
        raise CliError(str(exc)) from exc
    return rows


@mapping.command(name="export")
@click.argument("connection")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="File to write (default: stdout)."
)
@db_option
def export(connection: str, output: str | None, db_path: str | None) -> None:
    """Export CONNECTION's sync settings (mapping, lists, defaults, interval) as JSON.

    \b
    Example:
        erpsync mapping export acme -o acme-sync.json
    """
    from host.sync.settings import export_settings

    registry = open_registry(db_path, create=False)
    document = sync_call(export_settings, registry, connection)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    from pathlib import Path

    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"Sync settings of {connection!r} written to {output}", err=True)


@mapping.command(name="import")
@click.argument("connection")
@click.argument("file", type=click.Path(), metavar="FILE")
@db_option
def import_file(connection: str, file: str, db_path: str | None) -> None:
    """Replace CONNECTION's sync settings with an exported FILE, all or nothing.

    \b
    Example:
        erpsync mapping import acme-copy acme-sync.json
    """
    from host.files import FileReadError, read_bounded
    from host.sync.settings import SETTINGS_FILE_LIMIT, import_settings, parse_settings_file

    try:
        raw = read_bounded(file, what=f"sync settings file {file!r}", limit=SETTINGS_FILE_LIMIT)
    except FileReadError as exc:
        raise CliError(str(exc)) from None
    document = sync_call(parse_settings_file, raw, file)
    registry = open_registry(db_path, create=False)
    sync_call(import_settings, registry, connection, document)
    click.echo(f"Sync settings of {connection!r} replaced from {file}")
