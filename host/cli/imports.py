"""`erpsync import`: search the ERP, preview the rows with their CRM values, import them."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

import click

from host.admin.clients import client_for_connector
from host.cli.common import (
    db_option,
    emit_json,
    json_option,
    open_registry,
    print_table,
    run_async,
)
from host.cli.errors import CliError
from host.cli.mapping import sync_call

if TYPE_CHECKING:
    from host.sync.importer import Criteria

where_option = click.option(
    "--where",
    "wheres",
    multiple=True,
    metavar="'FIELD OP VALUE'",
    help="A criterion on a searchable field, e.g. 'POSTALCITY = OSLO' (repeatable, ANDed).",
)
key_option = click.option("--key", "keys", multiple=True, help="An ERP key to import (repeatable).")


@click.group(name="import")
def import_group() -> None:
    """Import actors from an ERP connection into the CRM store (search, preview, import).

    \b
    Example:
        erpsync import preview acme customer --where 'POSTALCITY = OSLO'
        erpsync import run acme customer --all
    """


def _setup(db_path: str | None, connection: str, actor_type: str) -> tuple[Any, ...]:
    from host.admin.upgrades import ensure_usable
    from host.cli.crm import open_crm_for
    from host.sync.importer import _mapper_for_import
    from host.sync.settings import list_items, one_type

    registry = open_registry(db_path, create=False)
    record = registry.connection(connection)
    # An app upgrade that broke the connection comes first: its settings may be why it broke.
    run_async(ensure_usable(registry, record, "import from"), spinner=False)
    settings = sync_call(one_type, registry, record.guid, actor_type)
    mapper = sync_call(_mapper_for_import, settings, list_items(registry, record.guid))
    client = client_for_connector(registry, registry.connector(record.connector))
    return registry, record, open_crm_for(db_path), mapper, client


def _criteria(wheres: tuple[str, ...], keys: tuple[str, ...]) -> Criteria:
    from host.sync.importer import Criteria, parse_where

    return Criteria([sync_call(parse_where, w) for w in wheres], list(dict.fromkeys(keys)))


@import_group.command(name="preview")
@click.argument("connection")
@click.argument("actor_type")
@where_option
@key_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@json_option
@db_option
def preview_cmd(
    connection: str,
    actor_type: str,
    wheres: tuple[str, ...],
    keys: tuple[str, ...],
    limit: int,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Search ACTOR_TYPE of CONNECTION and show the rows with their mapped CRM values.

    Operators by type: text = begins contains ends notbegins notcontains notends isnot
    between; numbers = > < >= <= != between; checkbox =; list oneof notoneof; datetime =
    before after beforeOrEqual afterOrEqual between. Values of between/oneof are comma-separated.

    \b
    Example:
        erpsync import preview acme customer --where 'NAME begins nordic' \\
            --where 'COUNTRY oneof NO,SE'
    """
    from host.sync.importer import preview

    _, record, crm, mapper, client = _setup(db_path, connection, actor_type)
    criteria = _criteria(wheres, keys)

    async def go() -> list[dict[str, Any]]:
        async with client:
            return await preview(client, crm, record.guid, mapper, criteria, limit)

    rows = sync_call(run_async, go())
    if as_json:
        emit_json(rows)
        return
    flat = [
        {
            "erp_key": r["erp_key"],
            "linked_to": r["linked_to"],
            **{f"crm.{k}": v for k, v in r["crm"].items()},
        }
        for r in rows
    ]
    columns = ["erp_key", "linked_to", *[f"crm.{n}" for n in mapper.pulled_names[:5]]]
    print_table(flat, columns)


@import_group.command(name="run")
@click.argument("connection")
@click.argument("actor_type")
@where_option
@key_option
@click.option("--all", "everything", is_flag=True, help="Import every actor of the type.")
@click.option("--page-size", default=500, show_default=True, type=click.IntRange(1, 5000))
@json_option
@db_option
def run_cmd(
    connection: str,
    actor_type: str,
    wheres: tuple[str, ...],
    keys: tuple[str, ...],
    everything: bool,
    page_size: int,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Import what --where/--key select (or --all) into the CRM; re-running resumes or updates.

    Records are created with links to their ERP actors; actors imported before are updated,
    never duplicated. Pages are committed one by one: an interrupted import resumes when the
    same command runs again. On a terminal a progress bar runs on stderr.

    \b
    Example:
        erpsync import run acme customer --all
        erpsync import run acme person --where 'LASTNAME = Hansen'
    """
    from host.sync.importer import run_import

    if not (wheres or keys or everything):
        raise CliError("say what to import: --where, --key, or --all", 2)
    if everything and (wheres or keys):
        raise CliError("--all cannot be combined with --where or --key", 2)
    _, record, crm, mapper, client = _setup(db_path, connection, actor_type)
    criteria = _criteria(wheres, keys)
    # A progress bar on a terminal only (stderr, so stdout stays the result); its length is
    # known for --key, while --all/--where show a running count (the protocol has no total).
    nothing: list[str] = []
    bar = (
        click.progressbar(
            None if keys else (n for n in nothing),  # no length hint: a running count
            length=len(keys) if keys else None,
            label=f"importing {actor_type}",
            file=sys.stderr,
            show_pos=True,
            item_show_func=lambda text: text,
        )
        if sys.stderr.isatty() and not as_json
        else None
    )

    def progress(counts: dict[str, Any]) -> None:
        if bar is not None:
            text = f"{counts['created']} created, {counts['updated']} updated"
            bar.update(max(0, counts["read"] - bar.pos), current_item=text)

    async def go() -> dict[str, Any]:
        async with client:
            return await run_import(
                client, crm, record.guid, mapper, criteria, page_size=page_size, progress=progress
            )

    with bar if bar is not None else contextlib.nullcontext():
        job = sync_call(run_async, go())
    if as_json:
        emit_json(job)
        return
    click.echo(
        f"Imported {actor_type} from {connection!r}: {job['read']} read, {job['created']} "
        f"created, {job['updated']} updated (job {job['id']})"
    )
    if job.get("unmapped_list_items"):
        click.echo(
            f"warning: {job['unmapped_list_items']} list values had no mapped CRM item and were "
            "left out (erpsync mapping lists CONNECTION --auto)",
            err=True,
        )


@import_group.command(name="jobs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@json_option
@db_option
def jobs_cmd(limit: int, as_json: bool, db_path: str | None) -> None:
    """List import jobs, newest first (done = finished; others resume when re-run).

    \b
    Example:
        erpsync import jobs --json
    """
    from host.cli.crm import open_crm_for
    from host.sync import state

    registry = open_registry(db_path, create=False)
    names = {c.guid: c.name for c in registry.connections()}
    rows = state.jobs(open_crm_for(db_path, create=False), limit)
    for row in rows:
        row["connection"] = names.get(row["connection"], row["connection"])
        row["done"] = bool(row["done"])
    if as_json:
        emit_json(rows)
        return
    print_table(
        rows, ["id", "connection", "actor_type", "done", "read", "created", "updated", "criteria"]
    )
