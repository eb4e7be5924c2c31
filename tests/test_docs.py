"""The committed documents that are generated from code must match the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_committed_openapi_matches_the_served_document() -> None:
    from host.server.openapi import openapi_document

    committed = json.loads((ROOT / "docs/protocol/openapi.json").read_text(encoding="utf-8"))
    served = openapi_document()
    assert committed["paths"] == served["paths"], (
        "docs/protocol/openapi.json drifted: run python -m host.server.openapi > "
        "docs/protocol/openapi.json"
    )
    assert committed == json.loads(json.dumps(served))


def test_cli_reference_matches_the_help_text() -> None:
    from host.cli.reference import render

    committed = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/cli.md drifted: run python -m host.cli.reference > docs/cli.md"
    )


def test_every_exit_code_raised_is_documented() -> None:
    from host.cli import errors

    documented = set(errors.EXIT_CODES)
    declared = {v for k, v in vars(errors).items() if k.startswith("EXIT_") and isinstance(v, int)}
    assert declared == documented


@pytest.mark.parametrize(
    "path",
    ["docs/protocol.md", "docs/architecture.md", "README.md", "docs/cli.md", "docs/web.md"],
)
def test_documents_link_only_to_files_that_exist(path: str) -> None:
    import re

    text = (ROOT / path).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)\)", text):
        assert (ROOT / path).parent.joinpath(target).exists(), f"{path} links to missing {target}"


def test_tests_named_in_the_docs_exist() -> None:
    """docs/reliability.md and friends cite tests by node id; a renamed test must not dangle."""
    import re

    cited = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        cited |= set(
            re.findall(
                r"((?:example_connector_app/)?tests/[\w/]+\.py)::(\w+)",
                doc.read_text(encoding="utf-8"),
            )
        )
    assert cited, "no test is cited: the pattern no longer matches the docs"
    for path, name in sorted(cited):
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"def {name}\b", source), f"{path}::{name} is cited but does not exist"
