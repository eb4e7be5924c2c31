"""The `erpsync` command line. Command groups are imported only when used, so start-up is fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

from host.cli.errors import MISSING_REGISTRY, CliError, translate_errors

COMMANDS: dict[str, tuple[str, str]] = {
    "apps": ("host.cli.apps", "apps"),
    "connectors": ("host.cli.connectors", "connectors"),
    "connections": ("host.cli.connections", "connections"),
    "users": ("host.cli.users", "users"),
    "groups": ("host.cli.groups", "groups"),
    "secrets": ("host.cli.secrets", "secrets"),
    "audit": ("host.cli.audit", "audit"),
    "admins": ("host.cli.admins", "admins"),
    "doctor": ("host.cli.doctor", "doctor"),
    "crm": ("host.cli.crm", "crm"),
    "mapping": ("host.cli.mapping", "mapping"),
    "defaults": ("host.cli.defaults", "defaults"),
    "import": ("host.cli.imports", "import_group"),
    "sync": ("host.cli.sync", "sync"),
    "export": ("host.cli.ascode", "export"),
    "apply": ("host.cli.ascode", "apply"),
    "serve": ("host.cli.serve", "serve"),
    "mock-server": ("host.cli.serve", "mock_server"),
    "web": ("host.cli.web", "web"),
    "demo": ("host.cli.demo", "demo"),
}

SHORT_HELP = {
    "apps": "List, install, check and scaffold sync apps; disable and enable them.",
    "connectors": "Register sync connectors (name + URL).",
    "connections": "Add, list and test ERP connections.",
    "users": "Add, list and remove users.",
    "groups": "Add, list and remove groups and their members.",
    "secrets": "Rotate the key that encrypts stored secrets, or reset lost ones.",
    "audit": "Show who changed what in the registry.",
    "admins": "Add, list and remove the admins of the web admin.",
    "doctor": "Find and repair what a crash or an outage left behind.",
    "crm": "The host's CRM store: companies, persons, projects.",
    "mapping": "Field and list mapping of ERP actor types to CRM entities.",
    "defaults": "Default values for actors sync creates in the ERP.",
    "import": "Import actors from an ERP connection into the CRM.",
    "sync": "Run sync passes, the worker, status, history, priority.",
    "export": "Write the home (connectors, connections, ...) to a TOML or YAML file.",
    "apply": "Make the home match an exported file: plan, test, then save.",
    "serve": "Serve every installed connector over HTTP.",
    "mock-server": "Serve the bundled mock ERP connector alone.",
    "web": "Serve the web admin (the Sync tab) in a browser.",
    "demo": "Walk the whole flow against the bundled mock ERP.",
}


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(target[0])
        command: click.Command = getattr(module, target[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from a table, so `erpsync --help` imports no command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, SHORT_HELP[name]) for name in COMMANDS])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with translate_errors():
                result = super().invoke(ctx)
        except CliError as exc:
            missing = ctx.meta.get(MISSING_REGISTRY)
            if missing:  # e.g. "no connector named 'x'": say where the registry was looked for
                raise CliError(f"{exc.message}; {missing}", exc.exit_code) from exc
            raise
        missing = ctx.meta.get(MISSING_REGISTRY)
        if missing:
            click.echo(f"warning: {missing}", err=True)
        return result


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="erpsync-host", prog_name="erpsync")
def cli() -> None:
    """Plugin host for ERP sync connectors: apps, connectors and ERP connections.

    \b
    Example, the whole flow against the bundled mock ERP:
        erpsync demo
    The registry lives in $ERPSYNC_HOME (default: the user data dir); exit codes are
    listed in docs/cli.md.
    """


def main() -> None:
    cli(prog_name="erpsync")
