"""`erpsync apps`: the installed sync apps, loaded or broken, with versions."""

from __future__ import annotations

import click

from host.cli.common import emit_json, json_option, print_table
from host.cli.errors import CliError


@click.group()
def apps() -> None:
    """List and inspect installed sync apps (entry-point group erpsync.apps).

    \b
    Example:
        erpsync apps list
    """


@apps.command(name="list")
@json_option
def list_apps(as_json: bool) -> None:
    """List installed apps with distribution, version, status and connectors.

    A broken app is listed with its error; it never stops the others.

    \b
    Example:
        erpsync apps list --json
    """
    from host.apps import load_apps

    loaded = load_apps()
    rows = [a.to_dict() for a in loaded.apps]
    if as_json:
        emit_json(rows)
        return
    print_table(rows, ["name", "distribution", "version", "status", "connectors", "error"])


@apps.command(name="show")
@click.argument("name")
@json_option
def show_app(name: str, as_json: bool) -> None:
    """Show one app and the connectors it registers, with their config fields.

    \b
    Example:
        erpsync apps show mock
    """
    from host.apps import load_apps

    loaded = load_apps()
    record = loaded.app(name)
    if record is None:
        known = ", ".join(a.name for a in loaded.apps) or "none"
        raise CliError(f"no installed app named {name!r} (installed: {known})")
    data = record.to_dict()
    data["connector_details"] = [
        {
            **loaded.connectors[cid].info(),
            "url": f"app:{cid}",
            "config_fields": [f.to_dict() for f in loaded.connectors[cid].get_config_fields()],
        }
        for cid in record.connectors
    ]
    if as_json:
        emit_json(data)
        return
    for key in ("name", "distribution", "version", "module", "status", "error"):
        if data[key]:
            click.echo(f"{key + ':':14}{data[key]}")
    for detail in data["connector_details"]:
        click.echo(
            f"\nconnector {detail['id']}: {detail['name']} {detail['version']}"
            f" by {detail['vendor']}  (use URL {detail['url']})"
        )
        print_table(detail["config_fields"], ["key", "display_name", "type", "access", "default"])
