"""Fixtures shared by the tests: the connector, the sample export and a writer for variants."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from csv_support import SAMPLE_DIR, WriteExport

from erpsync_example_csv import CsvErpConnector
from erpsync_example_csv.confine import ROOT_ENV


@pytest.fixture(autouse=True)
def _export_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The connector reads only below its operator's root: here the test's own tmp_path and
    the sample export. Tests of the confinement itself set their own."""
    monkeypatch.setenv(ROOT_ENV, os.pathsep.join([str(tmp_path), str(SAMPLE_DIR)]))
    return tmp_path


@pytest.fixture
def connector() -> CsvErpConnector:
    return CsvErpConnector()


@pytest.fixture
def sample_config() -> dict[str, Any]:
    return {"directory": str(SAMPLE_DIR)}


@pytest.fixture
def write_export(tmp_path: Path) -> WriteExport:
    """Write files into tmp_path/export: write_export({"customers.csv": "..."}, encoding=...)."""
    directory = tmp_path / "export"
    directory.mkdir()

    def write(files: Mapping[str, str | bytes], encoding: str = "utf-8") -> Path:
        for name, content in files.items():
            data = content if isinstance(content, bytes) else content.encode(encoding)
            (directory / name).write_bytes(data)
        return directory

    return write


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A copy of the sample export the test may change."""
    return Path(shutil.copytree(SAMPLE_DIR, tmp_path / "sample"))
