"""`erpsync sync`: run passes now, run the worker, see status and history, set priority."""

from __future__ import annotations

from typing import Any

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, print_table
from host.cli.errors import EXIT_CONNECTOR_REFUSED, CliError
from host.cli.mapping import sync_call

RUN_COLUMNS = [
    "id",
    "connection",
    "started_at",
    "ended_at",
    "status",
    "read",
    "created",
    "updated",
    "pushed",
    "conflicts",
    "errors",
    "message",
]


@click.group()
def sync() -> None:
    """Sync CRM and ERP: one pass now, the worker, status, history and priority.

    \b
    Example:
        erpsync sync run --connection acme
        ERPSYNC_QUEUE=redis://127.0.0.1:6379/0 erpsync sync worker --workers 4
    """


def _names(registry: Any, guids: list[str]) -> dict[str, str]:
    return {c.guid: c.name for c in registry.connections() if c.guid in guids}


@sync.command(name="run")
@click.option("--connection", "names", multiple=True, help="Only this connection (repeatable).")
@click.option("--page-size", default=500, show_default=True, type=click.IntRange(1, 5000))
@json_option
@db_option
def run(names: tuple[str, ...], page_size: int, as_json: bool, db_path: str | None) -> None:
    """Run one sync pass now, for --connection NAME or every active connection by priority.

    The pass runs in this process (the queue in immediate mode) under the connection's lock:
    if a worker is syncing it right now, it is skipped. Exits 3 when a pass failed.

    \b
    Example:
        erpsync sync run --connection acme --json
    """
    from huey.exceptions import TaskException

    from host.sync.queue import make_huey
    from host.sync.settings import schedule

    registry = open_registry(db_path, create=False)
    if names:
        guids = [registry.connection(n).guid for n in names]
    else:
        guids = [row["guid"] for row in schedule(registry) if row["active"]]
        if not guids:
            raise CliError("no active connection to sync (erpsync connections activate NAME)")
    huey = sync_call(make_huey, db_path, immediate=True)
    results = []
    for guid in guids:
        try:
            outcome = huey.sync_connection(db_path, guid, page_size)()
        except TaskException as exc:  # the engine records its failures; this is anything else
            raise CliError(f"sync task failed: {exc.metadata.get('error', exc)}") from None
        outcome = dict(outcome or {})
        outcome.setdefault("connection_guid", guid)
        results.append(outcome)
    names_by_guid = _names(registry, guids)
    rows = []
    for result in results:
        if "skipped" in result:
            rows.append(
                {
                    "connection": result.get("connection"),
                    "status": "skipped",
                    "message": result["skipped"],
                }
            )
        else:
            rows.append(
                {
                    **result,
                    "connection": names_by_guid.get(result["connection"], result["connection"]),
                }
            )
    if as_json:
        emit_json(rows)
    else:
        print_table(rows, RUN_COLUMNS)
    failed = [r for r in rows if r.get("status") == "failed"]
    if failed:
        raise CliError(
            f"sync of {failed[0]['connection']!r} failed: {failed[0].get('message')}",
            EXIT_CONNECTOR_REFUSED,
        )


@sync.command(name="status")
@json_option
@db_option
def status(as_json: bool, db_path: str | None) -> None:
    """Show each connection's sync status (idle, running, failing, stopped) in priority order.

    \b
    Example:
        erpsync sync status --json
    """
    from host.cli.crm import open_crm_for
    from host.sync import state

    registry = open_registry(db_path, create=False)
    rows = state.overview(registry, open_crm_for(db_path, create=False))
    if as_json:
        emit_json(rows)
        return
    print_table(
        rows,
        [
            "priority",
            "connection",
            "active",
            "status",
            "failures",
            "interval_seconds",
            "last_run_at",
            "reason",
        ],
    )


@sync.command(name="history")
@click.option("--connection", "name", default=None, help="Only this connection.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@json_option
@db_option
def history(name: str | None, limit: int, as_json: bool, db_path: str | None) -> None:
    """Show recent sync runs: start, end, counts and message.

    \b
    Example:
        erpsync sync history --connection acme --limit 5
    """
    from host.cli.crm import open_crm_for
    from host.sync import state

    registry = open_registry(db_path, create=False)
    guid = registry.connection(name).guid if name else None
    crm = open_crm_for(db_path, create=False)
    rows = state.runs(crm, guid, limit)
    names = {c.guid: c.name for c in registry.connections()}
    for row in rows:
        row["connection"] = names.get(row["connection"], row["connection"])
    if as_json:
        emit_json(rows)
        return
    print_table(rows, RUN_COLUMNS)


@sync.command(name="worker")
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Threads."
)
@click.option(
    "--tick",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds between schedule checks.",
)
@click.option("--no-schedule", is_flag=True, help="Only run queued tasks; enqueue nothing.")
@db_option
def worker(workers: int, tick: float, no_schedule: bool, db_path: str | None) -> None:
    """Run the sync worker: a Huey consumer that syncs queued connections.

    It also enqueues every active connection whose interval has passed, in priority order
    (unless --no-schedule). The queue is SQLite in the home, or Redis with
    ERPSYNC_QUEUE=redis://host:port/db so workers on many machines share it. Stop with Ctrl-C.

    \b
    Example:
        ERPSYNC_QUEUE=redis://127.0.0.1:6379/0 erpsync sync worker --workers 4
    """
    from host.sync.queue import run_worker

    open_registry(db_path).close()  # a bad --db is one line here, not in a worker thread
    sync_call(run_worker, db_path, workers=workers, tick=tick, schedule=not no_schedule)


