"""`erpsync connections`: the admin lifecycle of ERP connections.

A connection is saved only after the connector's test passed with every mandatory field
filled; config changes need the connection inactive and a new passing test; secrets typed
once are never asked for again, never shown, and merged on this side before a re-test.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import Callable, Mapping
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
from host.cli.config_input import config_options, read_config_input
from host.cli.deadline import fresh_deadline, timeout_option, timeout_option_each
from host.cli.errors import (
    EXIT_CONNECTOR_REFUSED,
    EXIT_ERROR,
    EXIT_PROTOCOL,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
    client_exit_code,
    safe,
)
from host.cli.users import check_name

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.connector import Field, Response
    from host.protocol.validation import ValidationReport
    from host.registry import ConnectionRecord, ConnectorRecord, Registry


@click.group()
def connections() -> None:
    """ERP connections: a connector plus config values, tested before they are saved.

    \b
    Example:
        erpsync connections add acme --connector mock-erp \\
            --config username=demo --config password=@erp-password.txt --no-input
    """


# --- shared pieces ---------------------------------------------------------------------


def _interactive(no_input: bool) -> bool:
    return not no_input and sys.stdin.isatty()


def apply_defaults(fields: list[Field], values: dict[str, Any]) -> None:
    from host.protocol.values import default_value

    for item in fields:
        if item.settable and item.key not in values and item.default is not None:
            values[item.key] = default_value(item)


async def fetch_lists(client: ConnectorClient, fields: list[Field]) -> dict[str, dict[str, str]]:
    """The lists the config fields choose from, asked for the all-zero GUID."""
    from host.client import CallFailed
    from host.connector import ALL_ZERO_GUID, FieldType

    lists: dict[str, dict[str, str]] = {}
    for item in fields:
        if item.type is FieldType.LIST and item.list_name not in lists:
            try:
                lists[item.list_name] = await client.get_list(ALL_ZERO_GUID, item.list_name)
            except CallFailed:
                continue  # membership then goes unchecked locally; the connector still checks
    return lists


def fail_validation(report: ValidationReport, as_json: bool) -> None:
    """Show the per-field report (Kafka Connect style), then stop with one line."""
    if as_json:
        emit_json({"saved": False, "validation": report.to_dict()})
    else:
        rows = [f.to_dict() for f in report.fields if f.errors]
        rows += [{"name": k, "errors": ["not a config field"]} for k in report.unknown_keys]
        print_table(rows, ["name", "value", "errors"])
    problems = report.problems()
    raise CliError(
        f"{report.error_count} invalid config value{'s' if report.error_count != 1 else ''}: "
        + "; ".join(problems)
    )


def explain(response: Response) -> str:
    text = response.user_explanation or response.error_code or response.state.value
    if response.tech_explanation and response.error_code in ("connector_error", "invalid_request"):
        text += f" ({response.tech_explanation})"
    return str(text)


def check_scope(scope: str | None, users: tuple[str, ...], groups: tuple[str, ...]) -> None:
    if scope == "everyone" and (users or groups):
        raise CliError("--scope everyone cannot be combined with --user/--group")
    if scope == "restricted" and not (users or groups):
        raise CliError("--scope restricted needs at least one --user or --group")


async def fetch_actor_types(
    client: ConnectorClient, guid: str
) -> tuple[dict[str, tuple[list[dict[str, Any]], list[str]]], str | None]:
    """What to cache on save: type -> (fields, searchable keys); a warning when it failed."""
    from host.client import CallFailed

    try:
        types = await client.actor_types(guid)
        cache = {}
        for actor_type in types:
            fields = await client.actor_fields(guid, actor_type)
            searchable = await client.searchable_fields(guid, actor_type)
            cache[actor_type] = ([f.to_dict() for f in fields], searchable)
    except CallFailed as exc:
        if exc.response.error_code == "not_supported":
            return {}, None
        return {}, f"actor types not cached: {exc}"
    return cache, None


async def save_and_check(
    client: ConnectorClient, guid: str, config: Mapping[str, Any], as_json: bool
) -> tuple[Response, dict[str, tuple[list[dict[str, Any]], list[str]]], str | None]:
    """The connector's side of a save, after its config test passed: save, test the saved
    connection, read actor types. A failure ends the command (exit 3, JSON on --json)."""
    from host.cli.connection_form import fail_test

    saved = await client.save_connection(guid, config)
    if not saved.ok:
        fail_test(
            saved,
            "save",
            f"the connector refused to save the connection: {explain(saved)}",
            as_json,
        )
    checked = await client.test_connection(guid)
    if not checked.ok:
        fail_test(
            checked,
            "test",
            f"connection test after save failed, nothing was saved: {explain(checked)}",
            as_json,
        )
    cache, warning = await fetch_actor_types(client, guid)
    return checked, cache, warning


async def check_protocol(client: ConnectorClient) -> None:
    """Ask the connector's info before sending it anything: a connector that moved to a
    protocol version this host does not speak is refused in one line, before any config."""
    await client.info()


def load_form(
    registry: Registry, connector: ConnectorRecord
) -> tuple[list[Field], dict[str, dict[str, str]]]:
    """The connector's config fields and the lists they choose from (after the protocol check)."""
    client = client_for_connector(registry, connector)

    async def run() -> tuple[list[Field], dict[str, dict[str, str]]]:
        async with client:
            await check_protocol(client)
            fields = await client.config_fields()
            return fields, await fetch_lists(client, fields)

    return run_async(run())


