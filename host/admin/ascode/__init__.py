"""Connections as code: the home exported to one TOML or YAML file, and a file applied to a
home (plan first, then the admin core's own workflows). Secrets are references in the file,
never values. See docs/as-code.md.
"""

from __future__ import annotations

from host.admin.ascode.apply import apply_plan
from host.admin.ascode.document import (
    FORMAT,
    FORMATS,
    HOME_FILE_LIMIT,
    Desired,
    FileProblems,
    SecretRef,
    dumps,
    format_of,
    loads,
    parse,
    read,
)
from host.admin.ascode.export import export_home
from host.admin.ascode.plan import CREATE, DELETE, UNCHANGED, UPDATE, Plan, Step, make_plan

__all__ = [
    "CREATE",
    "DELETE",
    "FORMAT",
    "FORMATS",
    "HOME_FILE_LIMIT",
    "UNCHANGED",
    "UPDATE",
    "Desired",
    "FileProblems",
    "Plan",
    "SecretRef",
    "Step",
    "apply_plan",
    "dumps",
    "export_home",
    "format_of",
    "loads",
    "make_plan",
    "parse",
    "read",
]