@sync.command(name="enqueue")
@click.option("--connection", "names", multiple=True, help="This connection (repeatable).")
@click.option("--all", "every", is_flag=True, help="Every active connection, by priority.")
@click.option("--page-size", default=500, show_default=True, type=click.IntRange(1, 5000))
@db_option
def enqueue_cmd(names: tuple[str, ...], every: bool, page_size: int, db_path: str | None) -> None:
    """Queue sync passes for workers to run (now, regardless of the interval).

    \b
    Example:
        erpsync sync enqueue --all
    """
    from host.sync.queue import enqueue, make_huey
    from host.sync.settings import schedule

    if bool(names) == every:
        raise CliError("give --connection NAME (repeatable) or --all", 2)
    registry = open_registry(db_path, create=False)
    if every:
        guids = [r["guid"] for r in schedule(registry) if r["active"]]
    else:
        guids = [registry.connection(n).guid for n in names]
    count = enqueue(sync_call(make_huey, db_path), db_path, guids, page_size) if guids else 0
    click.echo(f"{count} sync pass{'es' if count != 1 else ''} queued")


@sync.command(name="start")
@click.argument("connection")
@db_option
def start_cmd(connection: str, db_path: str | None) -> None:
    """Let CONNECTION sync again after it was stopped (clears the failure count).

    \b
    Example:
        erpsync sync start acme
    """
    from host.cli.crm import open_crm_for
    from host.sync.engine import start

    guid = open_registry(db_path, create=False).connection(connection).guid
    start(open_crm_for(db_path), guid)
    click.echo(f"Sync of {connection!r} started; the worker picks it up at its next tick")


@sync.command(name="stop")
@click.argument("connection")
@db_option
def stop_cmd(connection: str, db_path: str | None) -> None:
    """Stop syncing CONNECTION until `erpsync sync start`.

    \b
    Example:
        erpsync sync stop acme
    """
    from host.cli.crm import open_crm_for
    from host.sync.engine import stop

    guid = open_registry(db_path, create=False).connection(connection).guid
    stop(open_crm_for(db_path), guid)
    click.echo(f"Sync of {connection!r} stopped")


@sync.command(name="interval")
@click.argument("connection")
@click.argument("seconds", type=int)
@db_option
def interval_cmd(connection: str, seconds: int, db_path: str | None) -> None:
    """Sync CONNECTION every SECONDS (60 = 1 minute, up to one year).

    \b
    Example:
        erpsync sync interval acme 600
    """
    from host.sync.settings import set_interval

    registry = open_registry(db_path, create=False)
    sync_call(set_interval, registry, registry.connection(connection).guid, seconds)
    click.echo(f"{connection!r} syncs every {seconds} seconds")


@sync.group(name="priority")
def priority() -> None:
    """The sync priority: the ordered list of connections, first served first.

    \b
    Example:
        erpsync sync priority set acme beta
    """


@priority.command(name="show")
@json_option
@db_option
def priority_show(as_json: bool, db_path: str | None) -> None:
    """Show the connections in sync priority order.

    \b
    Example:
        erpsync sync priority show
    """
    from host.sync.settings import schedule

    rows = [
        {
            "position": i,
            "connection": r["name"],
            "active": r["active"],
            "priority_set": r["priority"] is not None,
        }
        for i, r in enumerate(schedule(open_registry(db_path, create=False)), start=1)
    ]
    if as_json:
        emit_json(rows)
        return
    print_table(rows, ["position", "connection", "active", "priority_set"])


@priority.command(name="set")
@click.argument("connections", nargs=-1, required=True)
@db_option
def priority_set(connections: tuple[str, ...], db_path: str | None) -> None:
    """Serve CONNECTIONS first, in this order; the rest follow by name.

    \b
    Example:
        erpsync sync priority set acme beta
    """
    from host.sync.settings import set_priority

    sync_call(set_priority, open_registry(db_path, create=False), connections)
    click.echo("Sync priority: " + ", ".join(connections) + ", then the others by name")
