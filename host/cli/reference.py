"""Generate docs/cli.md from the commands' own help, so the reference cannot drift.

python -m host.cli.reference > docs/cli.md
"""

from __future__ import annotations

import sys

import click

from host.cli import cli
from host.cli.errors import EXIT_CODES

HEADER = """# erpsync CLI reference

Generated from `--help` by `python -m host.cli.reference > docs/cli.md`;
`tests/test_docs.py` fails when this page and the code disagree.

## Exit codes

| code | meaning |
|---|---|
"""


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                found.extend(_walk(sub, [*path, name]))
    return found


def render() -> str:
    parts = [HEADER]
    parts += [f"| {code} | {meaning} |\n" for code, meaning in sorted(EXIT_CODES.items())]
    for path, command in _walk(cli, ["erpsync"]):
        ctx = click.Context(
            command,
            info_name=" ".join(path),
            terminal_width=100,
            help_option_names=["-h", "--help"],
        )
        parts.append(f"\n## `{' '.join(path)}`\n\n```\n{command.get_help(ctx)}\n```\n")
    return "".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
