"""Mutation test of the conformance suite: a connector with switchable, realistic defects
(tests/helpers/defective_connector.py); each defect on its own must make the check named for
it fail, and the defect-free connector must pass every check, strictly."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from helpers import MOCK_CONFIG
from helpers.defective_connector import DEFECTS, defective_app

from host.client import ConnectorClient
from host.conformance import Status, SuiteReport, run_suite

TOKEN = "mutation-token"
BULLETS = {
    "auth": ("auth.",),
    "secrets": ("secrets.",),
    "invalid config": ("config.invalid",),
    "errors on a saved connection": ("errors.saved_connection", "get.unknown_keys"),
    "values on every read path": ("values.types",),
    "search": ("search.",),
    "lists": ("lists.",),
    "capabilities and stamps": ("capabilities.", "stamps."),
}


def run(defects: set[str], *, only: tuple[str, ...] = (), timeout: float = 15.0) -> SuiteReport:
    app = defective_app(defects, TOKEN)

    async def go() -> SuiteReport:
        transport = httpx.ASGITransport(app=app)
        async with ConnectorClient(
            "http://app/connectors/defective", token=TOKEN, transport=transport, timeout=timeout
        ) as client:
            return await run_suite(
                client, config=dict(MOCK_CONFIG), write=True, only=only, strict=True
            )

    return asyncio.run(go())


def test_the_defect_free_connector_passes_every_check_strictly() -> None:
    report = run(set())
    assert report.ok, [(r.id, r.status.value, r.message) for r in report.failed()]
    assert report.counts()["skip"] == 0


def test_there_are_thirty_defects_covering_every_bullet() -> None:
    assert len(DEFECTS) >= 30
    caught_by = [check for check, _ in DEFECTS.values()]
    for bullet, prefixes in BULLETS.items():
        assert any(c.startswith(prefixes) for c in caught_by), bullet


@pytest.mark.slow
@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defect_is_caught_by_its_check(defect: str) -> None:
    check_id, what = DEFECTS[defect]
    report = run({defect}, only=(check_id,))
    result = report.result(check_id)
    assert result.status is Status.FAIL, f"{defect} ({what}) passed {check_id}: {result.message}"


def test_the_report_never_shows_a_password_even_when_the_connector_echoes_it() -> None:
    report = run({"echo_password_test", "password_in_list"}, only=("secrets.", "test_config."))
    assert report.result("secrets.canary").failed
    text = json.dumps(report.to_dict())
    assert MOCK_CONFIG["password"] not in text


def test_a_hanging_operation_fails_its_check_alone_naming_it() -> None:
    started = time.monotonic()
    report = run({"hang_on_lists"}, only=("lists.", "connection.lifecycle"), timeout=0.5)
    hung = report.result("lists.unique_keys")
    assert hung.failed and "hung" in hung.message and "/lists/" in hung.message, hung.message
    assert report.result("connection.lifecycle").status is Status.PASS  # the run went on
    assert time.monotonic() - started < 60


def _cli_json(invoke: Any, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("apps", "check", *args, "--json")
    return result.exit_code, json.loads(result.stdout)


def test_json_is_always_a_document_and_a_wrong_base_url_gets_a_hint(invoke: Any) -> None:
    code, document = _cli_json(invoke, "http://127.0.0.1:9/connectors/none", "--timeout", "1")
    assert code == 4 and document["ok"] is False and document["checks"] == []
    assert "cannot connect" in document["error"]
    code, document = _cli_json(invoke, "http://127.0.0.1:9/connectors/none/v1", "--timeout", "1")
    assert "without /v1" in document["hint"]


def test_strict_turns_a_skip_into_a_failure(invoke: Any) -> None:
    loose = invoke("apps", "check", "mock", "--only", "write.create")
    strict = invoke("apps", "check", "mock", "--only", "write.create", "--strict")
    assert loose.exit_code == 0 and "SKIP" in loose.stdout
    assert strict.exit_code == 3 and "skipped (--strict)" in strict.stderr
