"""`erpsync apps`: the installed sync apps, loaded or broken, with versions; install,
uninstall, disable and enable them; and for partners, `apps check` (the conformance suite
against an installed app or any connector URL) and `apps new` (scaffold a new app)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from host.cli.common import emit_json, json_option, print_table
from host.cli.config_input import config_options
from host.cli.errors import CliError, safe

HOST_DISTRIBUTION = "erpsync-host"


@click.group()
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


@apps.command(name="disable")
@click.argument("name")
def disable_app(name: str) -> None:
    """Disable installed app NAME: its connectors are no longer loaded.

    `erpsync apps list` shows it as disabled; app:<id> connector URLs and `erpsync serve`
    skip it. The app stays installed; the choice is kept in apps.json in $ERPSYNC_HOME.

    \b
    Example:
        erpsync apps disable acme
    """
    installed = _installed()
    if name not in installed:
        known = ", ".join(installed) or "none"
        raise CliError(f"no installed app named {name!r} (installed: {known})")
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
@click.option("--pip-arg", "pip_args", metavar="ARG", multiple=True, help=PIP_ARG_HELP)
@json_option
def install_apps(packages: tuple[str, ...], pip_args: tuple[str, ...], as_json: bool) -> None:
    """pip install sync app packages into the host's own environment.

    pip's output goes to stderr; then the apps that appeared (or changed version) are
    listed with their status.

    \b
    Examples:
        erpsync apps install acme-erpsync
        erpsync apps install --pip-arg=--no-index --pip-arg=--find-links=./wheels acme-erpsync
        erpsync apps install --pip-arg=-e ./my-connector-app
    """
    _pip_and_report("install", [*pip_args, *packages], as_json)


@apps.command(name="uninstall")
@click.argument("packages", metavar="PKG...", nargs=-1, required=True)
@click.option("--pip-arg", "pip_args", metavar="ARG", multiple=True, help=PIP_ARG_HELP)
@json_option
def uninstall_apps(packages: tuple[str, ...], pip_args: tuple[str, ...], as_json: bool) -> None:
    """pip uninstall sync app packages (distribution names) from the host's environment.

    The apps that disappeared are listed. The host itself (erpsync-host) is refused.

    \b
    Example:
        erpsync apps uninstall acme-erpsync
    """
    import re

    for package in packages:
        if re.sub(r"[-_.]+", "-", package).lower() == HOST_DISTRIBUTION:
            raise CliError(f"refusing to uninstall {package!r}: it is the host, not an app")
    _pip_and_report("uninstall", ["-y", *pip_args, *packages], as_json)


def _pip_and_report(verb: str, args: list[str], as_json: bool) -> None:
    """Run pip, then report which apps appeared, disappeared or changed version."""
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
    if not any(report.values()):
        click.echo("No sync app appeared or disappeared (entry-point group erpsync.apps)")


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


# --- partner tools: the conformance suite and the app scaffold -----------------------------


def _resolve_target(target: str, token: str | None) -> str:
    """An http(s) URL stays a URL; `app:<id>` and a bare id run the installed app in-process."""
    from host.admin.connectors import check_url as check_connector_url

    if target.startswith(("http://", "https://")) or "://" in target:
        return check_connector_url(target)
    url = target if target.startswith("app:") else f"app:{target}"
    if token:
        raise CliError("--token and --token-file apply to connector URLs, not installed apps")
    return check_connector_url(url)


def _read_config(pairs: tuple[str, ...], config_file: str | None) -> dict[str, Any] | None:
    """--config-file (JSON or TOML) overlaid with --config KEY=VALUE; None when neither."""
    from host.cli.config_input import read_config_input

    if not pairs and not config_file:
        return None
    return read_config_input(pairs, config_file)


def _print_report(report: Any, note: str) -> None:
    """One line per check; a failure adds what was expected and what came back."""
    info = report.connector
    if info.get("id"):
        click.echo(
            f"Conformance of {safe(info['id'])} ({safe(info.get('name'))} "
            f"{safe(info.get('version'))} by {safe(info.get('vendor'))}, protocol "
            f"{safe(info.get('protocol_version'))}) at {safe(report.target)}"
        )
    else:
        click.echo(f"Conformance of {safe(report.target)}")
    if note:
        click.echo(note)
    click.echo("")
    width = max((len(r.id) for r in report.results), default=0)
    for result in report.results:
        message = safe(result.message, 1000)
        click.echo(f"{result.status.value.upper():5} {result.id:{width}}  {message}".rstrip())
        if result.failed:
            click.echo(f"{'':6}{'':{width}}  expected: {safe(str(result.expected), 1000)}")
            click.echo(f"{'':6}{'':{width}}  got:      {safe(str(result.got), 1000)}")
    counts = report.counts()
    click.echo(
        f"\n{len(report.results)} checks: {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['skip']} skipped"
    )


@apps.command(name="check")
@click.argument("target")
@config_options
@click.option("--token", envvar="ERPSYNC_CONNECTOR_TOKEN", help="Bearer token of a connector URL.")
@click.option("--token-file", type=click.Path(dir_okay=False), help="Read the token from a file.")
@click.option("--write", is_flag=True, help="Also create and save an actor (writes to the ERP).")
@click.option(
    "--only",
    "only",
    metavar="CHECK",
    multiple=True,
    help="Run only this check, or a group such as changed_since (repeatable).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=15.0,
    show_default=True,
    help="Seconds per call.",
)
@json_option
def check_app(
    target: str,
    config_pairs: tuple[str, ...],
    config_file: str | None,
    token: str | None,
    token_file: str | None,
    write: bool,
    only: tuple[str, ...],
    timeout: float,
    as_json: bool,
) -> None:
    """Run the conformance suite against a connector and report every check.

    TARGET is the id of an installed connector (run in-process over the same protocol, like
    app:<id>) or a connector URL, http(s)://HOST/PATH, in any language. Each check passes,
    fails (with what was expected and what came back) or is skipped (with why); one failing
    check never stops the others. Read-only unless --write, which creates and saves one actor:
    point it at a test company. With no --config for the bundled mock ERP, its documented demo
    login is used; for other connectors the first check names the values that are missing.

    \b
    Exit codes:
        0  every check passed or was skipped
        3  at least one check failed
        1  bad options, or no installed connector with that id
        4  the connector could not be reached
        5  the connector does not speak protocol v1, or refused the token

    \b
    Examples:
        erpsync apps check mock
        erpsync apps check example-csv --config directory=/srv/export
        erpsync apps check http://127.0.0.1:8765/connectors/acme --token-file tok --json
        erpsync apps check acme --config-file acme.json --write --only changed_since
    """
    from host.admin.clients import make_client
    from host.cli.common import run_async
    from host.cli.connectors import read_token
    from host.cli.errors import EXIT_CONNECTOR_REFUSED
    from host.conformance import select_checks

    try:
        select_checks(only)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    secret = read_token(token, token_file)
    url = _resolve_target(target, secret)
    config = _read_config(config_pairs, config_file)
    client = make_client(url, token=secret, label=url, timeout=timeout)

    async def run() -> tuple[Any, str]:
        from host.conformance import run_suite
        from host.conformance.demo import demo_config

        note, values = "", config
        async with client:
            if values is None:
                from host.client import CallFailed, ProtocolError

                try:
                    values = demo_config(await client.info())
                except (CallFailed, ProtocolError):
                    values = None  # the info check reports it
                if values is not None:
                    note = "config: the mock ERP's demo login (no --config given)"
            report = await run_suite(client, config=values, write=write, only=only, target=url)
        report.config_source = "demo" if note else "given" if config is not None else "none"
        return report, note

    report, note = run_async(run())
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_report(report, note)
    if not report.ok:
        failed = [r.id for r in report.failed()]
        raise CliError(
            f"{len(failed)} of {len(report.results)} checks failed: {', '.join(failed)}",
            EXIT_CONNECTOR_REFUSED,
        )


@apps.command(name="new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False),
    help="Where to create the project (default: ./erpsync-NAME); must be empty or missing.",
)
@click.option("--vendor", default="Your company", show_default=True, help="Vendor shown to admins.")
@click.option("--title", help="Display name of the connector (default: NAME in title case + ERP).")
@json_option
def new_app(
    name: str, directory: str | None, vendor: str, title: str | None, as_json: bool
) -> None:
    """Create a new sync app project for connector id NAME, ready to test and publish.

    The project holds a pyproject.toml with the erpsync.apps entry point, a connector with
    config fields and every operation (backed by an in-memory stand-in for your ERP), tests
    that use the erpsync pytest plugin and run the conformance suite, a README and a GitHub
    Actions workflow. docs/partner-guide.md walks on from there.

    \b
    Example:
        erpsync apps new acme --vendor "Acme AS"
        cd erpsync-acme && pip install -e ".[test]" && pytest
    """
    from pathlib import Path

    from host.scaffold import ScaffoldError, project_names, render_project

    try:
        names = project_names(name, vendor=vendor, title=title)
        target = Path(directory) if directory else Path.cwd() / names["distribution"]
        written = render_project(target, names)
    except ScaffoldError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(
            {
                "directory": str(target),
                "files": [str(p.relative_to(target)) for p in written],
                **names,
            }
        )
        return
    click.echo(
        f"Created sync app {names['distribution']} (connector {names['connector_id']}, "
        f"package {names['package']}) in {target}"
    )
    for path in written:
        click.echo(f"  {path.relative_to(target)}")
    click.echo(
        f"\nNext:\n  cd {target}\n  pip install -e '.[test]'\n  pytest\n"
        f"  erpsync apps check {names['connector_id']} --config username=demo "
        "--config password=demo-password"
    )
