"""`erpsync connections`: the admin lifecycle of ERP connections.

A connection is saved only after the connector's test passed with every mandatory field
filled; config changes need the connection inactive and a new passing test; secrets typed
once are never asked for again, never shown, and merged on this side before a re-test.
The workflows are host.admin.connections; this module parses, prompts and renders.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, print_table, run_async
from host.cli.config_input import config_options, read_config_input
from host.cli.deadline import timeout_option
from host.cli.errors import (
    EXIT_USAGE,
    CliError,
    safe,
)

if TYPE_CHECKING:
    from host.admin.forms import Form
    from host.registry import Registry


@click.group()
def connections() -> None:
    """ERP connections: a connector plus config values, tested before they are saved.

    \b
    Example:
        erpsync connections add acme --connector mock-erp \\
            --config username=demo --config password=@erp-password.txt --no-input
    """


def _interactive(no_input: bool) -> bool:
    return not no_input and sys.stdin.isatty()


@contextmanager
def _test_failures(as_json: bool) -> Iterator[None]:
    """A connector's refusal to save or test ends the command: exit 3, JSON on --json."""
    from host.admin.errors import TestFailed
    from host.cli.connection_form import fail_test

    try:
        yield
    except TestFailed as exc:
        if exc.step == "call":
            raise
        fail_test(exc, as_json)


def _load_form(registry: Registry, connector: str) -> Form:
    from host.admin.forms import form

    return run_async(form(registry, connector))


def _warn(warning: str | None) -> None:
    if warning:
        click.echo(f"warning: {safe(warning, 1000)}", err=True)


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
    from host.admin import connections as admin
    from host.admin.names import check_name
    from host.cli.connection_form import (
        aborting,
        ask_connector,
        ask_description,
        ask_scope,
        prompt_missing,
        settle,
    )

    check_name(name, "connection")
    admin.check_scope(scope, users, groups)
    interactive = _interactive(no_input)
    registry = open_registry(db_path, create=False)
    if connector_name is None and not interactive:
        known = ", ".join(c.name for c in registry.connectors()) or "none registered"
        raise CliError(f"missing option --connector (registered: {known})", EXIT_USAGE)
    name = admin.check_new(registry, name, scope=scope, users=users, groups=groups)
    with aborting():
        values: dict[str, Any] = read_config_input(config_pairs, config_file, no_input=no_input)
        if connector_name is None:
            connector_name = ask_connector(registry)
        form = _load_form(registry, connector_name)
        if interactive:
            prompt_missing(form.fields, values, form.lists)
            if scope is None and not (users or groups):
                scope, users, groups = ask_scope(registry)
            if description is None:
                description = ask_description()
        check = settle(registry, form, values, interactive=interactive, as_json=as_json)
    with _test_failures(as_json):
        saved = run_async(
            admin.add(
                registry, name, check, users=users, groups=groups, description=description or ""
            )
        )
    _warn(saved.warning)
    if as_json:
        emit_json({"saved": True, "connection": saved.record.to_dict()})
        return
    message = saved.record.last_test_message or "ok"
    click.echo(f"Connection {name!r} tested and saved: {safe(message)}")


@connections.command(name="list")
@click.option("--visible-to", metavar="USER", help="Only connections USER may use.")
@json_option
@db_option
def list_connections(visible_to: str | None, as_json: bool, db_path: str | None) -> None:
    """List ERP connections with scope, active flag and last test result.

    --visible-to USER keeps those scoped to everyone, to USER, or to a group of USER.
    NEEDS ATTENTION marks a connection an app upgrade broke (it cannot be activated or
    synced until edited and re-tested); --json carries the reasons (needs_attention) and
    the versions its config was tested with (tested_with).

    \b
    Example:
        erpsync connections list --visible-to alice --json
    """
    from host.admin.listing import list_connections as read_only

    rows = read_only(db_path, visible_to)
    if rows is None:
        from host.admin import connections as admin

        rows = admin.list_all(open_registry(db_path, create=False), visible_to)
    if as_json:
        emit_json(rows)
        return
    print_table(
        [_row(r) for r in rows],
        ["name", "connector", "scope", "active", "last_test", "tested_at", "attention"],
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
        "attention": "NEEDS ATTENTION" if row.get("needs_attention") else "",
    }


