"""The conformance suite's checks of field metadata v1.1: conditions name existing fields and
form no cycle, patterns compile and defaults match them, a hidden field is not demanded by
the connector's own config test; a 1.0 connector passes them as not applicable (--strict)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from helpers.apps import AppFactory, good_app_source
from helpers.fields_app import FIELDS_APP

from host import Access, ConfigField, Connector, FieldType, Response
from host.cli.errors import EXIT_CONNECTOR_REFUSED
from host.server import create_app
from host.server.run import Server

Invoke = Callable[..., Result]
RULE_CHECKS = (
    "config_fields.conditions",
    "config_fields.patterns",
    "test_config.hidden_not_demanded",
)
ONLY = [arg for check_id in RULE_CHECKS for arg in ("--only", check_id)]


def checks_of(result: Result, exit_code: int) -> dict[str, dict[str, Any]]:
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    return {c["id"]: c for c in json.loads(result.stdout)["checks"]}


def test_a_connector_using_every_kind_of_metadata_passes_strict(
    invoke: Invoke, make_app: AppFactory, erpsync_home: Path
) -> None:
    make_app("fields", FIELDS_APP)
    # it answers no actor operations: the other checks would skip, failing --strict
    checks = checks_of(invoke("apps", "check", "fields", "--strict", "--json", *ONLY), 0)
    for check_id in RULE_CHECKS:
        assert checks[check_id]["status"] == "pass", checks[check_id]
        assert "not applicable" not in checks[check_id]["message"], checks[check_id]
    assert checks["test_config.hidden_not_demanded"]["message"] == (
        "tested with file_path, log_file hidden; could not hide api_url"
    )  # hiding api_url takes source=file, which makes file_path mandatory: no value for it


def test_a_10_connector_passes_strict_with_the_rules_not_applicable(
    invoke: Invoke, make_app: AppFactory, erpsync_home: Path
) -> None:
    make_app("plain", good_app_source("plain"))
    result = invoke("apps", "check", "plain", "--strict", "--json", *ONLY)
    checks = checks_of(result, 0)
    for check_id in RULE_CHECKS:
        assert checks[check_id]["status"] == "pass"
        assert checks[check_id]["message"].startswith("not applicable: "), checks[check_id]


class BadRules(Connector):
    """Declarations the app loader would refuse, served by a bare connector host (as any
    connector elsewhere on the network could)."""

    id = "badrules"
    name = "Bad rules"
    vendor = "Tests"
    version = "1.0.0"
    config_fields = (
        ConfigField("mode", "Mode", rank=1),
        ConfigField("a", "A", visible_when={"field": "gone", "equals": "x"}, rank=2),
        ConfigField("b", "B", visible_when={"field": "c", "equals": "x"}, rank=3),
        ConfigField("c", "C", visible_when={"field": "b", "equals": "y"}, rank=4),
        ConfigField("d", "D", pattern="[a-z]+", default="ABC", rank=5),
        ConfigField("e", "E", pattern="(x+)+y", rank=6),
    )

    def test_config(self, config: Any) -> Response:
        return Response.success()


class Demanding(Connector):
    """Hides file_path unless source is file, then refuses any config without it."""

    id = "demanding"
    name = "Demanding"
    vendor = "Tests"
    version = "1.0.0"
    config_fields = (
        ConfigField("source", "Source", FieldType.CHECKBOX, default=True, rank=1),
        ConfigField(
            "file_path",
            "File path",
            access=Access.NORMAL,
            visible_when={"field": "source", "equals": False},
            rank=2,
        ),
    )

    def test_config(self, config: Any) -> Response:
        if not config.get("file_path"):
            return Response.error("file_path is missing", "", "invalid_config")
        return Response.success()


@pytest.fixture
def served() -> Iterator[str]:
    app = create_app({"badrules": BadRules(), "demanding": Demanding()}, token=None)
    with Server(app) as server:
        yield f"http://127.0.0.1:{server.port}/connectors"


def test_bad_conditions_and_patterns_fail_with_each_problem_named(
    invoke: Invoke, served: str, erpsync_home: Path
) -> None:
    result = invoke("apps", "check", served + "/badrules", "--json", *ONLY)
    checks = checks_of(result, EXIT_CONNECTOR_REFUSED)
    conditions = checks["config_fields.conditions"]
    assert conditions["status"] == "fail"
    assert (
        "field 'a': visible_when names 'gone', which is not a config field"
        in (conditions["message"])
    )
    assert "visible_when conditions form a cycle: b -> c -> b" in conditions["message"]
    patterns = checks["config_fields.patterns"]
    assert patterns["status"] == "fail"
    assert "field 'd': default 'ABC' does not match its pattern '[a-z]+'" in patterns["message"]
    assert "field 'e': pattern '(x+)+y' could take very long to match" in patterns["message"]


def test_a_config_test_demanding_a_hidden_field_fails(
    invoke: Invoke, served: str, erpsync_home: Path
) -> None:
    result = invoke("apps", "check", served + "/demanding", "--json", *ONLY)
    checks = checks_of(result, EXIT_CONNECTOR_REFUSED)
    hidden = checks["test_config.hidden_not_demanded"]
    assert hidden["status"] == "fail", hidden
    assert "with file_path hidden" in hidden["message"]
    assert "file_path is missing" in hidden["got"]
    assert checks["config_fields.conditions"]["status"] == "pass"
