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


def heavy_modules_after_help(commands: list[list[str]], heavy: tuple[str, ...]) -> list[str]:
    """Which of `heavy` a fresh interpreter has imported after printing the help of each of
    `commands` (e.g. [["web", "--help"]]): help must stay fast, so heavy imports wait for use."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from host.cli import cli\n"
        f"for args in {commands!r}:\n"
        "    try:\n"
        "        cli.main(args, prog_name='erpsync', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    import ast

    found: list[str] = ast.literal_eval(out.strip().splitlines()[-1])
    return found
