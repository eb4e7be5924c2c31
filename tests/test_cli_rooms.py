"""The CLI's own rooms: `apps list` does not load the partner tools, and command modules share
input helpers through host.cli.config_input, never through each other."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from host.cli import cli


def test_apps_list_loads_no_partner_tool() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from host.cli import cli\n"
        "result = CliRunner().invoke(cli, ['apps', 'list', '--json'])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = ('host.cli.apps_check', 'host.cli.apps_new', 'host.conformance', "
        "'host.scaffold', 'host.cli.connectors')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_partner_tools_are_still_apps_subcommands() -> None:
    result = CliRunner().invoke(cli, ["apps", "--help"])
    assert result.exit_code == 0
    commands = result.output.split("Commands:")[1].split()
    assert {"check", "new", "list", "show"} <= set(commands)
    for name in ("check", "new"):
        shown = CliRunner().invoke(cli, ["apps", name, "--help"])
        assert shown.exit_code == 0 and f"Usage: cli apps {name}" in shown.output
