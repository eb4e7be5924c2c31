"""Fake installed sync apps: real `<dist>-<version>.dist-info` folders on sys.path, so the host
discovers them through importlib_metadata entry points exactly as it finds pip-installed ones."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class FakeApp:
    name: str
    distribution: str
    version: str
    module: str
    path: Path


@dataclass
class AppFactory:
    """`factory("name", source)` writes the module and its dist-info, and puts them on sys.path."""

    root: Path
    monkeypatch: pytest.MonkeyPatch
    modules: list[str] = field(default_factory=list)

    def __call__(
        self,
        name: str,
        source: str,
        *,
        distribution: str | None = None,
        version: str = "1.0.0",
        module: str | None = None,
        target: str | None = None,
    ) -> FakeApp:
        module = module or "erpsync_test_" + name.replace("-", "_")
        distribution = distribution or f"erpsync-test-{name}"
        # One directory per app: importlib_metadata caches directory listings by mtime.
        path = self.root / name
        path.mkdir(parents=True)
        (path / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        dist_info = path / f"{distribution.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n", encoding="utf-8"
        )
        (dist_info / "entry_points.txt").write_text(
            f"[erpsync.apps]\n{name} = {target or module}\n", encoding="utf-8"
        )
        self.modules.append(module)
        sys.modules.pop(module, None)
        self.monkeypatch.syspath_prepend(str(path))
        importlib.invalidate_caches()
        return FakeApp(name, distribution, version, module, path)

    def pythonpath(self) -> str:
        """PYTHONPATH for a subprocess that should see these apps too."""
        return os.pathsep.join(str(p) for p in sorted(self.root.iterdir()))

    def cleanup(self) -> None:
        for module in self.modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()


GOOD_APP = """
    from host import ConfigField, Connector, FieldType, Response, hookimpl


    class TestConnector(Connector):
        id = {cid!r}
        name = "Test ERP {cid}"
        vendor = "Tests"
        version = "2.0.0"
        config_fields = [ConfigField("path", "Path", FieldType.TEXT)]

        def test_config(self, config):
            return Response.success("fine")


    @hookimpl
    def register_connectors(register):
        register(TestConnector())
"""


def good_app_source(connector_id: str) -> str:
    """Source of a valid app that registers one connector with this id."""
    return GOOD_APP.format(cid=connector_id)


def write_app_project(
    project: Path, distribution: str, version: str, app_name: str, module: str, source: str
) -> Path:
    """A pip-installable sync app project (hatchling, one module, entry point
    `erpsync.apps`), for tests that build wheels or install it with a real pip."""
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(source, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{distribution}"
            version = "{version}"

            [project.entry-points."erpsync.apps"]
            {app_name} = "{module}"

            [tool.hatch.build.targets.wheel]
            packages = ["{module}"]
            """
        ),
        encoding="utf-8",
    )
    return project
