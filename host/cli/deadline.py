"""`--timeout SECONDS`: one budget for all of a command's connector calls, and a spinner.

The budget counts only time spent waiting for connectors (not time an admin spends at a
prompt). While a command waits, a spinner on a terminal's stderr names the call in flight;
piped or redirected output never sees it.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
_BUDGET = "erpsync.timeout"  # click context meta: [seconds allowed, seconds used so far]
SPINNER_FRAMES = "|/-\\"
SPINNER_DELAY = 0.3
"""A call that answers within this never shows the spinner."""


def timeout_option(func: F) -> F:
    """`--timeout SECONDS` on every command that waits for a connector."""
    return _option("Give up waiting for the connector after this many seconds in all.")(func)


def timeout_option_each(what: str) -> Callable[[F], F]:
    """`--timeout SECONDS` where each `what` (connection, connector) gets the whole budget."""
    return _option(f"Give up waiting for the connector after this many seconds (per {what}).")


def _option(help_text: str) -> Callable[[F], F]:
    def remember(ctx: click.Context, _param: click.Parameter, value: float) -> float:
        ctx.meta[_BUDGET] = [value, 0.0]
        return value

    return click.option(
        "--timeout",
        type=click.FloatRange(min=0.1, max=3600),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        expose_value=False,
        callback=remember,
        help=help_text,
    )


def command_timeout() -> float | None:
    """The running command's --timeout, or None outside such a command."""
    ctx = click.get_current_context(silent=True)
    budget = ctx.meta.get(_BUDGET) if ctx is not None else None
    return float(budget[0]) if budget else None


def fresh_deadline() -> Any:
    """A deadline of the whole --timeout, for work that gets its own (one per connector)."""
    from host.deadline import Deadline, applying

    seconds = command_timeout()
    return applying(Deadline.after(seconds) if seconds is not None else None)


async def bounded(coro: Coroutine[Any, Any, T], *, spinner: bool = True) -> T:
    """Await `coro` under what is left of the command's budget, with a spinner on a tty."""
    import asyncio

    from host.deadline import Deadline, applying

    ctx = click.get_current_context(silent=True)
    budget = ctx.meta.get(_BUDGET) if ctx is not None else None
    if budget is None:
        return await coro
    seconds, used = budget
    deadline = Deadline(seconds, time.monotonic() + max(0.0, seconds - used))
    started = time.monotonic()
    spin = None
    if spinner and _stderr_is_terminal():
        spin = asyncio.ensure_future(_spin(deadline, _label(ctx)))
    try:
        with applying(deadline):
            return await coro
    finally:
        budget[1] = used + (time.monotonic() - started)
        if spin is not None:
            spin.cancel()
            await asyncio.gather(spin, return_exceptions=True)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _label(ctx: click.Context | None) -> str:
    return ctx.command_path if ctx is not None else "erpsync"


async def _spin(deadline: Any, label: str) -> None:
    """`\\r` frames naming the call in flight, then a cleared line."""
    import asyncio

    await asyncio.sleep(SPINNER_DELAY)
    shown = False
    try:
        for frame in itertools.cycle(SPINNER_FRAMES):
            waiting = deadline.seconds - deadline.remaining()
            activity = deadline.activity or "connector"
            text = (
                f"\r{frame} {label}: waiting for {activity} ({waiting:.0f}/{deadline.seconds:g} s)"
            )
            sys.stderr.write(text + "\x1b[K")
            sys.stderr.flush()
            shown = True
            await asyncio.sleep(0.1)
    finally:
        if shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
