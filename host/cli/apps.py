"""`erpsync apps`: the installed sync apps, loaded or broken, with versions; install,
uninstall, disable and enable them; and for partners, `apps check` (the conformance suite
against an installed app or any connector URL) and `apps new` (scaffold a new app)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from host.cli.common import LazySubcommands, db_option, emit_json, json_option, print_table
from host.cli.errors import CliError, safe

HOST_DISTRIBUTION = "erpsync-host"
PARTNER_TOOLS = {
    "check": ("host.cli.apps_check", "check_app"),
    "new": ("host.cli.apps_new", "new_app"),
}
"""The partner tools, each in its own module: imported only when used."""


@click.group(cls=LazySubcommands, lazy=PARTNER_TOOLS)
def apps() -> None:
    """List, inspect, install, uninstall, disable and enable sync apps; check and create them.

    Sync apps are pip packages registering connectors in the entry-point group erpsync.apps.
    Partners: `apps new` scaffolds one, `apps check` runs the conformance suite against it.

    \b
    Example:
        erpsync apps install acme-erpsync
        erpsync apps list
        erpsync apps disable acme
        erpsync apps check mock
    """


@apps.command(name="list")
@json_option
@db_option
def list_apps(as_json: bool, db_path: str | None) -> None:
    """List installed apps with distribution, version, status, connectors and how many
    saved connections use them (through app:<id> or a loopback `erpsync serve` URL).

    A broken app is listed with its error; it never stops the others.

    \b
    Example:
        erpsync apps list --json
    """
    from host.apps import load_apps
    from host.cli.upgrade_checks import connections_per_app

    loaded = load_apps()
    rows = [a.to_dict() for a in loaded.apps]
    counts = connections_per_app(loaded.apps, db_path)
    for row in rows:
        row["connections"] = counts.get(row["name"], 0)
    if as_json:
        emit_json(rows)
        return
    print_table(
        rows, ["name", "distribution", "version", "status", "connectors", "connections", "error"]
    )


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
            click.echo(f"{key + ':':14}{safe(data[key], 1000)}")
    for detail in data["connector_details"]:
        click.echo(
            f"\nconnector {safe(detail['id'])}: {safe(detail['name'])} {safe(detail['version'])}"
            f" by {safe(detail['vendor'])}  (use URL {safe(detail['url'])})"
        )
        print_table(detail["config_fields"], ["key", "display_name", "type", "access", "default"])


def _installed() -> dict[str, tuple[str, str]]:
    """Installed app name -> (distribution, version), found without importing any app."""
    from host.apps import load_apps

    found: dict[str, tuple[str, str]] = {}
    for record in load_apps(disabled=(), allowed=set()).apps:
        found.setdefault(record.name, (record.distribution, record.version))
    return found


FORCE_HELP = "Go on although registered connectors use the app (they stop working)."


@apps.command(name="disable")
@click.argument("name")
@click.option("--force", is_flag=True, help=FORCE_HELP)
@db_option
def disable_app(name: str, force: bool, db_path: str | None) -> None:
    """Disable installed app NAME: its connectors are no longer loaded.

    `erpsync apps list` shows it as disabled; app:<id> connector URLs and `erpsync serve`
    skip it. The app stays installed; the choice is kept in apps.json in $ERPSYNC_HOME.

    Refused without --force while registered connectors use the app: a connector URL
    app:<id> of one of its connectors, or a loopback http(s) URL ending in /connectors/<id>
    (served by `erpsync serve` from this install). They and their connections are named.

    \b
    Example:
        erpsync apps disable acme
    """
    from host.appstate import disabled_apps
    from host.cli.appusage import refuse_while_used

    installed = _installed()
    if name not in installed:
        known = ", ".join(installed) or "none"
        raise CliError(f"no installed app named {name!r} (installed: {known})")
    if name not in disabled_apps():
        refuse_while_used("disable it", [name], force, db_path)
    if _set_disabled(name, True):
        click.echo(f"Disabled app {name!r}: its connectors are no longer loaded")
    else:
        click.echo(f"App {name!r} was already disabled")


@apps.command(name="enable")
@click.argument("name")
def enable_app(name: str) -> None:
    """Enable app NAME again after `erpsync apps disable`.

    \b
    Example:
        erpsync apps enable acme
    """
    from host.appstate import disabled_apps

    installed = _installed()
    # A disabled app that was uninstalled since may still be enabled, to tidy apps.json.
    if name not in installed and name not in disabled_apps():
        known = ", ".join(installed) or "none"
        raise CliError(f"no installed app named {name!r} (installed: {known})")
    if _set_disabled(name, False):
        click.echo(f"Enabled app {name!r}")
    else:
        click.echo(f"App {name!r} was not disabled")


def _set_disabled(name: str, disabled: bool) -> bool:
    from host.appstate import AppStateError, set_disabled

    try:
        return set_disabled(name, disabled)
    except AppStateError as exc:
        raise CliError(str(exc)) from exc


PIP_ARG_HELP = (
    "An extra pip option, put before the packages (repeatable). Write it with '=', "
    "e.g. --pip-arg=--no-index."
)


@apps.command(name="install")
@click.argument("packages", metavar="PKG...", nargs=-1, required=True)
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade the packages to the newest version.")
@click.option("--pip-arg", "pip_args", metavar="ARG", multiple=True, help=PIP_ARG_HELP)
@json_option
@db_option
def install_apps(
    packages: tuple[str, ...],
    upgrade: bool,
    pip_args: tuple[str, ...],
    as_json: bool,
    db_path: str | None,
) -> None:
    """pip install sync app packages into the host's own environment.

    pip's output goes to stderr; then the apps that appeared (or changed version) are
    listed with their status. When an app changed version, the connections of connectors
    it supplies are checked against the new version: those it breaks (a new mandatory
    field without a default, a removed field holding a value, a type or list change, a
    major protocol change) are marked needs attention, with the reasons; the app's
    migrate_config, if it has one, moves stored values first. PKG==OLD goes back to an
    earlier version: connections tested with it are fine again.

    \b
    Examples:
        erpsync apps install acme-erpsync
        erpsync apps install --upgrade acme-erpsync
        erpsync apps install acme-erpsync==1.2.0
        erpsync apps install --pip-arg=--no-index --pip-arg=--find-links=./wheels acme-erpsync
        erpsync apps install --pip-arg=-e ./my-connector-app
    """
    upgrading = ["--upgrade"] if upgrade else []
    _pip_and_report("install", [*upgrading, *pip_args, *packages], as_json, db_path)


@apps.command(name="uninstall")
@click.argument("packages", metavar="PKG...", nargs=-1, required=True)
@click.option("--pip-arg", "pip_args", metavar="ARG", multiple=True, help=PIP_ARG_HELP)
@click.option("--force", is_flag=True, help=FORCE_HELP)
@json_option
@db_option
def uninstall_apps(
    packages: tuple[str, ...],
    pip_args: tuple[str, ...],
    force: bool,
    as_json: bool,
    db_path: str | None,
) -> None:
    """pip uninstall sync app packages (distribution names) from the host's environment.

    The apps that disappeared are listed. The host itself (erpsync-host) is refused.

    Refused without --force while registered connectors use one of the apps: a connector
    URL app:<id> of one of its connectors, or a loopback http(s) URL ending in
    /connectors/<id> (served by `erpsync serve` from this install). They and their
    connections are named.

    \b
    Example:
        erpsync apps uninstall acme-erpsync
    """
    import re

    from host.cli.appusage import refuse_while_used

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    for package in packages:
        if normal(package) == HOST_DISTRIBUTION:
            raise CliError(f"refusing to uninstall {package!r}: it is the host, not an app")
    wanted = {normal(p) for p in packages}
    going = [app for app, (dist, _) in _installed().items() if normal(dist) in wanted]
    refuse_while_used("uninstall it", going, force, db_path)
    _pip_and_report("uninstall", ["-y", *pip_args, *packages], as_json, None)


def _pip_and_report(verb: str, args: list[str], as_json: bool, db_path: str | None) -> None:
    """Run pip, then report which apps appeared, disappeared or changed version, and what a
    changed version breaks (host.cli.upgrade_checks; not after an uninstall)."""
    import importlib

    from host.apps import load_apps

    before = _installed()
    _run_pip(verb, args)
    importlib.invalidate_caches()
    after = _installed()
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    changed = [n for n in after if n in before and after[n] != before[n]]
    records: dict[str, Any] = {}
    for name in added + changed:
        record = load_apps(only=name).app(name)
        if record is not None:
            records[name] = record.to_dict()
    report = {
        "added": [records[n] for n in added if n in records],
        "removed": [
            {"name": n, "distribution": before[n][0], "version": before[n][1]} for n in removed
        ],
        "changed": [
            {**records[n], "previous_version": before[n][1]} for n in changed if n in records
        ],
    }
    checks: list[dict[str, Any]] = []
    if verb == "install":
        if added or changed:
            from host.cli.upgrade_checks import check_apps

            checks = check_apps(added + changed, db_path)
        report["upgrade_checks"] = checks
    if as_json:
        emit_json(report)
        return
    for app in report["added"]:
        click.echo(
            f"Installed app {safe(app['name'])} ({safe(app['distribution'])} "
            f"{safe(app['version'])}): " + _status(app)
        )
    for app in report["changed"]:
        click.echo(
            f"Updated app {safe(app['name'])} ({safe(app['distribution'])} "
            f"{safe(app['previous_version'])} -> {safe(app['version'])}): " + _status(app)
        )
    for app in report["removed"]:
        click.echo(
            f"Removed app {safe(app['name'])} ({safe(app['distribution'])} {safe(app['version'])})"
        )
    if not any(report[k] for k in ("added", "removed", "changed")):
        click.echo("No sync app appeared or disappeared (entry-point group erpsync.apps)")
    if checks:
        from host.cli.upgrade_checks import echo_checks

        echo_checks(checks)


def _status(app: dict[str, Any]) -> str:
    if app["status"] == "loaded":
        return "loaded, connectors " + (safe(", ".join(app["connectors"])) or "none")
    return safe(app["status"]) + (f": {safe(app['error'], 1000)}" if app["error"] else "")


def _run_pip(verb: str, args: list[str]) -> None:
    """pip in the host's own interpreter, its output streamed line by line to stderr."""
    import shlex
    import subprocess

    command = [sys.executable, "-m", "pip", verb, "--disable-pip-version-check", *args]
    click.echo(f"$ {shlex.join(command)}", err=True)
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    except OSError as exc:
        raise CliError(f"cannot run pip: {exc.strerror}") from exc
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            click.echo(line, err=True, nl=False)
    if process.returncode:
        raise CliError(f"pip {verb} failed (exit {process.returncode})")
