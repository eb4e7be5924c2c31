"""A small TOML writer for the home file (tomllib, in the standard library, reads it back).

Our own rather than tomli-w: the file reads best with a secret reference inline on its
key's line (`password = { env = "..." }`) and one sync field mapping per line, and tomli-w
writes every mapping as a `[table]` and chooses inline arrays by line length, with no
way to ask otherwise. The subset needed is small (tables, strings, numbers, booleans,
lists, inline tables); a property test checks that tomllib reads back what this writes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
INLINE_KEYS = (frozenset({"env"}), frozenset({"file"}))
"""Mappings written inline wherever they are: the secret references."""


def dumps(document: Mapping[str, Any]) -> str:
    """`document` (str keys; str, int, float, bool, list and mapping values; no None) as TOML."""
    lines: list[str] = []
    _table(lines, [], document)
    return "\n".join(lines).lstrip("\n") + "\n"


def key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else string(name)


def string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that TOML also escapes DEL."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _is_inline(value: Any) -> bool:
    return isinstance(value, Mapping) and frozenset(value) in INLINE_KEYS


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping) and not _is_inline(value)


def _table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    scalars = [(k, v) for k, v in table.items() if not _is_table(v)]
    tables = [(k, v) for k, v in table.items() if _is_table(v)]
    if path and (scalars or not tables):
        lines += ["", f"[{'.'.join(key(p) for p in path)}]"]
    for name, value in scalars:
        lines.append(f"{key(name)} = {_value(value, multiline=True)}")
    for name, value in tables:
        _table(lines, [*path, name], value)


def _value(value: Any, *, multiline: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        items = [_value(v) for v in value]
        one_line = "[" + ", ".join(items) + "]"
        if not multiline or (
            len(one_line) <= 80 and not any(isinstance(v, Mapping) for v in value)
        ):
            return one_line
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"cannot write {type(value).__name__} in TOML")
