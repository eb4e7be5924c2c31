"""Pieces every command group shares: output options, the registry, connector clients."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from host.cli.errors import MISSING_REGISTRY, CliError, safe

if TYPE_CHECKING:
    from host.registry import Registry

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class LazySubcommands(click.Group):
    """A group some of whose subcommands live in their own modules, imported on first use
    (`lazy`: name -> (module, attribute)), so the group's light commands stay light."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            import importlib

            module, attribute = self.lazy[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


def json_option(func: F) -> F:
    """`--json` on every list/show command: a stable shape for scripts."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def db_option(func: F) -> F:
    """`--db PATH` on every command that touches the registry."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False),
        envvar="ERPSYNC_DB",
        help="Registry database file (default: $ERPSYNC_HOME/registry.db).",
    )(func)


def open_registry(db_path: str | None, *, create: bool = True) -> Registry:
    """The registry; a file that is not one (or cannot be opened) is one line, not a trace.

    `create=False` is for commands that only read or change what exists: a registry that
    does not exist (a typo in --db or ERPSYNC_HOME) is not created. The command goes on with
    an empty registry in memory (lists are empty, a name is not found) and says where it
    looked: one warning line on stderr, or appended to its one error line.
    """
    import sqlite3

    from host.home import default_db_path
    from host.registry import Registry, RegistryMissing

    path = db_path or str(default_db_path())
    try:
        return Registry.open(db_path, create=create)
    except RegistryMissing:
        note_missing_registry(path)
        return Registry(Path(path), in_memory=True)
    except sqlite3.OperationalError as exc:
        raise CliError(f"registry {path}: cannot open it ({exc})") from exc
    except sqlite3.DatabaseError as exc:
        raise CliError(
            f"registry {path}: {exc}; is it an erpsync registry? Restore it from a backup "
            "or choose another file with --db"
        ) from exc
    except OSError as exc:
        raise CliError(f"registry {path}: cannot open it ({exc.strerror or exc})") from exc


def note_missing_registry(path: str) -> None:
    """Say (once, when the command ends) that no registry exists at `path`."""
    note = (
        f"no registry at {path}, so nothing is registered there yet (check --db, "
        "$ERPSYNC_DB and $ERPSYNC_HOME if you expected one)"
    )
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[MISSING_REGISTRY] = note  # said once, when the command ends
    else:
        click.echo(f"warning: {note}", err=True)


def emit_json(data: Any) -> None:
    """JSON for scripts; non-ASCII text stays readable, but no character that could drive
    a terminal (DEL, C1 controls, format characters, which json.dumps leaves raw) is raw."""
    click.echo(json_text(data))


def json_text(data: Any) -> str:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if text.isascii() and "\x7f" not in text:
        return text
    return "".join(_json_escape(ch) for ch in text)


def _json_escape(ch: str) -> str:
    """A raw character of json.dumps output as it may be printed; outside strings there are
    only ASCII punctuation, spaces and newlines, so escaping the rest is still valid JSON."""
    if ch == "\n" or ch.isprintable():
        return ch
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned table; empty cells as '-'."""
    if not rows:
        click.echo("(none)")
        return
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    click.echo(
        "  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip()
    )
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    """A table cell: one printable, bounded line (see host.cli.errors.safe)."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return safe(",".join(str(v) for v in value)) or "-"
    return safe(value)


def run_async(coro: Coroutine[Any, Any, T], *, spinner: bool = True) -> T:
    """Run connector work, bounded by the command's --timeout (with a spinner on a tty)."""
    import asyncio  # not at the top: asyncio (and ssl) cost `erpsync apps list` ~40 ms

    from host.cli.deadline import bounded

    return asyncio.run(bounded(coro, spinner=spinner))
