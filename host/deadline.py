"""An overall deadline for a command's connector calls, however many calls and retries it takes.

Per-call timeouts alone let a connector that accepts and never answers hold a command for
the timeout times the retries (46 s for `connectors add` once). A `Deadline` set around a
command's work bounds all of it; ConnectorClient reads the current one (a context variable,
so each asyncio task may carry its own) and names the call it was waiting for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Deadline:
    """`seconds` the admin allowed; `at` the monotonic time they run out; `activity` the
    call in flight (for a spinner)."""

    seconds: float
    at: float
    activity: str = ""

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at


_current: ContextVar[Deadline | None] = ContextVar("erpsync_deadline", default=None)


def current() -> Deadline | None:
    """The deadline the running code is under, if any."""
    return _current.get()


@contextmanager
def applying(deadline: Deadline | None) -> Iterator[Deadline | None]:
    """Run the block (and the tasks it starts) under `deadline`."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)