def secrets_in_play(fields: list[Field], *configs: Mapping[str, Any] | None) -> list[str]:
    """The secret values of these configs, by the fields the connector declared: each call
    is made by a new client, which must know them to scrub the connector's answers."""
    from host.protocol.scrub import secret_values

    keys = [f.key for f in fields if f.is_secret]
    return [value for config in configs if config for value in secret_values(config, keys)]


def config_tester(
    registry: Registry,
    connector: ConnectorRecord,
    fields: list[Field],
    current: Mapping[str, Any] | None = None,
) -> Callable[[Mapping[str, Any]], Response]:
    """The connector's config test, one call per try (prompts run between tries); its answer
    is scrubbed of the secrets tried and of those stored (`current`, when editing)."""

    def test(config: Mapping[str, Any]) -> Response:
        client = client_for_connector(registry, connector, secrets_in_play(fields, config, current))

        async def run() -> Response:
            async with client:
                return await client.test_config(config)

        return run_async(run())

    return test


# --- commands --------------------------------------------------------------------------


@connections.command(name="add")
@click.argument("name")
@click.option(
    "--connector",
    "connector_name",
    help="Registered connector name (asked for in a terminal when not given).",
)
@config_options
@click.option("--user", "users", multiple=True, help="Give this user access (repeatable).")
@click.option("--group", "groups", multiple=True, help="Give this group access (repeatable).")
@click.option(
    "--scope",
    type=click.Choice(["everyone", "restricted"]),
    default=None,
    help="everyone (default) or restricted to --user/--group.",
)
@click.option("--description", default=None, help="Free text shown in lists.")
@click.option("--no-input", is_flag=True, help="Never prompt; missing values take defaults.")
@timeout_option
@json_option
@db_option
def add_connection(
    name: str,
    connector_name: str | None,
    config_pairs: tuple[str, ...],
    config_file: str | None,
    users: tuple[str, ...],
    groups: tuple[str, ...],
    scope: str | None,
    description: str | None,
    no_input: bool,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Add ERP connection NAME: checked, tested by the connector, and only then saved.

    Values come from --config-file and --config (see docs/security.md: secrets belong in a
    file or on stdin, not inline). In a terminal, what is missing is asked for: the
    connector, each config field (passwords hidden), who may use it, a description; a bad
    value or a failed test offers to change a value and test again. Without a terminal (or
    with --no-input) missing values take their defaults, and a failed test saves nothing
    and exits 3 with the connector's explanation. Users and groups must exist.

    \b
    Examples:
        erpsync connections add acme --connector mock-erp --config-file acme.toml --no-input
        printf %s "$ERP_PASSWORD" | erpsync connections add acme --connector mock-erp \\
            --config username=demo --config password=- --no-input
    """
    from host.cli.connection_form import (
        aborting,
        ask_connector,
        ask_description,
        ask_scope,
        prompt_missing,
        settle,
    )

    name = check_name(name, "connection")
    check_scope(scope, users, groups)
    interactive = _interactive(no_input)
    registry = open_registry(db_path)
    if connector_name is None and not interactive:
        known = ", ".join(c.name for c in registry.connectors()) or "none registered"
        raise CliError(f"missing option --connector (registered: {known})", EXIT_USAGE)
    registry.check_principals(users, groups)
    if any(c.name == name for c in registry.connections()):
        raise CliError(f"a connection named {name!r} already exists")
    with aborting():
        values: dict[str, Any] = read_config_input(config_pairs, config_file, no_input=no_input)
        if connector_name is None:
            connector_name = ask_connector(registry)
        connector = registry.connector(connector_name)
        fields, lists = load_form(registry, connector)
        if interactive:
            prompt_missing(fields, values, lists)
            if scope is None and not (users or groups):
                scope, users, groups = ask_scope(registry)
            if description is None:
                description = ask_description()
        config, _ = settle(
            fields,
            lists,
            values,
            interactive=interactive,
            as_json=as_json,
            test=config_tester(registry, connector, fields),
        )
    client = client_for_connector(registry, connector, secrets_in_play(fields, config))
    guid = str(uuid.uuid4())

    async def run() -> tuple[ConnectionRecord, str | None]:
        async with client:
            registry.journal_guid(guid, connector)  # committed first: doctor may clean it up
            try:
                checked, cache, warning = await save_and_check(client, guid, config, as_json)
                with registry.transaction():
                    record = registry.add_connection(
                        guid=guid,
                        name=name,
                        connector=connector.name,
                        config=config,
                        secret_keys=[f.key for f in fields if f.is_secret],
                        description=description or "",
                        users=users,
                        groups=groups,
                        test_state=checked.state.value,
                        test_message=checked.user_explanation,
                    )
                    registry.cache_actor_types(guid, cache)
            except BaseException:
                await _forget_quietly(client, guid)  # the connector must not keep an orphan
                raise
            return record, warning

    record, warning = run_async(run())
    if warning:
        click.echo(f"warning: {safe(warning, 1000)}", err=True)
    if as_json:
        emit_json({"saved": True, "connection": record.to_dict()})
        return
    message = record.last_test_message or "ok"
    click.echo(f"Connection {name!r} tested and saved: {safe(message)}")


async def _forget_quietly(client: ConnectorClient, guid: str) -> None:
    from host.client import ConnectorClientError

    with contextlib.suppress(ConnectorClientError):
        await client.delete_connection(guid)


@connections.command(name="list")
@click.option("--visible-to", metavar="USER", help="Only connections USER may use.")
@json_option
@db_option
def list_connections(visible_to: str | None, as_json: bool, db_path: str | None) -> None:
    """List ERP connections with scope, active flag and last test result.

    --visible-to USER keeps those scoped to everyone, to USER, or to a group of USER.

    \b
    Example:
        erpsync connections list --visible-to alice --json
    """
    registry = open_registry(db_path)
    rows = [c.to_dict() for c in registry.connections(visible_to=visible_to)]
    if as_json:
        emit_json(rows)
        return
    print_table(
        [_row(r) for r in rows], ["name", "connector", "scope", "active", "last_test", "tested_at"]
    )


def _scope_text(row: Mapping[str, Any]) -> str:
    if row["scope"] == "everyone":
        return "everyone"
    return ",".join([*(f"user:{u}" for u in row["users"]), *(f"group:{g}" for g in row["groups"])])


def _row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "scope": _scope_text(row),
        "last_test": row["last_test"]["state"],
        "tested_at": row["last_test"]["at"],
    }


@connections.command(name="show")
@click.argument("name")
@json_option
@db_option
def show_connection(name: str, as_json: bool, db_path: str | None) -> None:
    """Show one connection: config (secrets as ****), scope, last test, cached actor types.

    \b
    Example:
        erpsync connections show acme
    """
    registry = open_registry(db_path)
    record = registry.connection(name)
    data = {**record.to_dict(), "actor_types": registry.actor_types(record.guid)}
    if as_json:
        emit_json(data)
        return
    test = data["last_test"]
    for label, value in [
        ("name", safe(record.name)),
        ("guid", safe(record.guid)),
        ("connector", safe(record.connector)),
        ("scope", safe(_scope_text(data))),
        ("active", "yes" if record.active else "no"),
        ("description", safe(record.description) or "-"),
        (
            "last test",
            f"{safe(test['state'] or 'never')} {safe(test['at'] or '')} "
            f"{safe(test['message'] or '')}",
        ),
    ]:
        click.echo(f"{label + ':':13}{value}".rstrip())
    click.echo("config:")
    for key, value in data["config"].items():
        click.echo(f"  {safe(key)} = {safe(value)}")
    if data["actor_types"]:
        click.echo("actor types:")
        for actor_type, info in data["actor_types"].items():
            keys = [str(f["key"]) for f in info["fields"]]
            click.echo(
                f"  {safe(actor_type)}: {len(keys)} fields ({safe(', '.join(keys[:8]))}"
                f"{' ...' if len(keys) > 8 else ''}); searchable: "
                f"{safe(', '.join(map(str, info['searchable']))) or '-'}"
            )
    else:
        click.echo("actor types: (none cached)")


PASSED = ("ok", "ok_with_info", "warning")


@connections.command(name="test")
@click.argument("name", required=False)
@click.option("--all", "test_all", is_flag=True, help="Test every connection concurrently.")
@click.option(
    "--concurrency",
    default=16,
    show_default=True,
    type=click.IntRange(1, 256),
    help="How many tests run at once with --all.",
)
@timeout_option_each("connection")
@json_option
@db_option
def test_connection(
    name: str | None, test_all: bool, concurrency: int, as_json: bool, db_path: str | None
) -> None:
    """Ask the connector to test saved connection NAME (or --all) and record the result.

    Exits 3 when a connector reports a failure, 4 when one cannot be reached.

    \b
    Examples:
        erpsync connections test acme
        erpsync connections test --all --concurrency 32
    """
    if bool(name) == test_all:
        raise CliError("give a connection NAME or --all (not both)", 2)
    registry = open_registry(db_path)
    records = registry.connections() if test_all else [registry.connection(name or "")]
    if not records:
        click.echo("no connections to test", err=True)
        return
    results = run_async(
        _test_many(registry, records, concurrency, show_progress=test_all), spinner=not test_all
    )
    with registry.transaction():
        for record, outcome in zip(records, results, strict=True):
            registry.record_test(record.guid, outcome["state"], outcome["message"])
    exits = [r.pop("_exit", EXIT_CONNECTOR_REFUSED) for r in results]
    failed = [r for r in results if r["state"] not in PASSED]
    if as_json:
        emit_json(results if test_all else results[0])
    elif test_all:
        print_table(results, ["name", "connector", "state", "message"])
        click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed", err=True)
    elif not failed:
        outcome = results[0]
        click.echo(
            f"Connection {outcome['name']!r}: {safe(outcome['state'])}"
            + (f": {safe(outcome['message'])}" if outcome["message"] else "")
        )
    if failed:
        # Unreachable first (a retry may help), then protocol/token/TLS trouble, then refusals.
        failed_exits = {
            code for r, code in zip(results, exits, strict=True) if r["state"] not in PASSED
        }
        code = next(
            (c for c in (EXIT_UNREACHABLE, EXIT_PROTOCOL) if c in failed_exits),
            EXIT_CONNECTOR_REFUSED,
        )
        if test_all:
            raise CliError(f"{len(failed)} of {len(results)} connection tests failed", code)
        raise CliError(
            f"connection {failed[0]['name']!r} test failed: {failed[0]['message']}", code
        )


async def _test_many(
    registry: Registry, records: list[ConnectionRecord], concurrency: int, show_progress: bool
) -> list[dict[str, Any]]:
    """Test connections concurrently, bounded; one HTTP client (and one protocol check)
    per connector."""
    from host.client import ConnectorClientError

    clients: dict[str, ConnectorClient] = {}
    checks: dict[str, asyncio.Future[None]] = {}
    gate = asyncio.Semaphore(concurrency)

    async def one(record: ConnectionRecord) -> dict[str, Any]:
        base = {"name": record.name, "connector": record.connector}
        async with gate:
            try:
                with fresh_deadline():  # each connection gets the whole --timeout
                    if record.connector not in clients:
                        clients[record.connector] = client_for_connector(
                            registry, registry.connector(record.connector)
                        )
                        checks[record.connector] = asyncio.ensure_future(
                            check_protocol(clients[record.connector])
                        )
                    await asyncio.shield(checks[record.connector])
                    response = await clients[record.connector].test_connection(record.guid)
            except ConnectorClientError as exc:
                if not exc.retry:
                    return {
                        **base,
                        "state": "error",
                        "message": str(exc),
                        "_exit": client_exit_code(exc),
                    }
                return {
                    **base,
                    "state": "unreachable",
                    "message": str(exc),
                    "_exit": EXIT_UNREACHABLE,
                }
        return {
            **base,
            "state": response.state.value,
            "message": explain(response) if not response.ok else response.user_explanation,
        }

    try:
        tasks = [asyncio.ensure_future(one(r)) for r in records]
        if show_progress and sys.stderr.isatty():
            with click.progressbar(length=len(tasks), label="testing", file=sys.stderr) as bar:
                for done in asyncio.as_completed(tasks):
                    await done
                    bar.update(1)
        return list(await asyncio.gather(*tasks))
    finally:
        for client in clients.values():
            await client.aclose()


@connections.command(name="edit")
@click.argument("name")
@config_options
@click.option("--rename", "new_name", help="A new name for the connection.")
@click.option("--description", default=None, help="A new description.")
@click.option("--user", "users", multiple=True, help="Replace the access list (repeatable).")
@click.option("--group", "groups", multiple=True, help="Replace the access list (repeatable).")
@click.option(
    "--scope",
    type=click.Choice(["everyone", "restricted"]),
    default=None,
    help="everyone clears the access list.",
)
@click.option("--no-input", is_flag=True, help="Never prompt.")
@timeout_option
@json_option
@db_option
def edit_connection(
    name: str,
    config_pairs: tuple[str, ...],
    config_file: str | None,
    new_name: str | None,
    description: str | None,
    users: tuple[str, ...],
    groups: tuple[str, ...],
    scope: str | None,
    no_input: bool,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Edit connection NAME; config changes need it inactive and pass a new test first.

    Changed values come from --config-file and --config, as for `connections add`; the
    connection must be inactive. Secrets you do not re-enter are kept (merged here, never
    shown). Name, description and scope can change while active. With no option in a
    terminal, every field is prompted with its current value.

    \b
    Example:
        erpsync connections deactivate acme
        erpsync connections edit acme --config company=2 --no-input
        erpsync connections test acme && erpsync connections activate acme
    """
    from host.cli.connection_form import aborting, prompt_missing, settle
    from host.client import ConnectorClientError

    check_scope(scope, users, groups)
    registry = open_registry(db_path)
    record = registry.connection(name)
    seen = _snapshot(registry, record)
    given_config = bool(config_pairs or config_file)
    nothing_else = new_name is None and description is None and not (users or groups or scope)
    wants_config = given_config or (nothing_else and _interactive(no_input))
    if not wants_config and nothing_else:
        raise CliError(
            "nothing to change: give --config, --rename, --description, --user, --group or --scope"
        )
    if wants_config and record.active:
        raise CliError(
            f"connection {name!r} is active; deactivate it before changing config "
            f"(erpsync connections deactivate {name})"
        )
    changes: dict[str, Any] = {}
    if new_name is not None:
        changes["name"] = check_name(new_name, "connection")
    if description is not None:
        changes["description"] = description
    if users or groups or scope:
        registry.check_principals(users, groups)
        changes["users"], changes["groups"] = list(users), list(groups)
    warning = None
    if wants_config:
        connector = registry.connector(record.connector)
        current = registry.connection_config(record.guid, without_lost=True) or {}
        interactive = _interactive(no_input)
        with aborting():
            values: dict[str, Any] = read_config_input(config_pairs, config_file, no_input=no_input)
            fields, lists = load_form(registry, connector)
            if interactive and not given_config:
                prompt_missing(fields, values, lists, current)
            config, _ = settle(
                fields,
                lists,
                values,
                interactive=interactive,
                as_json=as_json,
                test=config_tester(registry, connector, fields, current),
                current=current,
            )
        client = client_for_connector(registry, connector, secrets_in_play(fields, config, current))

        async def run() -> Any:
            async with client:
                return await save_and_check(client, record.guid, config, as_json)

        try:
            checked, cache, warning = run_async(run())
        except (CliError, ConnectorClientError):
            _restore_connector_copy(registry, record)
            raise
        changes.update(
            config=config,
            secret_keys=[f.key for f in fields if f.is_secret],
            test_state=checked.state.value,
            test_message=checked.user_explanation,
        )
    try:
        with registry.transaction():
            if _snapshot(registry, record) != seen:
                from host.registry import Conflict

                raise Conflict(
                    f"connection {record.name!r} was changed by someone else meanwhile; "
                    "run the command again"
                )
            updated = registry.update_connection(
                record.guid, expected_updated_at=record.updated_at, **changes
            )
            if wants_config:
                registry.cache_actor_types(record.guid, cache)
    except Exception:
        if wants_config:
            _restore_connector_copy(registry, record)
        raise
    if warning:
        click.echo(f"warning: {safe(warning, 1000)}", err=True)
    if as_json:
        emit_json({"saved": True, "connection": updated.to_dict()})
        return
    click.echo(
        f"Connection {updated.name!r} updated"
        + (f" and tested: {safe(updated.last_test_message or 'ok')}" if wants_config else "")
    )


def _snapshot(registry: Registry, record: ConnectionRecord) -> tuple[Any, ...]:
    """What an edit is based on: compared again inside the write transaction, so a change
    another admin committed meanwhile is refused, not overwritten. (`updated_at` alone is
    not enough: it has whole seconds, and two edits often land in the same second.)"""
    fresh = registry.connection_by_guid(record.guid)
    if fresh is None:
        return ()
    data = fresh.to_dict()
    data.pop("last_test")  # a test recorded meanwhile changes nothing an edit relies on
    data.pop("updated_at")
    return data, registry.connection_config(record.guid, without_lost=True)


def _restore_connector_copy(registry: Registry, record: ConnectionRecord) -> None:
    """After a failed re-test the connector may hold the rejected config: give it the old one."""
    from host.client import ConnectorClientError

    client = client_for_connector(registry, registry.connector(record.connector))
    stored = registry.connection_config(record.guid) or {}

    async def run() -> None:
        async with client:
            await client.save_connection(record.guid, stored)

    # If this fails too, the next call re-sends the stored config (unknown_connection retry).
    with contextlib.suppress(ConnectorClientError):
        run_async(run())


@connections.command(name="activate")
@click.argument("name")
@timeout_option
@json_option
@db_option
def activate_connection(name: str, as_json: bool, db_path: str | None) -> None:
    """Activate connection NAME, or list every reason it cannot be.

    Reasons: the last test did not pass (or never ran), mandatory fields are missing, the
    connector cannot be reached.

    \b
    Example:
        erpsync connections activate acme
    """
    registry = open_registry(db_path)
    record = registry.connection(name)
    reasons, code = _activation_blockers(registry, record)
    from host.sync.settings import activation_reasons  # sync settings must be configured

    reasons += activation_reasons(registry, record.guid)
    if not reasons and not record.active:
        registry.set_active(record.guid, True)
    if as_json:
        emit_json({"name": name, "activated": not reasons, "reasons": reasons})
    if reasons:
        raise CliError(f"cannot activate {name!r}: " + "; ".join(reasons), code)
    if not as_json:
        click.echo(f"Connection {name!r} is active")


def _activation_blockers(registry: Registry, record: ConnectionRecord) -> tuple[list[str], int]:
    """Every reason not to activate, and the exit code: that of the connector's failure when
    it could not be asked (4 transient, 5 protocol/token/TLS), else 1."""
    from host.client import ConnectorClientError
    from host.protocol.validation import validate_config

    reasons = []
    if record.last_test_state is None:
        reasons.append("it was never tested (erpsync connections test)")
    elif not record.last_test_passed:
        reasons.append(
            f"the last test failed: {record.last_test_message or record.last_test_state}"
        )
    client = client_for_connector(registry, registry.connector(record.connector))

    async def fields() -> list[Field]:
        async with client:
            await check_protocol(client)
            return await client.config_fields()

    try:
        declared = run_async(fields())
    except ConnectorClientError as exc:
        reasons.append(f"the connector cannot be asked for its fields: {exc}")
        return reasons, client_exit_code(exc)
    stored = registry.connection_config(record.guid) or {}
    report = validate_config(declared, stored)
    missing = [f.key for f in report.fields if "is mandatory" in f.errors]
    if missing:
        reasons.append(
            f"mandatory field{'s' if len(missing) > 1 else ''} missing: " + ", ".join(missing)
        )
    return reasons, EXIT_ERROR


@connections.command(name="deactivate")
@click.argument("name")
@db_option
def deactivate_connection(name: str, db_path: str | None) -> None:
    """Deactivate connection NAME (needed before its config can change).

    \b
    Example:
        erpsync connections deactivate acme
    """
    registry = open_registry(db_path)
    record = registry.connection(name)
    if record.active:
        registry.set_active(record.guid, False)
    click.echo(f"Connection {name!r} is inactive")


@connections.command(name="remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-input", is_flag=True, help="Never prompt (same as --yes).")
@timeout_option
@db_option
def remove_connection(name: str, yes: bool, no_input: bool, db_path: str | None) -> None:
    """Remove connection NAME: the connector is told to forget it, then it is deleted here.

    When the connector cannot be reached, the connection is removed here anyway, with a
    warning naming the connector (which may then still hold the GUID).

    \b
    Example:
        erpsync connections remove acme --yes
    """
    from host.client import ConnectorClientError

    registry = open_registry(db_path)
    record = registry.connection(name)
    if record.active and not (yes or no_input) and _interactive(no_input):
        click.confirm(f"Connection {name!r} is active. Remove it?", abort=True)
    client = client_for_connector(registry, registry.connector(record.connector))

    async def run() -> Response:
        async with client:
            return await client.delete_connection(record.guid)

    try:
        response = run_async(run())
        if not response.ok and response.error_code != "unknown_connection":
            click.echo(
                f"warning: the connector answered: {safe(explain(response))}; removed here anyway",
                err=True,
            )
    except ConnectorClientError as exc:
        click.echo(f"warning: {safe(exc, 1000)}; removed here anyway", err=True)
    registry.remove_connection(record.guid)
    click.echo(f"Connection {name!r} removed")
