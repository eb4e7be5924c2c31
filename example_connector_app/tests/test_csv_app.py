"""The packaging a partner copies: the hook, the entry point, the version and the demo."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest

import erpsync_example_csv
from erpsync_example_csv import CsvErpConnector, register_connectors
from erpsync_example_csv.__main__ import main as demo

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def test_hook_registers_one_csv_connector() -> None:
    registered: list[object] = []
    register_connectors(register=registered.append)
    assert len(registered) == 1
    assert isinstance(registered[0], CsvErpConnector)
    assert hasattr(register_connectors, "erpsync_impl"), "missing @hookimpl"


def test_pyproject_declares_the_app() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == "erpsync-example-csv"
    assert project["version"] == CsvErpConnector.version == erpsync_example_csv.__version__
    assert project["dependencies"] == ["erpsync-host"]
    assert project["entry-points"]["erpsync.apps"] == {"example-csv": "erpsync_example_csv"}


def test_installed_entry_point_loads_in_the_host() -> None:
    try:
        dist = importlib.metadata.distribution("erpsync-example-csv")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("erpsync-example-csv is not installed (pip install -e example_connector_app)")
    [entry_point] = [ep for ep in dist.entry_points if ep.group == "erpsync.apps"]
    assert (entry_point.name, entry_point.value) == ("example-csv", "erpsync_example_csv")

    from host.pytest_plugin import load_connector

    # Loaded the way the host loads it; a broken app raises with the host's reason.
    assert isinstance(load_connector("example-csv"), CsvErpConnector)


def test_demo_runs_on_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo([]) == 0
    out = capsys.readouterr().out
    assert "test config: ok: Read 6 customers, 5 persons and 3 projects" in out
    assert "page 3: 2025-04-01T07:15:00Z  C1006  Vinter & Co" in out


def test_demo_fails_cleanly_on_a_bad_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo([str(tmp_path)]) == 1
    assert f"customers.csv is missing in {tmp_path}" in capsys.readouterr().out
