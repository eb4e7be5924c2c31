"""The conformance suite: the whole connector contract as checks that run the same way against
an installed Python app, a connector URL in any language, and in a partner's own pytest.

    from host.conformance import run_suite
    report = await run_suite(client, config={...}, write=False)
    report.ok, report.failed()

`erpsync apps check TARGET` and the pytest plugin (`host.pytest_plugin.ConformanceSuite`) are
the two front ends; docs/partner-guide.md lists every check.
"""

from host.conformance.checks import CHECKS, check
from host.conformance.model import (
    Check,
    CheckFailed,
    CheckResult,
    CheckSkipped,
    Need,
    Status,
    SuiteReport,
    fail,
    skip,
)
from host.conformance.runner import run_check, run_suite, select_checks

__all__ = [
    "CHECKS",
    "Check",
    "CheckFailed",
    "CheckResult",
    "CheckSkipped",
    "Need",
    "Status",
    "SuiteReport",
    "check",
    "fail",
    "run_check",
    "run_suite",
    "select_checks",
    "skip",
]
