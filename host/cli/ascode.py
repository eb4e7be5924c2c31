"""`erpsync export` and `erpsync apply`: the home as code (host.admin.ascode does the work;
this module reads the file, prints the plan and renders errors)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from host.cli.common import db_option, emit_json, json_option, open_registry, run_async
from host.cli.deadline import timeout_option
from host.cli.errors import CliError, cli_error, exit_code_of, safe

if TYPE_CHECKING:
    from host.admin.ascode import Plan, Step

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["toml", "yaml"]),
    default=None,
    help="File format (default: YAML for a .yaml or .yml name, else TOML).",
)


@click.command(name="export")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="File to write (default: stdout)."
)
@format_option
@db_option
def export(output: str | None, fmt: str | None, db_path: str | None) -> None:
    """Write the home to one file: connectors, connections, users, groups, sync settings.

    The output is sorted and stable, so it diffs well in git. No secret is written: a
    connector token or a password field is a reference to an environment variable
    (ERPSYNC_TOKEN_<CONNECTOR>, ERPSYNC_SECRET_<CONNECTION>_<FIELD>) that `erpsync apply`
    reads; edit it into { file = "PATH" } to read a file instead. See docs/as-code.md.

    \b
    Examples:
        erpsync export -o home.toml
        erpsync export --format yaml > home.yaml
    """
    from host.admin.ascode import dumps, export_home, format_of

    registry = open_registry(db_path, create=False)
    text = dumps(export_home(registry), format_of(output or "", fmt))
    if output is None:
        click.echo(text, nl=False)
        return
    from host.files import write_atomically

    target = Path(output)
    try:
        write_atomically(target, text.encode("utf-8"))
    except OSError as exc:
        raise CliError(f"--output {output!r}: cannot write it ({exc.strerror or exc})") from None
    click.echo(f"Home written to {safe(output)}", err=True)


@click.command(name="apply")
@click.argument("file", type=click.Path(dir_okay=False), metavar="FILE")
@click.option("--dry-run", is_flag=True, help="Check the file and print the plan; change nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Also delete connections, connectors, groups and users the file does not name "
    "(by default they are left alone).",
)
@format_option
@timeout_option
@json_option
@db_option
def apply(
    file: str, dry_run: bool, prune: bool, fmt: str | None, as_json: bool, db_path: str | None
) -> None:
    """Make the home match FILE (from `erpsync export`): check, plan, then create and update.

    The whole file is checked first (every problem is one line naming its path, such as
    connections.acme.config.company; exit 1 and nothing changes), secrets are read from the
    environment variables and files it names, each connection's config is validated by its
    connector's fields, and the plan is printed: + create, ~ update, = unchanged, - delete.
    Then every new or changed connection is tested by the connector before it is saved (as
    `connections add` and `edit` do); unchanged ones are not re-tested. Objects in the home
    that the file does not name are left alone unless --prune. The first failure stops the
    run with its exit code; what was done stays, and applying again continues.

    \b
    Examples:
        erpsync apply home.toml --dry-run
        ERPSYNC_TOKEN_MOCK_ERP=... ERPSYNC_SECRET_ACME_PASSWORD=... erpsync apply home.toml
    """
    from host.admin.ascode import (
        HOME_FILE_LIMIT,
        FileProblems,
        apply_plan,
        format_of,
        loads,
        make_plan,
        read,
    )
    from host.admin.errors import AdminError
    from host.files import FileReadError, read_bounded_text

    try:
        text = read_bounded_text(file, what=f"file {file!r}", limit=HOME_FILE_LIMIT)
    except FileReadError as exc:
        raise CliError(str(exc)) from None
    # No registry yet: plan against an empty one in memory, and create the file only when
    # there is something to write (a dry run or a wrong file leaves nothing behind).
    registry = open_registry(db_path, create=False)
    new_home = _no_registry_yet()
    try:
        desired, problems = read(loads(text, format_of(file, fmt)))
        base = Path(file).resolve().parent
        plan = run_async(make_plan(registry, desired, base, prune=prune, problems_found=problems))
    except FileProblems as exc:
        _fail_problems(file, exc.problems, as_json)
    if not as_json:
        _print_plan(file, plan)
        if new_home:
            then = "planned from an empty home" if dry_run else "applying creates it"
            click.echo(f"({safe(new_home[0].upper() + new_home[1:])} yet: {then}.)")
    if dry_run or not plan.pending:
        if not dry_run and not registry.in_memory:
            run_async(apply_plan(registry, plan))  # nothing to change but the secret references
        if as_json:
            emit_json({"file": file, "dry_run": dry_run, "plan": plan.to_dict(), "applied": []})
        elif not plan.pending:
            click.echo("Nothing to change.")
        return
    if registry.in_memory:
        registry = open_registry(db_path)  # the plan was made against the same empty home
    done: list[Step] = []
    started: list[Step] = []

    def progress(step: Step) -> None:
        done.append(step)
        if not as_json:
            click.echo(f"done: {_line(step)}")

    try:
        run_async(apply_plan(registry, plan, progress, started.append))
    except AdminError as exc:
        failed = started[-1] if len(started) > len(done) else None
        where = f"{failed.kind} {failed.name}: " if failed is not None else ""
        error = cli_error(exc)
        if as_json:
            emit_json(
                {
                    "file": file,
                    "dry_run": False,
                    "plan": plan.to_dict(),
                    "applied": [s.to_dict() for s in done],
                    "error": {"kind": exc.kind, "step": failed.to_dict() if failed else None},
                }
            )
        raise CliError(
            f"{where}{error.message} ({len(done)} of {len(plan.pending)} changes applied; "
            "fix it and apply again)",
            error.exit_code,
        ) from exc
    if as_json:
        emit_json(
            {
                "file": file,
                "dry_run": False,
                "plan": plan.to_dict(),
                "applied": [s.to_dict() for s in done],
            }
        )
    else:
        click.echo(f"Applied {len(done)} change{'s' if len(done) != 1 else ''}.")


def _no_registry_yet() -> str | None:
    """A dry run on a home with no registry plans from an empty one: that is expected here,
    so it is said once with the plan, not as a warning."""
    from host.cli.errors import MISSING_REGISTRY

    ctx = click.get_current_context(silent=True)
    note = ctx.meta.pop(MISSING_REGISTRY, None) if ctx is not None else None
    return str(note).split(",", 1)[0] if note else None


def _fail_problems(file: str, problems: list[str], as_json: bool) -> Any:
    """Every problem of the file, one line each on stderr; then the one error line."""
    if as_json:
        emit_json({"file": file, "ok": False, "problems": problems})
    for line in problems:
        click.echo(f"{safe(file)}: {safe(line, 1000)}", err=True)
    count = len(problems)
    raise CliError(
        f"{count} problem{'s' if count != 1 else ''} in {file}; nothing was changed",
        exit_code_of("invalid_input"),
    )


SYMBOLS = {"create": "+", "update": "~", "unchanged": "=", "delete": "-"}


def _line(step: Step) -> str:
    text = f"{SYMBOLS[step.action]} {step.kind}"
    if step.name:
        text += f" {safe(step.name)}"
    if step.changes and step.action != "unchanged":
        text += f": {safe(', '.join(step.changes))}"
    if step.notes:
        text += f" ({safe('; '.join(step.notes))})"
    return text


def _print_plan(file: str, plan: Plan) -> None:
    click.echo(f"Plan for {safe(file)}:")
    for step in plan.steps:
        click.echo(f"  {_line(step)}")
    if plan.left_alone:
        click.echo(
            "Left alone (not in the file; --prune deletes them): "
            + safe(", ".join(plan.left_alone), 2000)
        )
    counts = plan.summary()
    parts = [f"{counts['create']} to create", f"{counts['update']} to update"]
    if counts["delete"]:
        parts.append(f"{counts['delete']} to delete")
    parts.append(f"{counts['unchanged']} unchanged")
    click.echo("Plan: " + ", ".join(parts) + ".")
