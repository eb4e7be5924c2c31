"""`erpsync apps new`: scaffold a sync app project from the template. Its own module,
imported only when the command runs (or its help is shown), so `erpsync apps list` stays
light."""

from __future__ import annotations

import click

from host.cli.common import emit_json, json_option
from host.cli.errors import CliError


@click.command(name="new")
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
