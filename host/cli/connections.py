"""`erpsync connections`: add (tested before saved), list and test ERP connections."""

from __future__ import annotations

import sys
import uuid
from typing import TYPE_CHECKING, Any

import click

from host.cli.common import (
    client_for_connector,
    db_option,
    emit_json,
    json_option,
    open_registry,
    print_table,
    run_async,
)
from host.cli.errors import EXIT_CONNECTOR_REFUSED, CliError

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.connector import Field
    from host.protocol.validation import ValidationReport
    from host.registry import Registry


@click.group()
def connections() -> None:
    """ERP connections: a connector plus config values, tested before they are saved.

    \b
    Example:
        erpsync connections add acme --connector mock-erp \\
            --config username=demo --config password=... --no-input
    """


def parse_config_options(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"--config {pair!r} is not KEY=VALUE")
        if key in values:
            raise CliError(f"--config {key} is given twice")
        values[key] = value
    return values


def _interactive(no_input: bool) -> bool:
    return not no_input and sys.stdin.isatty()


def prompt_missing(
    fields: list[Field], values: dict[str, Any], lists: dict[str, dict[str, str]]
) -> None:
    """Ask for each settable field not given, in rank order, with its label, help and default."""
    from host.connector import FieldType
    from host.protocol.values import default_value

    for item in sorted(fields, key=lambda f: f.rank):
        if not item.settable or item.key in values:
            continue
        if item.description:
            click.echo(f"{item.display_name}: {item.description}", err=True)
        default = default_value(item)
        label = f"{item.display_name} [{item.key}]"
        if item.type is FieldType.PASSWORD:
            values[item.key] = click.prompt(label, hide_input=True, default="", show_default=False)
        elif item.type is FieldType.LIST and item.list_name in lists:
            choices = lists[item.list_name]
            for key, text in choices.items():
                click.echo(f"  {key}: {text}", err=True)
            values[item.key] = click.prompt(
                label, type=click.Choice(list(choices)), default=default
            )
        elif item.type is FieldType.CHECKBOX:
            values[item.key] = click.confirm(label, default=bool(default))
        else:
            values[item.key] = click.prompt(
                label, default="" if default is None else str(default), show_default=True
            )


def apply_defaults(fields: list[Field], values: dict[str, Any]) -> None:
    from host.protocol.values import default_value

    for item in fields:
        if item.settable and item.key not in values and item.default is not None:
            values[item.key] = default_value(item)


async def fetch_lists(client: ConnectorClient, fields: list[Field]) -> dict[str, dict[str, str]]:
    """The lists the config fields choose from, asked for the all-zero GUID."""
    from host.client import ConnectorClientError
    from host.connector import ALL_ZERO_GUID, FieldType

    lists: dict[str, dict[str, str]] = {}
    for item in fields:
        if item.type is FieldType.LIST and item.list_name not in lists:
            try:
                lists[item.list_name] = await client.get_list(ALL_ZERO_GUID, item.list_name)
            except ConnectorClientError:
                continue  # membership then goes unchecked locally; the connector still checks
    return lists


def report_problems(report: ValidationReport, as_json: bool) -> None:
    if as_json:
        emit_json({"saved": False, "validation": report.to_dict()})
    problems = report.problems()
    raise CliError(
        f"{report.error_count} invalid config value{'s' if len(problems) != 1 else ''}: "
        + "; ".join(problems)
    )


