"""The connector reads only below the export root its operator sets (ERPSYNC_CSV_ROOT).

The attack (erpsync-host issue #10, item 14): anyone holding a serve token tests a config with
`directory=/etc`, `/root`, `/nonexistent`, and learns from "customers.csv is missing in /etc"
against "does not exist" which paths exist on the connector's machine.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from csv_support import SAMPLE_DIR, WriteExport

from erpsync_example_csv import CsvErpConnector
from erpsync_example_csv.confine import NOT_ALLOWED, ROOT_ENV, allowed_roots

CUSTOMERS = "ERP_KEY,NAME,LAST_MODIFIED\nC1,Acme,2025-01-31T12:00:00Z\n"


def outside_paths(tmp_path: Path) -> list[str]:
    """Existing and missing paths outside the root, system and not."""
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    return [
        "/",
        "/etc",
        "/proc/self",
        "/nonexistent-erpsync-probe",
        "/etc/nonexistent-erpsync-probe",
        str(outside),
        str(tmp_path / ".." / f"{tmp_path.name}-outside"),
        str(tmp_path / "export" / ".." / ".." / "x"),
        "../../../../etc",
        "~",
    ]


def test_a_directory_outside_the_root_gets_one_answer_whether_or_not_it_exists(
    connector: CsvErpConnector, tmp_path: Path
) -> None:
    answers = set()
    for directory in outside_paths(tmp_path):
        result = connector.test_config({"directory": directory})
        assert (result.ok, result.error_code) == (False, NOT_ALLOWED), (directory, result)
        assert "missing" not in result.user_explanation
        assert "does not exist" not in result.user_explanation
        answers.add(result.user_explanation.replace(repr(directory), "DIR"))
        assert result.tech_explanation == ""
    assert len(answers) == 1, answers


def test_a_symbolic_link_out_of_the_root_is_refused(
    connector: CsvErpConnector, tmp_path: Path, write_export: WriteExport
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-secret"
    outside.mkdir()
    (outside / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "linked-dir").symlink_to(outside, target_is_directory=True)
    result = connector.test_config({"directory": str(tmp_path / "linked-dir")})
    assert result.error_code == NOT_ALLOWED
    # A file link inside an allowed directory is caught too, when the file is read.
    export = write_export({})
    (export / "customers.csv").symlink_to(outside / "customers.csv")
    result = connector.test_config({"directory": str(export)})
    assert result.error_code == NOT_ALLOWED, result
    assert "Acme" not in result.user_explanation


def test_inside_the_root_the_usual_answers_stay(
    connector: CsvErpConnector, tmp_path: Path, write_export: WriteExport
) -> None:
    export = write_export({"customers.csv": CUSTOMERS})
    assert connector.test_config({"directory": str(export)}).ok
    assert connector.test_config({"directory": "export"}).ok  # relative to the first root
    missing = connector.test_config({"directory": str(tmp_path / "nowhere")})
    assert missing.error_code == "directory_missing"


def test_the_root_is_the_operators_choice(
    connector: CsvErpConnector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "exports"))
    assert connector.test_config({"directory": str(SAMPLE_DIR)}).error_code == NOT_ALLOWED
    monkeypatch.delenv(ROOT_ENV)
    # Unset: only the bundled sample export, so the demo works and nothing else is read.
    assert allowed_roots() == [Path(os.path.realpath(SAMPLE_DIR))]
    assert connector.test_config({"directory": str(SAMPLE_DIR)}).ok
    assert connector.test_config({"directory": str(tmp_path)}).error_code == NOT_ALLOWED


def test_over_the_protocol_a_token_holder_learns_nothing_about_other_paths(
    tmp_path: Path,
) -> None:
    """The attack as written: config tests over HTTP through the host's server, with a token."""
    from host.client import ConnectorClient
    from host.pytest_plugin import serve_connectors

    token = "serve-token-0123456789"

    async def probe(url: str, directory: str) -> str:
        async with ConnectorClient(url, token=token) as client:
            response = await client.test_config({"directory": directory})
            assert response.error_code == NOT_ALLOWED, (directory, response)
            return response.user_explanation.replace(repr(directory), "DIR")

    with serve_connectors({"example-csv": CsvErpConnector()}, token=token) as server:
        url = server.url("example-csv")
        answers = {asyncio.run(probe(url, d)) for d in outside_paths(tmp_path)}
    assert len(answers) == 1, answers
