"""The checks: the connector contract of protocol v1 as data, in the order they run.

Each check is a coroutine taking the run's Context, registered with `@check(id, title, why)`
(registry.py). It returns an optional note, or raises `fail(...)` (expected vs got) or
`skip(...)` (why). Checks are independent: one failing never stops the others; a check that
needs something another one could not get skips and names it. One module per concern; the
order of RUN_ORDER is the order the checks run in.
"""

import importlib

from host.conformance.checks.registry import CHECKS, check
from host.conformance.context import describe

RUN_ORDER = (
    "config",
    "config_invalid",
    "config_rules",
    "auth",
    "capabilities",
    "connection",
    "reads",
    "values",
    "lists",
    "search",
    "operators",
    "restrictions",
    "changes",
    "stream",
    "errors",
    "secrets",
    "write",
)
"""The check modules, in run order (importing one registers its checks)."""

for _name in RUN_ORDER:
    importlib.import_module(f"host.conformance.checks.{_name}")

__all__ = ["CHECKS", "RUN_ORDER", "check", "describe"]
