"""Every hook is documented and tested, as datasette requires of its plugin hooks: a hookspec
in host/hookspecs.py without a heading in docs/hooks.md, or that no test mentions, fails here.
The same goes for every name the SDK exports and docs/sdk.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import host
from host import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def hook_names() -> list[str]:
    """The hook specifications, found the way pluggy finds them (the marker attribute)."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return sorted(
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, marker)
    )


def test_there_are_hooks_to_check() -> None:
    assert "register_connectors" in hook_names()


@pytest.mark.parametrize("hook", hook_names())
def test_hook_is_documented_under_its_own_heading(hook: str) -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert re.search(rf"^#+ {re.escape(hook)}\(", text, re.MULTILINE), (
        f"docs/hooks.md has no '## {hook}(...)' heading"
    )


@pytest.mark.parametrize("hook", hook_names())
def test_hook_is_used_by_some_test(hook: str) -> None:
    tests = [p for p in (ROOT / "tests").rglob("test_*.py") if p.name != Path(__file__).name]
    assert any(hook in p.read_text(encoding="utf-8") for p in tests), (
        f"no test in tests/ mentions the hook {hook}"
    )


@pytest.mark.parametrize("name", host.__all__)
def test_every_sdk_name_is_in_the_sdk_reference(name: str) -> None:
    assert f"`{name}" in (DOCS / "sdk.md").read_text(encoding="utf-8"), (
        f"docs/sdk.md does not mention host.{name}"
    )


@pytest.mark.parametrize("path", ["partner-guide.md", "hooks.md", "sdk.md", "protocol.md"])
def test_partner_docs_link_only_to_files_that_exist(path: str) -> None:
    text = (DOCS / path).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (DOCS / target).exists(), f"docs/{path} links to missing {target}"


def test_the_protocol_reference_links_to_the_partner_docs() -> None:
    text = (DOCS / "protocol.md").read_text(encoding="utf-8")
    for page in ("partner-guide.md", "sdk.md", "hooks.md"):
        assert f"]({page}" in text, f"docs/protocol.md does not link to {page}"
