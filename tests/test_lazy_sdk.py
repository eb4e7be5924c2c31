"""`import host` (and so every `erpsync` command) does not import the SDK until a name of it is
used, yet every name the SDK exports is there, the same object as in its own module."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import host


def test_the_command_line_alone_imports_no_sdk_module() -> None:
    code = (
        "import sys, host.cli\n"
        "print(sorted(m for m in ('host.connector', 'host.hookspecs', 'host.protocol.values',"
        " 'host.search', 'dataclasses', 'pluggy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", host.__all__)
def test_every_exported_name_is_its_modules_object(name: str) -> None:
    value = getattr(host, name)
    module = importlib.import_module(host._MODULE_OF[name])
    assert value is getattr(module, name)
    assert name in dir(host)


def test_a_star_import_gives_every_exported_name() -> None:
    scope: dict[str, object] = {}
    exec("from host import *", scope)
    assert set(host.__all__) <= set(scope)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        host.Nope  # noqa: B018
    with pytest.raises(ImportError):
        exec("from host import Nope", {})
