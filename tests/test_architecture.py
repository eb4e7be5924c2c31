"""The import rules of DESIGN.md ("Rooms and doors"), read from the source with `ast`.

Every import counts, at module level or inside a function (a function-level import is
still a door between rooms). A rule whose room does not exist yet (`host.admin`) is
skipped with its reason, so it starts to bite the day the room appears.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTTP_LIBRARIES = ("httpx", "fastapi", "starlette", "uvicorn")
WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn")
# The SDK an app may import (docs/sdk.md): `host` itself; its tests also the testing modules.
APP_SDK = ("host",)
APP_TEST_SDK = ("host", "host.pytest_plugin", "host.client", "host.conformance")


@dataclass(frozen=True)
class Import:
    """One imported module name and the line that imports it."""

    name: str
    line: int


@dataclass(frozen=True)
class Module:
    """A source file under its dotted name (apps are named by their path, e.g. plugins.x)."""

    name: str
    path: Path

    @property
    def is_test(self) -> bool:
        return "tests" in self.path.relative_to(ROOT).parts


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    """`name` is one of `prefixes` or a submodule of one."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def is_repo_module(name: str) -> bool:
    """`from host import client` imports a module; `from host import Actor` does not."""
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every module `source` imports, relative imports resolved against `module`."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([base] if base else []))
            found.append(Import(base, node.lineno))
            for alias in node.names:
                if is_repo_module(f"{base}.{alias.name}"):
                    found.append(Import(f"{base}.{alias.name}", node.lineno))
    return found


@dataclass(frozen=True)
class Rule:
    """Modules in `rooms` must not import anything in `forbidden` (unless `allowed`)."""

    why: str
    rooms: tuple[str, ...]
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()

    def violations(self, module: str, imports: list[Import], where: str) -> list[str]:
        if not under(module, self.rooms):
            return []
        worst: dict[int, str] = {}  # one message per line, naming the most precise module
        for imp in imports:
            bad = under(imp.name, self.forbidden) and imp.name not in self.allowed
            if bad and len(imp.name) > len(worst.get(imp.line, "")):
                worst[imp.line] = imp.name
        return [
            f"{where}:{line}: {module} imports {name} ({self.why})"
            for line, name in sorted(worst.items())
        ]


RULES = [
    Rule(
        "host.server and host.client meet only in host.protocol",
        ("host.server",),
        ("host.client",),
    ),
    Rule(
        "host.server and host.client meet only in host.protocol",
        ("host.client",),
        ("host.server",),
    ),
    Rule(
        "host.registry knows nothing of HTTP and no click",
        ("host.registry",),
        (*HTTP_LIBRARIES, "click"),
    ),
    Rule(
        "host.protocol imports no click, no host.cli, no host.registry",
        ("host.protocol",),
        ("click", "host.cli", "host.registry"),
    ),
    Rule(
        "host.admin imports no click, no web framework and no face",
        ("host.admin",),
        (*WEB_FRAMEWORKS, "click", "host.cli", "host.web"),
    ),
    Rule(
        "host.sync imports no click, no web framework and no face",
        ("host.sync",),
        (*WEB_FRAMEWORKS, "click", "host.cli", "host.web"),
    ),
]
APPS = ("plugins", "example_connector_app")
APP_RULE = Rule("apps import only the public host SDK (docs/sdk.md)", APPS, ("host",), APP_SDK)
APP_TEST_RULE = Rule(
    "app tests import only the public host SDK and its testing modules (docs/sdk.md)",
    APPS,
    ("host",),
    APP_TEST_SDK,
)


def modules_under(folder: str) -> Iterator[Module]:
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield Module(name, path)


def check(rule: Rule, module: Module) -> list[str]:
    source = module.path.read_text(encoding="utf-8")
    is_package = module.path.name == "__init__.py"
    imports = imports_of(source, module.name, is_package=is_package)
    return rule.violations(module.name, imports, str(module.path.relative_to(ROOT)))


HOST_MODULES = list(modules_under("host"))
APP_MODULES = list(modules_under("plugins")) + list(modules_under("example_connector_app"))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.rooms[0])
def test_host_rooms_keep_their_doors(rule: Rule) -> None:
    modules = [m for m in HOST_MODULES if under(m.name, rule.rooms)]
    if not modules:
        pytest.skip(f"no module under {rule.rooms[0]} yet; rule waits: {rule.why}")
    problems = [p for m in modules for p in check(rule, m)]
    assert not problems, "\n".join(problems)


def test_apps_import_only_the_public_sdk() -> None:
    assert APP_MODULES, "no app module found under plugins/ or example_connector_app/"
    problems = [p for m in APP_MODULES for p in check(APP_TEST_RULE if m.is_test else APP_RULE, m)]
    assert not problems, "\n".join(problems)


# Each rule can fail: a small synthetic module that breaks it.
VIOLATIONS = [
    ("host.server.app", False, "def f():\n    from host.client import ConnectorClient\n", 2),
    ("host.server", True, "from host import client\n", 1),
    ("host.client", False, "import host.server\n", 1),
    ("host.registry", True, "x = 1\n\ndef f():\n    import httpx\n", 4),
    ("host.registry.records", False, "import click\n", 1),
    ("host.protocol.ops", False, "from ..cli import errors\n", 1),
    ("host.protocol", True, "from ..registry import Registry\n", 1),
    ("host.admin.connections", False, "from fastapi import FastAPI\n", 1),
    ("host.admin", True, "def f():\n    import click\n", 2),
    ("host.sync.engine", False, "def f():\n    from host.cli.errors import fail\n", 2),
    ("host.sync", True, "from ..web import app\n", 1),
    ("host.sync.queue", False, "import starlette.responses\n", 1),
    ("host.sync.settings", False, "import click\n", 1),
]


@pytest.mark.parametrize(("module", "is_package", "source", "line"), VIOLATIONS)
def test_each_rule_catches_a_violation(
    module: str, is_package: bool, source: str, line: int
) -> None:
    imports = imports_of(source, module, is_package=is_package)
    problems = [p for rule in RULES for p in rule.violations(module, imports, "x.py")]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"x.py:{line}: {module} imports ")


def test_the_app_rule_catches_a_private_import() -> None:
    source = "from host import Connector\nfrom host.connector import validate_declaration\n"
    imports = imports_of(source, "plugins.app.connector")
    problems = APP_RULE.violations("plugins.app.connector", imports, "c.py")
    assert problems == [
        "c.py:2: plugins.app.connector imports host.connector "
        "(apps import only the public host SDK (docs/sdk.md))"
    ]
    client = imports_of("import host.client\n", "plugins.app.tests.test_x")
    assert APP_TEST_RULE.violations("plugins.app.tests.test_x", client, "t.py") == []
    assert APP_RULE.violations("plugins.app.connector", client, "a.py") != []


def test_allowed_imports_pass() -> None:
    source = "from host.protocol import scrub\nimport sqlite3\nfrom . import secrets\n"
    imports = imports_of(source, "host.registry", is_package=True)
    assert {i.name for i in imports} >= {"host.protocol.scrub", "host.registry.secrets"}
    assert [p for rule in RULES for p in rule.violations("host.registry", imports, "r.py")] == []
