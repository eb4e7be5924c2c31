"""Values as an admin gives them on the command line: config values (one parser for
`connections add/edit` and `apps check`) and connector tokens (`read_token`). Command modules
share these from here, never from each other.

A password given as `--config password=...` sits in the process list (`ps`, /proc/PID/cmdline)
for every local user to read, and in shell history. So a value can also come from a file
(`--config-file FILE`, JSON or TOML; `--config KEY=@FILE`), from stdin (`--config KEY=-`), or
from a hidden prompt (`KEY=-` on a terminal). docs/security.md says why.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from host.cli.errors import CliError

STDIN = "-"
"""A value of exactly this reads the value from stdin (or a hidden prompt on a terminal)."""


def config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--config KEY=VALUE` (repeatable) and `--config-file FILE`, worded the same everywhere."""
    func = click.option(
        "--config-file",
        "config_file",
        type=click.Path(),
        metavar="FILE",
        help="A JSON or TOML file of config values (keep secrets here, mode 0600); "
        "--config values win over it.",
    )(func)
    return click.option(
        "--config",
        "config_pairs",
        multiple=True,
        metavar="KEY=VALUE",
        help="A config value (repeatable). KEY=@FILE reads it from FILE, KEY=- from stdin "
        "(a hidden prompt on a terminal); @@ starts a literal @. Secrets given inline are "
        "visible to other local users in ps.",
    )(func)


def parse_config_options(pairs: tuple[str, ...]) -> dict[str, str]:
    """KEY=VALUE pairs as given, unresolved (`@FILE` and `-` stay as they are)."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"--config {pair!r} is not KEY=VALUE")
        _check_key(key, "--config key")
        if key in values:
            raise CliError(f"--config {key} is given twice")
        values[key] = value
    return values


def read_config_input(
    pairs: tuple[str, ...],
    config_file: str | None,
    *,
    no_input: bool = False,
) -> dict[str, Any]:
    """The values of --config-file overlaid with --config, every `@FILE` and `-` resolved.

    Values from a file keep their JSON/TOML types; the others are text, parsed per field
    type later. Errors are one line naming the option and the file, never a value.
    """
    values: dict[str, Any] = read_config_file(config_file) if config_file else {}
    given = parse_config_options(pairs)
    from_stdin = [key for key, value in given.items() if value == STDIN]
    if len(from_stdin) > 1:
        raise CliError(
            f"--config {'=-, '.join(from_stdin)}=-: only one value can be read from stdin; "
            "give the others with KEY=@FILE or --config-file"
        )
    for key, value in given.items():
        values[key] = _resolve(key, value, no_input)
    return values


def read_config_file(path: str) -> dict[str, Any]:
    """A JSON or TOML file holding one object/table of config values (a `.toml` name is TOML,
    a `.json` name JSON; any other name is tried as JSON, then TOML)."""
    import json
    import tomllib

    from host.files import CONFIG_FILE_LIMIT, FileReadError, read_bounded_text

    what = f"--config-file {path!r}"
    try:
        text = read_bounded_text(path, what=what, limit=CONFIG_FILE_LIMIT)
    except FileReadError as exc:
        raise CliError(str(exc)) from None
    suffix = Path(path).suffix.lower()
    data: Any
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CliError(f"{what} is not TOML: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as json_error:
            if suffix == ".json":
                raise CliError(f"{what} is not JSON: {json_error}") from None
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                raise CliError(
                    f"{what} is neither JSON ({json_error}) nor TOML; expected an object of "
                    "config values"
                ) from None
    if not isinstance(data, dict):
        raise CliError(f"{what} must hold one JSON object (or TOML table) of config values")
    for key in data:
        _check_key(key, f"{what}: key")
    return {key: _plain(value) for key, value in data.items()}


def _check_key(key: str, what: str) -> None:
    if not key.isprintable():
        raise CliError(f"{what} {key!r} holds a control character; no field has it")


def _plain(value: Any) -> Any:
    """TOML dates and times as ISO text (JSON has none); everything else as it is."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _resolve(key: str, value: str, no_input: bool) -> str:
    if value == STDIN:
        return _from_stdin(key, no_input)
    if value.startswith("@@"):
        return value[1:]  # the escape: "@@x" is the literal "@x"
    if value.startswith("@"):
        return _from_file(key, value[1:])
    return value


def _from_file(key: str, path: str) -> str:
    from host.files import CONFIG_FILE_LIMIT, FileReadError, read_bounded_text

    if not path:
        raise CliError(
            f"--config {key}=@ names no file; expected {key}=@FILE (or @@ for a literal @)"
        )
    try:
        text = read_bounded_text(path, what=f"--config {key}=@{path}", limit=CONFIG_FILE_LIMIT)
    except FileReadError as exc:
        raise CliError(str(exc)) from None
    return _strip_newline(text)


def _from_stdin(key: str, no_input: bool) -> str:
    from host.files import CONFIG_FILE_LIMIT

    stream = sys.stdin
    if stream is None:
        raise CliError(f"--config {key}=-: there is no stdin to read the value from")
    if stream.isatty():
        if no_input:
            raise CliError(
                f"--config {key}=-: stdin is a terminal and --no-input forbids a prompt; "
                f"pipe the value in or use {key}=@FILE"
            )
        return str(click.prompt(f"{key} (hidden)", hide_input=True, err=True))
    text = stream.read(CONFIG_FILE_LIMIT + 1)
    if len(text) > CONFIG_FILE_LIMIT:
        raise CliError(f"--config {key}=-: stdin holds more than {CONFIG_FILE_LIMIT:,} characters")
    return _strip_newline(text)


def _strip_newline(text: str) -> str:
    """One trailing newline goes (editors and `echo` add it); anything else is the value."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def read_token(token: str | None, token_file: str | None, *, env: str | None = None) -> str | None:
    """The token of --token (or its environment variable) or --token-file, checked.

    A token with whitespace or control characters is refused here, naming the option and
    never the value; a token file is read bounded and must be a regular file.
    """
    from host.tokens import TokenError, check_token, read_token_file

    if token and token_file:
        raise CliError("give --token or --token-file, not both")
    try:
        if token_file:
            return read_token_file(token_file, what=f"--token-file {token_file!r}")
        if token:
            return check_token(token, what=f"--token (or ${env})" if env else "--token")
    except TokenError as exc:
        raise CliError(str(exc)) from None
    return None
