"""`erpsync connectors`: register sync connectors by name and URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from host.admin.names import check_name
from host.cli.common import (
    db_option,
    emit_json,
    json_option,
    open_registry,
    print_table,
    run_async,
)
from host.cli.config_input import read_token
from host.cli.deadline import timeout_option
from host.cli.errors import CliError, safe

if TYPE_CHECKING:
    pass


@click.group()
def connectors() -> None:
    """Register sync connectors: a name and the URL the connector answers at.

    \b
    Example:
        erpsync connectors add mock-erp http://127.0.0.1:8765/connectors/mock --token-file tok
    """


ca_bundle_option = click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False),
    help="PEM file of a private CA to trust for https (verification is always on).",
)


@connectors.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--token", envvar="ERPSYNC_CONNECTOR_TOKEN", help="Bearer token of the connector.")
@click.option("--token-file", type=click.Path(), metavar="FILE", help="Read the token from a file.")
@click.option("--no-check", is_flag=True, help="Do not call the connector's info first.")
@ca_bundle_option
@timeout_option
@json_option
@db_option
def add_connector(
    name: str,
    url: str,
    token: str | None,
    token_file: str | None,
    no_check: bool,
    ca_bundle: str | None,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Register a sync connector NAME at URL (http, https or app:<connector id>).

    The connector's info is fetched first, so a wrong URL or token is caught now.

    \b
    Examples:
        erpsync connectors add mock-erp http://127.0.0.1:8765/connectors/mock --token-file tok
        erpsync connectors add csv app:example-csv
        erpsync connectors add acme https://erp.example.com/c/acme --ca-bundle corp-ca.pem
    """
    from host.admin import connectors as admin

    name = check_name(name, "connector")
    url = admin.check_url(url)
    secret = read_token(token, token_file, env="ERPSYNC_CONNECTOR_TOKEN")
    bundle = admin.check_ca_bundle(ca_bundle) if ca_bundle else None
    registry = open_registry(db_path)
    added = run_async(admin.add(registry, name, url, secret, bundle, check=not no_check))
    warn_same_url(added.same_url, name, url)
    if as_json:
        emit_json(added.to_dict())
    elif added.info:
        click.echo(f"Added connector {name!r}: {describe_info(added.info)} at {safe(url)}")
    else:
        click.echo(f"Added connector {name!r} at {safe(url)} (not checked)")


def describe_info(info: dict[str, Any]) -> str:
    """ "Name version by vendor (protocol x)": connector texts, escaped and cut for a terminal."""
    return (
        f"{safe(info.get('name'))} {safe(info.get('version'))} by {safe(info.get('vendor'))} "
        f"(protocol {safe(info.get('protocol_version'))})"
    )


@connectors.command(name="list")
@json_option
@db_option
def list_connectors(as_json: bool, db_path: str | None) -> None:
    """List registered connectors; tokens are shown as ****.

    App, version and protocol are what the connector was last seen to be (when it was added
    or re-pointed, at a connection's passing test, or at an upgrade check).

    \b
    Example:
        erpsync connectors list --json
    """
    from host.admin.listing import list_connectors as read_only

    rows = read_only(db_path)
    if rows is None:
        from host.admin import connectors as admin

        rows = admin.list_all(open_registry(db_path, create=False))
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        versions = row.get("versions") or {}
        row["app"] = _app_text(versions)
        row["version"] = versions.get("connector_version") or ""
        row["protocol"] = versions.get("protocol_version") or ""
    print_table(
        rows, ["name", "url", "token", "connections", "app", "version", "protocol", "created_at"]
    )


def _app_text(versions: Mapping[str, Any]) -> str:
    """The app last seen behind a connector: `name distribution version`, or empty."""
    parts = [versions.get(k) for k in ("app", "app_distribution", "app_version")]
    return " ".join(str(p) for p in parts if p)


