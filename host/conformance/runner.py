"""Run the checks against one connector and collect a report; nothing here prints.

The same runner serves `erpsync apps check` (an installed app in-process, or any URL) and the
pytest plugin (an app served on a loopback port), so a partner's CI and an admin's
command line judge a connector by the same rules.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from host.client import CallFailed, ConnectorClient, ConnectorClientError
from host.conformance.checks import CHECKS
from host.conformance.context import Context, describe
from host.conformance.model import (
    Check,
    CheckFailed,
    CheckResult,
    CheckSkipped,
    NotApplicable,
    Status,
    SuiteReport,
)
from host.protocol.scrub import Scrubber

if TYPE_CHECKING:
    import httpx

CHECK_TIMEOUT = 120.0
"""Seconds one check may take before it fails (each call also has the client's timeout)."""


def select_checks(only: Iterable[str] = ()) -> list[Check]:
    """The checks named in `only` (an id, or a prefix such as `changed_since`), in run order;
    all of them when `only` is empty. Unknown names raise ValueError listing the known ones."""
    wanted = list(only)
    if not wanted:
        return list(CHECKS)
    chosen: list[Check] = []
    for name in wanted:
        matches = [c for c in CHECKS if c.id == name or c.id.startswith(name.rstrip(".") + ".")]
        if not matches:
            known = ", ".join(c.id for c in CHECKS)
            raise ValueError(f"no check named {name!r}; checks: {known}")
        chosen += [c for c in matches if c not in chosen]
    return [c for c in CHECKS if c in chosen]


async def run_check(check: Check, ctx: Context) -> CheckResult:
    """Run one check; whatever happens becomes its result (only unreachability escapes)."""
    started = time.perf_counter()
    result = CheckResult(check.id, check.title, Status.PASS)
    ctx.last_request = ""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await ctx.require(check.needs)
            result.message = await check.function(ctx) or ""
    except CheckFailed as exc:
        result.status, result.message = Status.FAIL, exc.message
        result.expected, result.got = exc.expected, exc.got
    except NotApplicable as exc:
        result.message = f"not applicable: {exc.reason}"
    except CheckSkipped as exc:
        result.status, result.message = Status.SKIP, exc.reason
    except CallFailed as exc:
        result.status, result.message = Status.FAIL, str(exc)
        result.expected, result.got = "a successful answer", describe(exc)
    except ConnectorClientError as exc:
        if exc.ends_run:
            waiting = ctx.last_request or "a request"
            if not (_timed_out(exc) and await _still_answers(ctx)):
                raise
            # One operation hangs, the connector still answers: this check fails, the run goes on.
            result.status = Status.FAIL
            result.message = f"hung: no answer to {waiting} in time"
            result.expected, result.got = "an answer within the call timeout", describe(exc)
        else:
            result.status, result.message = Status.FAIL, str(exc)
            result.expected, result.got = "a protocol v1 answer", describe(exc)
    except TimeoutError:
        result.status = Status.FAIL
        waiting = f", waiting for {ctx.last_request}" if ctx.last_request else ""
        result.message = f"took longer than {CHECK_TIMEOUT:g} s{waiting}"
    except Exception as exc:  # a bug in a check must not hide the other results
        result.status = Status.FAIL
        result.message = f"the check itself crashed: {type(exc).__name__}: {describe(exc)}"
    result.seconds = time.perf_counter() - started
    return result


def _timed_out(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc.__cause__, httpx.TimeoutException | TimeoutError)


async def _still_answers(ctx: Context) -> bool:
    """True when the connector answers info: a timeout was one operation hanging."""
    try:
        await ctx.client.info()
    except Exception:
        return False
    return True


async def run_suite(
    client: ConnectorClient,
    *,
    config: Mapping[str, Any] | None = None,
    write: bool = False,
    only: Iterable[str] = (),
    raw: httpx.AsyncClient | None = None,
    target: str | None = None,
    strict: bool = False,
) -> SuiteReport:
    """Run the (selected) checks against the connector behind `client`.

    `config` holds the connection values (strings are parsed per field type, defaults fill
    the rest); `write` allows create/save round-trips. Raises the client's error when the
    connector cannot be reached or refuses the token: then no check can say anything.
    """
    checks = select_checks(only)
    ctx = Context(client, raw=raw, config=config, write=write)
    report = SuiteReport(target=target or client.label, write=write, strict=strict)
    try:
        try:
            ctx.info = await client.info()
        except ConnectorClientError as exc:
            if exc.ends_run:
                raise
            # otherwise the info check says what is wrong with it
        for check in checks:
            report.results.append(await run_check(check, ctx))
    finally:
        await ctx.cleanup()
    report.connector = {
        k: ctx.info.get(k) for k in ("id", "name", "vendor", "version", "protocol_version")
    }
    scrub_report(report, client.scrubber().plus(client.secrets_of(config or {})))
    return report


def scrub_report(report: SuiteReport, scrubber: Scrubber) -> None:
    """Mask the run's secrets (the token, every secret value sent) in everything the report
    quotes: a check's message and its expected/got may repeat what the connector said."""
    if not scrubber:
        return
    for result in report.results:
        result.message = scrubber.text(result.message, operation=f"check {result.id}")
        result.expected = scrubber.data(result.expected)
        result.got = scrubber.data(result.got)
    report.connector = scrubber.data(report.connector, keep=("id", "protocol_version"))