@connections.command(name="add")
@click.argument("name")
@click.option("--connector", "connector_name", required=True, help="Registered connector name.")
@click.option(
    "--config",
    "config_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A config value; repeat for each field.",
)
@click.option("--user", "users", multiple=True, help="Give this user access (repeatable).")
@click.option("--group", "groups", multiple=True, help="Give this group access (repeatable).")
@click.option(
    "--scope",
    type=click.Choice(["everyone", "restricted"]),
    default=None,
    help="everyone (default) or restricted to --user/--group.",
)
@click.option("--description", default="", help="Free text shown in lists.")
@click.option("--no-input", is_flag=True, help="Never prompt; missing values take defaults.")
@json_option
@db_option
def add_connection(
    name: str,
    connector_name: str,
    config_pairs: tuple[str, ...],
    users: tuple[str, ...],
    groups: tuple[str, ...],
    scope: str | None,
    description: str,
    no_input: bool,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Add ERP connection NAME: checked, tested by the connector, and only then saved.

    Values come from --config KEY=VALUE; missing ones are prompted for when stdin is a
    terminal (passwords hidden), else take their defaults. A failed test saves nothing
    and exits 3 with the connector's explanation.

    \b
    Example:
        erpsync connections add acme --connector mock-erp --config server=erp.mock.local \\
            --config username=demo --config password=mock-erp-secret --no-input
    """
    name = name.strip()
    if not name:
        raise CliError("connection NAME must not be empty")
    if scope == "everyone" and (users or groups):
        raise CliError("--scope everyone cannot be combined with --user/--group")
    if scope == "restricted" and not (users or groups):
        raise CliError("--scope restricted needs at least one --user or --group")
    registry = open_registry(db_path)
    connector = registry.connector(connector_name)
    if any(c.name == name for c in registry.connections()):
        raise CliError(f"a connection named {name!r} already exists")
    values: dict[str, Any] = parse_config_options(config_pairs)
    client = client_for_connector(registry, connector)
    result = run_async(
        _add(client, registry, name, connector_name, values, users, groups, description, no_input)
    )
    if as_json:
        emit_json({"saved": True, "connection": result})
        return
    click.echo(f"Connection {name!r} tested and saved: {result['last_test']['message'] or 'ok'}")


async def _add(
    client: ConnectorClient,
    registry: Registry,
    name: str,
    connector_name: str,
    values: dict[str, Any],
    users: tuple[str, ...],
    groups: tuple[str, ...],
    description: str,
    no_input: bool,
) -> dict[str, Any]:
    from host.protocol.validation import validate_config

    async with client:
        fields = await client.config_fields()
        lists = await fetch_lists(client, fields)
        if _interactive(no_input):
            prompt_missing(fields, values, lists)
        apply_defaults(fields, values)
        report = validate_config(fields, values, lists=lists)
        if not report.ok:
            report_problems(report, False)
        config = report.values()
        tested = await client.test_config(config)
        if not tested.ok:
            raise CliError(
                f"connection test failed, nothing was saved: {_explain(tested)}",
                EXIT_CONNECTOR_REFUSED,
            )
        guid = str(uuid.uuid4())
        saved = await client.save_connection(guid, config)
        if not saved.ok:
            raise CliError(
                f"the connector refused to save the connection: {_explain(saved)}",
                EXIT_CONNECTOR_REFUSED,
            )
        checked = await client.test_connection(guid)
        if not checked.ok:
            await client.delete_connection(guid)
            raise CliError(
                f"connection test after save failed, nothing was saved: {_explain(checked)}",
                EXIT_CONNECTOR_REFUSED,
            )
        try:
            record = registry.add_connection(
                guid=guid,
                name=name,
                connector=connector_name,
                config=config,
                secret_keys=[f.key for f in fields if f.is_secret],
                description=description,
                users=users,
                groups=groups,
                test_state=checked.state.value,
                test_message=checked.user_explanation,
            )
        except Exception:
            await client.delete_connection(guid)  # the connector must not keep an orphan
            raise
    return record.to_dict()


def _explain(response: Any) -> str:
    text = response.user_explanation or response.error_code or response.state.value
    if response.tech_explanation and response.error_code in ("connector_error", "invalid_request"):
        text += f" ({response.tech_explanation})"
    return str(text)


@connections.command(name="list")
@json_option
@db_option
def list_connections(as_json: bool, db_path: str | None) -> None:
    """List ERP connections with scope, active flag and last test result.

    \b
    Example:
        erpsync connections list --json
    """
    registry = open_registry(db_path)
    rows = [c.to_dict() for c in registry.connections()]
    if as_json:
        emit_json(rows)
        return
    table = [
        {
            **row,
            "scope": row["scope"]
            if row["scope"] == "everyone"
            else ",".join(
                [*(f"user:{u}" for u in row["users"]), *(f"group:{g}" for g in row["groups"])]
            ),
            "last_test": row["last_test"]["state"],
            "tested_at": row["last_test"]["at"],
        }
        for row in rows
    ]
    print_table(table, ["name", "connector", "scope", "active", "last_test", "tested_at"])


@connections.command(name="test")
@click.argument("name")
@json_option
@db_option
def test_connection(name: str, as_json: bool, db_path: str | None) -> None:
    """Ask the connector to test saved connection NAME and record the result.

    Exits 3 when the connector reports a failure.

    \b
    Example:
        erpsync connections test acme
    """
    registry = open_registry(db_path)
    record = registry.connection(name)
    client = client_for_connector(registry, registry.connector(record.connector))

    async def run() -> Any:
        async with client:
            return await client.test_connection(record.guid)

    response = run_async(run())
    registry.record_test(record.guid, response.state.value, response.user_explanation)
    if as_json:
        emit_json({"name": name, **response.to_dict()})
    if not response.ok:
        raise CliError(
            f"connection {name!r} test failed: {_explain(response)}", EXIT_CONNECTOR_REFUSED
        )
    if not as_json:
        click.echo(
            f"Connection {name!r}: {response.state.value}"
            + (f": {response.user_explanation}" if response.user_explanation else "")
        )
