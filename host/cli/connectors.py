"""`erpsync connectors`: register sync connectors by name and URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from host.cli.common import (
    check_connector_url,
    db_option,
    emit_json,
    json_option,
    make_client,
    open_registry,
    print_table,
    run_async,
)
from host.cli.errors import CliError


@click.group()
def connectors() -> None:
    """Register sync connectors: a name and the URL the connector answers at.

    \b
    Example:
        erpsync connectors add mock-erp http://127.0.0.1:8765/connectors/mock --token-file tok
    """


def read_token(token: str | None, token_file: str | None) -> str | None:
    if token and token_file:
        raise CliError("give --token or --token-file, not both")
    if token_file:
        try:
            text = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(f"--token-file {token_file!r}: cannot read it ({exc.strerror})") from exc
        if not text:
            raise CliError(f"--token-file {token_file!r} is empty")
        return text
    return token or None


@connectors.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--token", envvar="ERPSYNC_CONNECTOR_TOKEN", help="Bearer token of the connector.")
@click.option("--token-file", type=click.Path(dir_okay=False), help="Read the token from a file.")
@click.option("--no-check", is_flag=True, help="Do not call the connector's info first.")
@json_option
@db_option
def add_connector(
    name: str,
    url: str,
    token: str | None,
    token_file: str | None,
    no_check: bool,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Register a sync connector NAME at URL (http, https or app:<connector id>).

    The connector's info is fetched first, so a wrong URL or token is caught now.

    \b
    Examples:
        erpsync connectors add mock-erp http://127.0.0.1:8765/connectors/mock --token-file tok
        erpsync connectors add csv app:example-csv
    """
    name = name.strip()
    if not name:
        raise CliError("connector NAME must not be empty")
    url = check_connector_url(url)
    secret = read_token(token, token_file)
    registry = open_registry(db_path)
    info: dict[str, Any] | None = None
    if not no_check:
        client = make_client(url, token=secret, label=f"connector {name!r} ({url})")

        async def fetch() -> dict[str, Any]:
            async with client:
                return await client.info()

        info = run_async(fetch())
    record = registry.add_connector(name, url, secret)
    data = {**record.to_dict(), "info": info}
    if as_json:
        emit_json(data)
    elif info:
        click.echo(
            f"Added connector {name!r}: {info['name']} {info['version']} by {info['vendor']} "
            f"(protocol {info['protocol_version']}) at {url}"
        )
    else:
        click.echo(f"Added connector {name!r} at {url} (not checked)")


@connectors.command(name="list")
@json_option
@db_option
def list_connectors(as_json: bool, db_path: str | None) -> None:
    """List registered connectors; tokens are shown as ****.

    \b
    Example:
        erpsync connectors list --json
    """
    registry = open_registry(db_path)
    counts: dict[str, int] = {}
    for conn in registry.connections():
        counts[conn.connector] = counts.get(conn.connector, 0) + 1
    rows = [{**c.to_dict(), "connections": counts.get(c.name, 0)} for c in registry.connectors()]
    if as_json:
        emit_json(rows)
        return
    print_table(rows, ["name", "url", "token", "connections", "created_at"])
