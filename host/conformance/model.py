"""The shapes of the conformance suite: a check is data (id, title, why, what it needs, a
coroutine), and every run of one ends in exactly one result: pass, fail or skip.

Checks report through two exceptions instead of return codes, so a check reads top to bottom
like a test: `fail(...)` with what was expected and what came back, `skip(...)` with why.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.conformance.context import Context


class Status(enum.StrEnum):
    """The outcome of one check; only FAIL makes a run fail."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


class Need(enum.StrEnum):
    """What a check needs before it can run; a missing need makes it skip, with the reason."""

    CONFIG = "config"
    """complete connection values (see the config.complete check)"""
    CONNECTION = "connection"
    """a connection saved on the connector with those values"""
    WRITE = "write"
    """the run allows writing to the ERP (`--write`)"""


class CheckFailed(Exception):
    """The connector broke the contract: what was expected and what came back."""

    def __init__(self, message: str, *, expected: Any = None, got: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.got = got


class CheckSkipped(Exception):
    """The check could not run (nothing to check, or a need is missing); says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotApplicable(CheckSkipped):
    """The rule does not apply to this connector by its own declaration (e.g. a read-only
    connector and the write checks): the check passes, saying so, also under --strict."""


def not_applicable(reason: str) -> NotApplicable:
    """`raise not_applicable(...)`: a pass with the reason the rule does not apply."""
    return NotApplicable(reason)


def fail(message: str, *, expected: Any = None, got: Any = None) -> CheckFailed:
    """`raise fail(...)`: a failed check naming what was expected and what came back."""
    return CheckFailed(message, expected=expected, got=got)


def skip(reason: str) -> CheckSkipped:
    """`raise skip(...)`: a check that could not run, with the reason."""
    return CheckSkipped(reason)


CheckFunction = Callable[["Context"], Awaitable[str | None]]
"""A check: returns an optional note on success, raises CheckFailed or CheckSkipped otherwise."""


@dataclass(frozen=True)
class Check:
    """One rule of the connector contract, runnable against any connector URL."""

    id: str
    title: str
    why: str
    function: CheckFunction
    needs: frozenset[Need] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "why": self.why,
            "needs": sorted(n.value for n in self.needs),
        }


@dataclass
class CheckResult:
    """What one check found; `message` is the note, the failure or the skip reason."""

    id: str
    title: str
    status: Status
    message: str = ""
    expected: Any = None
    got: Any = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "message": self.message,
            "seconds": round(self.seconds, 3),
        }
        if self.status is Status.FAIL:
            data["expected"] = self.expected
            data["got"] = self.got
        return data


@dataclass
class SuiteReport:
    """Every result of one run, plus what the run was pointed at."""

    target: str
    connector: dict[str, Any] = field(default_factory=dict)
    write: bool = False
    config_source: str = "given"
    results: list[CheckResult] = field(default_factory=list)
    strict: bool = False
    """A skip counts as a failure (`--strict`, for partners' CI)."""
    hint: str = ""
    """What to try when the URL looks wrong (set by the front end)."""

    @property
    def ok(self) -> bool:
        """True when no check failed (and, when strict, none was skipped)."""
        return not self.failed()

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for r in self.results if r.status is s) for s in Status}

    def failed(self) -> list[CheckResult]:
        """The failed checks, and when strict the skipped ones."""
        return [r for r in self.results if r.failed or (self.strict and r.status is Status.SKIP)]

    def result(self, check_id: str) -> CheckResult:
        for item in self.results:
            if item.id == check_id:
                return item
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "connector": dict(self.connector),
            "write": self.write,
            "strict": self.strict,
            "config_source": self.config_source,
            "ok": self.ok,
            "summary": self.counts(),
            "checks": [r.to_dict() for r in self.results],
            **({"hint": self.hint} if self.hint else {}),
        }
