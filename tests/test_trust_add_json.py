"""Issue #10 item 17: `connections add --json` prints a JSON result on a failed test too."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

Invoke = Callable[..., Result]


def test_a_failed_test_prints_a_json_result_and_exits_3(
    invoke: Invoke, erpsync_home: Path, mock_server: object
) -> None:
    """A script reading stdout as JSON gets an answer, not an empty stream."""
    url, token_file = mock_server.url, str(mock_server.token_file)  # type: ignore[attr-defined]
    assert invoke("connectors", "add", "mock-erp", url, "--token-file", token_file).exit_code == 0
    wrong = "not-the-mock-password"
    result = invoke(
        *["connections", "add", "acme", "--connector", "mock-erp", "--no-input", "--json"],
        *["--config", "username=demo", "--config", f"password={wrong}"],
    )
    assert result.exit_code == 3, result.output
    answer = json.loads(result.stdout)
    assert answer["saved"] is False
    assert answer["test"]["state"] == "error"
    assert answer["test"]["error_code"] == "login_failed"
    assert "wrong username or password" in answer["test"]["message"]
    assert "connection test failed" in result.stderr
    assert wrong not in result.output
    assert json.loads(invoke("connections", "list", "--json").stdout) == []


def test_validation_and_a_failed_test_answer_in_the_same_shape(
    invoke: Invoke, erpsync_home: Path
) -> None:
    """Both failures say saved: false, with what failed under its own key."""
    assert invoke("connectors", "add", "m", "app:mock").exit_code == 0
    invalid = invoke("connections", "add", "a", "--connector", "m", "--no-input", "--json")
    assert invalid.exit_code == 1
    assert set(json.loads(invalid.stdout)) == {"saved", "validation"}
    failed = invoke(
        *["connections", "add", "a", "--connector", "m", "--no-input", "--json"],
        *["--config", "username=demo", "--config", "password=nope"],
    )
    assert failed.exit_code == 3
    assert set(json.loads(failed.stdout)) == {"saved", "test"}
