"""`erpsync connections test` and `try-config`: have connectors test saved connections (many
at once, with a progress bar) or config values that are not saved."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, print_table, run_async
from host.cli.config_input import config_options, read_config_input
from host.cli.deadline import command_timeout, timeout_option, timeout_option_each
from host.cli.errors import (
    EXIT_CONNECTOR_REFUSED,
    EXIT_PROTOCOL,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
    exit_code_of,
    safe,
)

if TYPE_CHECKING:
    from host.admin.connections import TestOutcome


@click.command(name="test")
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
    from host.admin import connections as admin

    if bool(name) == test_all:
        raise CliError("give a connection NAME or --all (not both)", 2)
    registry = open_registry(db_path, create=False)
    records = registry.connections() if test_all else [admin.get(registry, name or "")]
    if not records:
        click.echo("no connections to test", err=True)
        return
    with _progress_bar(len(records), test_all) as progress:
        outcomes = run_async(
            admin.test_many(
                registry,
                records,
                concurrency=concurrency,
                timeout_each=command_timeout(),
                progress=progress,
            ),
            spinner=not test_all,
        )
    _render_tests(outcomes, test_all, as_json)


@contextmanager
def _progress_bar(total: int, wanted: bool) -> Iterator[Any]:
    """A bar on a terminal's stderr for --all, fed by the admin core's progress callback."""
    if not (wanted and sys.stderr.isatty()):
        yield None
        return
    with click.progressbar(length=total, label="testing", file=sys.stderr) as bar:
        yield lambda _done, _total: bar.update(1)


def _render_tests(outcomes: list[TestOutcome], test_all: bool, as_json: bool) -> None:
    results = [o.to_dict() for o in outcomes]
    failed = [o for o in outcomes if not o.passed]
    if as_json:
        emit_json(results if test_all else results[0])
    elif test_all:
        print_table(results, ["name", "connector", "state", "message"])
        click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed", err=True)
    elif not failed:
        outcome = outcomes[0]
        click.echo(
            f"Connection {outcome.name!r}: {safe(outcome.state)}"
            + (f": {safe(outcome.message)}" if outcome.message else "")
        )
    if failed:
        # Unreachable first (a retry may help), then protocol/token/TLS trouble, then refusals.
        codes = {exit_code_of(o.kind or "test_failed") for o in failed}
        code = next(
            (c for c in (EXIT_UNREACHABLE, EXIT_PROTOCOL) if c in codes), EXIT_CONNECTOR_REFUSED
        )
        if test_all:
            raise CliError(f"{len(failed)} of {len(results)} connection tests failed", code)
        raise CliError(f"connection {failed[0].name!r} test failed: {failed[0].message}", code)


@click.command(name="try-config")
@click.option("--connector", "connector_name", help="Registered connector whose config is tested.")
@click.option(
    "--connection",
    "connection_name",
    help="Test changes to this saved connection: its stored values fill in the rest.",
)
@config_options
@timeout_option
@json_option
@db_option
def try_config_values(
    connector_name: str | None,
    connection_name: str | None,
    config_pairs: tuple[str, ...],
    config_file: str | None,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Try config values: the connector tests them, nothing is saved.

    The values are checked against the connector's fields, then sent to its config test;
    nothing is stored here and the connector keeps nothing. With --connection the values
    are changes to that saved connection (secrets not given are its stored ones). Exits 0
    when the test passed, 3 when the connector reports a failure, 1 for a bad value.

    \b
    Examples:
        erpsync connections try-config --connector mock-erp --config-file acme.toml
        erpsync connections try-config --connection acme --config company=2 --json
    """
    from host.admin.forms import test_values

    if connector_name is None and connection_name is None:
        raise CliError("give --connector NAME or --connection NAME", EXIT_USAGE)
    registry = open_registry(db_path, create=False)
    values = read_config_input(config_pairs, config_file, no_input=True)
    check = run_async(test_values(registry, connector_name, values, editing=connection_name))
    if as_json:
        emit_json(check.to_dict())
    elif not check.report.ok:
        from host.cli.connection_form import show_report

        show_report(check.report)
    elif check.passed:
        click.echo(
            f"Config test passed: {safe(check.state)}"
            + (f": {safe(check.message)}" if check.message else "")
        )
    if not check.report.ok:
        raise CliError(check.message)
    if not check.passed:
        raise CliError(f"config test failed: {check.message}", EXIT_CONNECTOR_REFUSED)
