"""`erpsync apps check`: run the conformance suite against an installed app or a connector
URL. Its own module, imported only when the command runs (or its help is shown), so
`erpsync apps list` stays light."""

from __future__ import annotations

from typing import Any

import click

from host.cli.common import emit_json, json_option
from host.cli.config_input import config_options, read_token
from host.cli.errors import CliError, safe


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


@click.command(name="check")
@click.argument("target")
@config_options
@click.option("--token", envvar="ERPSYNC_CONNECTOR_TOKEN", help="Bearer token of a connector URL.")
@click.option("--token-file", type=click.Path(), metavar="FILE", help="Read the token from a file.")
@click.option("--write", is_flag=True, help="Also create and save an actor (writes to the ERP).")
@click.option(
    "--strict", is_flag=True, help="Count a skipped check as a failure (for a partner's CI)."
)
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
    strict: bool,
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
        ERPSYNC_CSV_ROOT=/srv erpsync apps check example-csv --config directory=/srv/export
        erpsync apps check http://127.0.0.1:8765/connectors/acme --token-file tok --json
        erpsync apps check acme --config-file acme.json --write --only changed_since
    """
    from host.admin.clients import make_client
    from host.cli.common import run_async
    from host.cli.errors import EXIT_CONNECTOR_REFUSED
    from host.conformance import select_checks

    try:
        select_checks(only)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    secret = read_token(token, token_file, env="ERPSYNC_CONNECTOR_TOKEN")
    url = _resolve_target(target, secret)
    if url.startswith("app:"):  # served in-process with a token, so the auth checks run
        import secrets

        secret = secrets.token_urlsafe(24)
    config = _read_config(config_pairs, config_file)
    client = make_client(url, token=secret, label=url, timeout=timeout)

    async def run() -> tuple[Any, str]:
        from host.conformance import run_suite
        from host.conformance.demo import demo_config

        note, values = "", config
        async with client:
            if values is None:
                from host.failures import CallFailed, ProtocolError

                try:
                    values = demo_config(await client.info())
                except (CallFailed, ProtocolError):
                    values = None  # the info check reports it
                if values is not None:
                    note = "config: the mock ERP's demo login (no --config given)"
            report = await run_suite(
                client, config=values, write=write, only=only, target=url, strict=strict
            )
        report.config_source = "demo" if note else "given" if config is not None else "none"
        return report, note

    from host.cli.errors import client_exit_code
    from host.conformance.hints import base_url_hint
    from host.failures import ConnectorClientError

    try:
        report, note = run_async(run())
    except ConnectorClientError as exc:
        # No check could run; --json still prints a document, and a wrong URL gets a hint.
        hint = base_url_hint(url, str(exc))
        if as_json:
            emit_json(_aborted_report(url, write, strict, str(exc), hint))
        raise CliError(f"{exc}" + (f"; {hint}" if hint else ""), client_exit_code(exc)) from exc
    info_check = next((r for r in report.results if r.id == "info"), None)
    if info_check is not None and info_check.failed:
        report.hint = base_url_hint(url, f"{info_check.message} {info_check.got}")
    if as_json:
        emit_json(report.to_dict())
    else:
        _print_report(report, note)
        if report.hint:
            click.echo(report.hint)
    if not report.ok:
        failed = [r.id for r in report.failed()]
        verb = "failed or were skipped (--strict)" if strict else "failed"
        raise CliError(
            f"{len(failed)} of {len(report.results)} checks {verb}: {', '.join(failed)}",
            EXIT_CONNECTOR_REFUSED,
        )


def _aborted_report(url: str, write: bool, strict: bool, error: str, hint: str) -> dict[str, Any]:
    """The --json document of a run that could not start (same members as a report)."""
    return {
        "target": url,
        "connector": {},
        "write": write,
        "strict": strict,
        "config_source": "none",
        "ok": False,
        "summary": {"pass": 0, "fail": 0, "skip": 0},
        "checks": [],
        "error": error,
        "hint": hint,
    }