@connections.command(name="show")
@click.argument("name")
@json_option
@db_option
def show_connection(name: str, as_json: bool, db_path: str | None) -> None:
    """Show one connection: config (secrets as ****), scope, last test, the versions it
    was tested with, why it needs attention after an app upgrade, cached actor types.

    \b
    Example:
        erpsync connections show acme
    """
    from host.admin import connections as admin

    data = admin.show(open_registry(db_path, create=False), name)
    if as_json:
        emit_json(data)
        return
    test = data["last_test"]
    for label, value in [
        ("name", safe(data["name"])),
        ("guid", safe(data["guid"])),
        ("connector", safe(data["connector"])),
        ("scope", safe(_scope_text(data))),
        ("active", "yes" if data["active"] else "no"),
        ("description", safe(data["description"]) or "-"),
        (
            "last test",
            f"{safe(test['state'] or 'never')} {safe(test['at'] or '')} "
            f"{safe(test['message'] or '')}",
        ),
    ]:
        click.echo(f"{label + ':':13}{value}".rstrip())
    tested = data.get("tested_with") or {}
    if tested.get("connector_version"):
        app = " ".join(str(tested[k]) for k in ("app", "app_version") if tested.get(k))
        click.echo(
            f"{'tested with:':13}connector {safe(tested['connector_version'])}, protocol "
            f"{safe(tested.get('protocol_version') or '?')}" + (f", app {safe(app)}" if app else "")
        )
    for reason in data.get("needs_attention") or []:
        click.echo(f"{'NEEDS ATTENTION:':13} {safe(reason, 1000)}")
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
    from host.admin import connections as admin
    from host.cli.connection_form import aborting, prompt_missing, settle

    admin.check_scope(scope, users, groups)
    registry = open_registry(db_path, create=False)
    record = admin.get(registry, name)
    given_config = bool(config_pairs or config_file)
    nothing_else = new_name is None and description is None and not (users or groups or scope)
    wants_config = given_config or (nothing_else and _interactive(no_input))
    if not wants_config and nothing_else:
        raise CliError(
            "nothing to change: give --config, --rename, --description, --user, --group or --scope"
        )
    editing = admin.start_edit(
        registry,
        record.name,
        config=wants_config,
        new_name=new_name,
        description=description,
        users=users,
        groups=groups,
        scope=scope,
    )
    check = None
    if wants_config:
        interactive = _interactive(no_input)
        with aborting():
            values: dict[str, Any] = read_config_input(config_pairs, config_file, no_input=no_input)
            form = _load_form(registry, record.connector)
            if interactive and not given_config:
                prompt_missing(form.fields, values, form.lists, editing.current)
            check = settle(
                registry,
                form,
                values,
                interactive=interactive,
                as_json=as_json,
                current=editing.current,
            )
    with _test_failures(as_json):
        saved = run_async(admin.edit(registry, editing, check))
    _warn(saved.warning)
    if as_json:
        emit_json({"saved": True, "connection": saved.record.to_dict()})
        return
    click.echo(
        f"Connection {saved.record.name!r} updated"
        + (f" and tested: {safe(saved.record.last_test_message or 'ok')}" if wants_config else "")
    )


@connections.command(name="activate")
@click.argument("name")
@timeout_option
@json_option
@db_option
def activate_connection(name: str, as_json: bool, db_path: str | None) -> None:
    """Activate connection NAME, or list every reason it cannot be.

    Reasons: an app upgrade broke it (needs attention: exit 6 unless the connector failed
    too; edit and re-test it), the last test did not pass (or never ran), mandatory fields
    are missing, the connector cannot be reached.

    \b
    Example:
        erpsync connections activate acme
    """
    from host.admin import connections as admin
    from host.admin.errors import ActivationRefused

    registry = open_registry(db_path, create=False)
    try:
        run_async(admin.activate(registry, name))
    except ActivationRefused as exc:
        if as_json:
            emit_json({"name": name, "activated": False, "reasons": exc.reasons})
        raise
    if as_json:
        emit_json({"name": name, "activated": True, "reasons": []})
    else:
        click.echo(f"Connection {name!r} is active")


@connections.command(name="deactivate")
@click.argument("name")
@db_option
def deactivate_connection(name: str, db_path: str | None) -> None:
    """Deactivate connection NAME (needed before its config can change).

    \b
    Example:
        erpsync connections deactivate acme
    """
    from host.admin import connections as admin

    admin.deactivate(open_registry(db_path, create=False), name)
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
    from host.admin import connections as admin

    registry = open_registry(db_path, create=False)
    record = admin.get(registry, name)
    if record.active and not (yes or no_input) and _interactive(no_input):
        click.confirm(f"Connection {name!r} is active. Remove it?", abort=True)
    for warning in run_async(admin.remove(registry, name)):
        _warn(warning)
    click.echo(f"Connection {name!r} removed")


def _register_tests() -> None:
    from host.cli.connection_tests import test_connection, try_config_values

    connections.add_command(test_connection)
    connections.add_command(try_config_values)


_register_tests()