@connectors.command(name="show")
@click.argument("name")
@click.option("--check", is_flag=True, help="Also ask the connector for its info now.")
@timeout_option
@json_option
@db_option
def show_connector(name: str, check: bool, as_json: bool, db_path: str | None) -> None:
    """Show connector NAME, the connections that use it, and its app, connector and
    protocol versions and config-field fingerprint as last seen.

    \b
    Example:
        erpsync connectors show mock-erp --check
    """
    from host.admin import connectors as admin

    data = run_async(admin.show(open_registry(db_path, create=False), name, check=check))
    if as_json:
        emit_json(data)
        return
    for key in ("name", "url", "token", "created_at", "updated_at"):
        click.echo(f"{key + ':':13}{safe(data[key]) if data[key] is not None else '-'}")
    click.echo(f"{'connections:':13}{safe(', '.join(data['connections'])) or '-'}")
    versions = data.get("versions") or {}
    click.echo(f"{'app:':13}{safe(_app_text(versions)) or '-'}")
    for key, label in (("connector_version", "version:"), ("protocol_version", "protocol:")):
        click.echo(f"{label:13}{safe(versions.get(key) or '-')}")
    click.echo(f"{'fields:':13}{safe(versions.get('fields_fingerprint') or '-')}")
    if check:
        click.echo(f"{'info:':13}{describe_info(data['info'])}")


@connectors.command(name="edit")
@click.argument("name")
@click.option("--rename", "new_name", help="A new name; connections follow it.")
@click.option("--url", help="A new URL (http, https or app:<id>).")
@click.option("--token", help="A new bearer token.")
@click.option(
    "--token-file", type=click.Path(), metavar="FILE", help="Read the new token from a file."
)
@click.option("--clear-token", is_flag=True, help="Send no token from now on.")
@click.option("--no-check", is_flag=True, help="Do not call the connector's info first.")
@ca_bundle_option
@timeout_option
@json_option
@db_option
def edit_connector(
    name: str,
    new_name: str | None,
    url: str | None,
    token: str | None,
    token_file: str | None,
    clear_token: bool,
    no_check: bool,
    ca_bundle: str | None,
    as_json: bool,
    db_path: str | None,
) -> None:
    """Change connector NAME's name, URL or token; a new URL or token is checked first.

    \b
    Example:
        erpsync connectors edit mock-erp --url http://127.0.0.1:9000/connectors/mock
    """
    from host.admin import connectors as admin

    if clear_token and (token or token_file):
        raise CliError("--clear-token cannot be combined with --token or --token-file")
    registry = open_registry(db_path, create=False)
    registry.connector(name)
    if url:
        admin.check_url(url)
    new_token = read_token(token, token_file)
    if new_name is not None:
        check_name(new_name, "connector")
    edited = run_async(
        admin.edit(
            registry,
            name,
            new_name=new_name,
            url=url,
            token=new_token,
            clear_token=clear_token,
            ca_bundle=ca_bundle,
            check=not no_check,
        )
    )
    updated = edited.record
    warn_same_url(edited.same_url, updated.name, updated.url)
    if as_json:
        emit_json(updated.to_dict())
        return
    click.echo(f"Connector {updated.name!r} updated ({safe(updated.url)})")


def warn_same_url(others: list[str], name: str, url: str) -> None:
    """Two records for one connector each see the other's connections there: say so."""
    if others:
        click.echo(
            f"warning: connector {name!r} points at the same URL as "
            + ", ".join(repr(o) for o in others)
            + f" ({url}); both see each other's connections there. Keep one record per "
            "connector (erpsync connectors remove NAME once its connections moved)",
            err=True,
        )


@connectors.command(name="remove")
@click.argument("name")
@db_option
def remove_connector(name: str, db_path: str | None) -> None:
    """Remove connector NAME; refused while connections use it (they are named).

    \b
    Example:
        erpsync connectors remove mock-erp
    """
    from host.admin import connectors as admin

    admin.remove(open_registry(db_path, create=False), name)
    click.echo(f"Connector {name!r} removed")
