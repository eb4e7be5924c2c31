"""Helpers the test modules import (conftest holds the fixtures)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from host import Connection

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"

WriteExport = Callable[..., Path]
"""write_export({"customers.csv": "..."}, encoding="utf-8") -> the export directory."""


def connection(config: Mapping[str, Any]) -> Connection:
    """A saved connection as the host hands it to the connector."""
    return Connection("3f1c2b8e-0000-4000-8000-000000000001", dict(config))
