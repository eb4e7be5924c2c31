"""`erpsync defaults`: values used when sync creates an actor in the ERP."""

from __future__ import annotations

import click

from host.cli.common import (
    db_option,
    emit_json,
    json_option,
    open_registry,
    print_table,
    run_async,
)
from host.cli.errors import CliError
from host.cli.mapping import guid_of, sync_call


@click.group()
def defaults() -> None:
    """Default values per actor type, used only when creating an actor in the ERP.

    \b
    Example:
        erpsync defaults set acme customer PAYTERMS --value NET14
    """


@defaults.command(name="show")
@click.argument("connection")
@click.argument("actor_type")
@json_option
@db_option
def show(connection: str, actor_type: str, as_json: bool, db_path: str | None) -> None:
    """Show every settable ERP field of ACTOR_TYPE with its default, ask and mandatory flags.

    Fields the connector declares mandatory are mandatory here too (forced).

    \b
    Example:
        erpsync defaults show acme customer
    """
    from host.sync.settings import one_type

    registry = open_registry(db_path, create=False)
    settings = sync_call(one_type, registry, guid_of(registry, connection), actor_type)
    rows = [
        {
            "erp_field": d.erp_field,
            "value": d.value,
            "ask": d.ask,
            "mandatory": d.mandatory,
            "forced": d.forced,
        }
        for d in settings.defaults.values()
        if settings.erp_fields[d.erp_field].settable
    ]
    if as_json:
        emit_json({"connection": connection, "actor_type": actor_type, "defaults": rows})
        return
    print_table(rows, ["erp_field", "value", "ask", "mandatory", "forced"])


@defaults.command(name="set")
@click.argument("connection")
@click.argument("actor_type")
@click.argument("erp_field")
@click.option("--value", default=None, help="The default value ('' clears it).")
@click.option("--ask/--no-ask", default=None, help="Ask for a value on create.")
@click.option("--mandatory/--optional", default=None, help="A value is required on create.")
@json_option
@db_option
def set_default(
    connection: str,
    actor_type: str,
    erp_field: str,
    value: str | None,
    ask: bool | None,
    mandatory: bool | None,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Set the default of ERP_FIELD of ACTOR_TYPE; the value is checked against its type
    (and, for a list field, against the ERP list's items, asked of the connector).

    \b
    Example:
        erpsync defaults set acme customer CURRENCY --value EUR --mandatory
    """
    from dataclasses import asdict

    from host.sync.settings import set_default_checked as change

    options = {
        k: v for k, v in (("value", value), ("ask", ask), ("mandatory", mandatory)) if v is not None
    }
    if not options:
        raise CliError("nothing to change: give --value, --ask/--no-ask or --mandatory/--optional")
    registry = open_registry(db_path, create=False)
    guid = guid_of(registry, connection)
    result = sync_call(run_async, change(registry, guid, actor_type, erp_field, **options))
    if as_json:
        emit_json(asdict(result))
        return
    click.echo(
        f"{actor_type}.{erp_field}: value {result.value!r}, ask {'yes' if result.ask else 'no'}, "
        f"mandatory {'yes' if result.mandatory else 'no'}"
    )
