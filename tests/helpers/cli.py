"""Assertions on `click.testing.Result`s of the `erpsync` CLI."""

from __future__ import annotations

from click.testing import Result


def assert_one_line_error(result: Result, exit_code: int) -> str:
    """An expected failure: the documented exit code, one `Error:` line on stderr, no trace.

    Returns the error line.
    """
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    # click handled it (ClickException -> SystemExit); any other exception is a crash.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    text = result.stderr.strip()
    assert "\n" not in text, f"error output is not one line: {text!r}"
    assert text.startswith("Error: "), text
    assert "Traceback" not in result.output
    return text
