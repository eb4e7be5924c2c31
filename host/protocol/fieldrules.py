"""The v1.1 field metadata at work: conditions between config fields, groups, patterns.

One place for the rules, so the connector host, the admin side (CLI and web), the app loader
and the conformance suite agree: which fields a form shows given the values so far
(`visible_keys`), which are mandatory (`required`), in which order and under which titles a
long form asks them (`grouped`), whether a value matches its field's pattern
(`pattern_error`), and what is wrong with a declaration (`declaration_problems`).

Patterns come from connectors, and a connector can be anything on the network: a pattern is
compiled once (cached), must be short, may not hold what makes Python's backtracking matcher
take exponential time (nested repetition, backreferences, overlapping alternatives under a
repetition), and is only ever run on values of at most PATTERN_VALUE_LIMIT characters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from host.connector import Access, Condition, Field, FieldType

PATTERN_LIMIT = 500
"""The longest pattern a field may declare, in characters."""

PATTERN_VALUE_LIMIT = 1024
"""The longest value checked against a pattern; a longer one is refused unchecked."""

PATTERN_TYPES = (FieldType.TEXT, FieldType.PASSWORD)
"""The field types a pattern applies to (their values are text)."""

CONDITION_TYPES = (FieldType.CHECKBOX, FieldType.TEXT, FieldType.INTEGER, FieldType.DOUBLE)
"""The field types a condition may name (list fields too: their values are item keys)."""


class PatternError(ValueError):
    """A pattern that does not compile or could take too long; the message says why."""


# --- patterns ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled pattern, once per distinct pattern; PatternError when it is refused."""
    if len(pattern) > PATTERN_LIMIT:
        raise PatternError(f"is {len(pattern)} characters long; at most {PATTERN_LIMIT}")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"is not a valid regular expression: {exc}") from None
    danger = _danger(pattern)
    if danger:
        raise PatternError(f"could take very long to match: {danger}")
    return compiled


def pattern_error(item: Field, value: Any) -> str | None:
    """Why a typed value does not satisfy its field's pattern, or None (no pattern, empty)."""
    if not item.pattern or item.type not in PATTERN_TYPES or not isinstance(value, str):
        return None
    if value == "":
        return None
    try:
        compiled = compile_pattern(item.pattern)
    except PatternError as exc:
        return f"cannot be checked: the connector's pattern {exc}"
    if len(value) > PATTERN_VALUE_LIMIT:
        return (
            f"is {len(value)} characters long; at most {PATTERN_VALUE_LIMIT} are checked "
            "against the field's pattern"
        )
    if compiled.fullmatch(value):
        return None
    if item.pattern_message:
        return item.pattern_message
    shown = item.pattern if len(item.pattern) <= 80 else item.pattern[:77] + "..."
    return f"does not match the pattern {shown}"


def _danger(pattern: str) -> str:
    """What in a pattern makes backtracking blow up, or "" (a heuristic: star height > 1,
    backreferences, alternatives that can start alike under a repetition)."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        tree = _parser.parse(pattern)
        consts = _parser
    except Exception:  # pragma: no cover - a future Python without the private parser
        return ""
    return _walk(tree, consts)


def _walk(items: Any, c: Any) -> str:
    for op, arg in items:
        found = ""
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, body = arg
            inner = _inner_repeat(body, c)
            unbounded = high == c.MAXREPEAT
            if high > 1 and inner and (unbounded or (inner == "unbounded" and high > 2)):
                return "a repetition inside a repetition (make the inner one possessive: a++)"
            if high != low and _overlapping_branches(body, c):
                return "alternatives that can match alike under a repetition"
            found = _walk(body, c)
        elif op in (c.GROUPREF, c.GROUPREF_EXISTS):
            return "a backreference"
        elif op is c.SUBPATTERN:
            found = _walk(arg[-1], c)
        elif op is c.BRANCH:
            found = next((f for f in (_walk(b, c) for b in arg[1]) if f), "")
        elif op in (c.ASSERT, c.ASSERT_NOT):
            found = _walk(arg[1], c)
        # ATOMIC_GROUP and POSSESSIVE_REPEAT are never backtracked into: left alone.
        if found:
            return found
    return ""


def _inner_repeat(items: Any, c: Any) -> str:
    """ "unbounded" or "bounded" when `items` holds a variable backtracking repetition."""
    kind = ""
    for op, arg in items:
        found = ""
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, body = arg
            if high == c.MAXREPEAT:
                return "unbounded"
            found = "bounded" if high != low else _inner_repeat(body, c)
        elif op is c.SUBPATTERN:
            found = _inner_repeat(arg[-1], c)
        elif op is c.BRANCH:
            kinds = {_inner_repeat(b, c) for b in arg[1]}
            found = "unbounded" if "unbounded" in kinds else ("bounded" if kinds - {""} else "")
        if found == "unbounded":
            return found
        kind = kind or found
    return kind


def _overlapping_branches(items: Any, c: Any) -> bool:
    """An alternation under a repetition whose branches may start alike (an empty branch,
    a class or a dot counts as overlapping: a heuristic that errs on the safe side)."""
    for op, arg in items:
        if op is c.SUBPATTERN and _overlapping_branches(arg[-1], c):
            return True
        if op is c.BRANCH:
            firsts: list[object] = []
            for branch in arg[1]:
                first = branch[0] if len(branch) else None
                if first is None or first[0] is not c.LITERAL:
                    return True
                firsts.append(first[1])
            if len(set(firsts)) != len(firsts):
                return True
    return False


# --- conditions ----------------------------------------------------------------------------


def conditions(item: Field) -> list[tuple[str, Condition]]:
    """The field's conditions, named: [("visible_when", ...), ("required_when", ...)]."""
    return [
        (name, cond)
        for name, cond in (
            ("visible_when", item.visible_when),
            ("required_when", item.required_when),
        )
        if cond is not None
    ]


def typed_values(
    fields: Iterable[Field], values: Mapping[str, Any], *, strict: bool = False
) -> dict[str, Any]:
    """The values conditions compare: each settable field's typed value, left out when it
    is empty or does not parse (no condition holds on a value that is wrong)."""
    from host.protocol.values import FieldValueError, coerce_value

    typed: dict[str, Any] = {}
    for item in fields:
        raw = values.get(item.key)
        if not item.settable or raw is None or (raw == "" and item.type is not FieldType.CHECKBOX):
            continue
        try:
            typed[item.key] = coerce_value(item, raw, strict=strict)
        except FieldValueError:
            continue
    return typed


def visible_keys(fields: Iterable[Field], values: Mapping[str, Any]) -> set[str]:
    """The keys of the fields a form shows, given typed values (a field without a
    visible_when always; one with it while its condition holds on a shown field's value).
    Fields caught in a cycle (refused at load, but a remote connector may send one) show."""
    by_key = {f.key: f for f in fields}
    shown: dict[str, bool] = {}

    def resolve(key: str, path: tuple[str, ...]) -> bool:
        if key in shown:
            return shown[key]
        item = by_key[key]
        cond = item.visible_when
        if cond is None or key in path or cond.field in path:
            result = True
        elif cond.field not in by_key:
            result = False
        else:
            result = resolve(cond.field, (*path, key)) and cond.holds(values.get(cond.field))
        shown[key] = result
        return result

    return {key for key in by_key if resolve(key, ())}


def required(item: Field, values: Mapping[str, Any], visible: set[str]) -> bool:
    """Whether a shown field must have a value: mandatory, or its required_when holds."""
    if item.key not in visible or not item.settable:
        return False
    if item.access is Access.MANDATORY:
        return True
    cond = item.required_when
    return cond is not None and cond.field in visible and cond.holds(values.get(cond.field))


def grouped(fields: Iterable[Field]) -> list[tuple[str, list[Field]]]:
    """Fields in rank order, gathered into their groups; a group is placed where its first
    field ranks, fields without a group ("") form untitled runs between groups."""
    ordered = sorted(fields, key=lambda f: f.rank)
    groups: list[tuple[str, list[Field]]] = []
    index: dict[str, int] = {}
    for item in ordered:
        if not item.group:
            if groups and not groups[-1][0]:
                groups[-1][1].append(item)
            else:
                groups.append(("", [item]))
            continue
        if item.group not in index:
            index[item.group] = len(groups)
            groups.append((item.group, []))
        groups[index[item.group]][1].append(item)
    return groups


# --- declarations --------------------------------------------------------------------------


def declaration_problems(fields: Iterable[Field]) -> list[str]:
    """What is wrong with the v1.1 metadata of a set of config fields: conditions naming a
    field that is not there or cannot be compared, values of the wrong type, cycles,
    patterns that do not compile or are refused, defaults that do not match their pattern."""
    items = list(fields)
    return [*condition_problems(items), *pattern_problems(items)]


def condition_problems(fields: Iterable[Field]) -> list[str]:
    """Conditions naming a missing or incomparable field, values of the wrong type, cycles."""
    from host.protocol.values import FieldValueError, coerce_value

    items = list(fields)
    by_key = {f.key: f for f in items}
    problems: list[str] = []
    for item in items:
        for name, cond in conditions(item):
            other = by_key.get(cond.field)
            where = f"field {item.key!r}: {name}"
            if cond.field == item.key:
                problems.append(f"{where} names the field itself")
                continue
            if other is None:
                problems.append(f"{where} names {cond.field!r}, which is not a config field")
                continue
            if not (other.type in CONDITION_TYPES or other.type is FieldType.LIST) or (
                other.access is Access.READONLY
            ):
                problems.append(
                    f"{where} names {cond.field!r}, a {other.access.value} {other.type.value} "
                    "field; a condition can only name a checkbox, text, integer, double or "
                    "list field the admin sets"
                )
                continue
            for value in cond.values:
                try:
                    coerce_value(other, value, strict=True)
                except FieldValueError as exc:
                    problems.append(f"{where} compares {cond.field!r} with {value!r}: {exc}")
    problems.extend(_cycles(by_key))
    return problems


def pattern_problems(fields: Iterable[Field]) -> list[str]:
    """Patterns on fields that take none, that do not compile or are refused, defaults that
    do not match, messages without a pattern."""
    problems: list[str] = []
    for item in fields:
        if not item.pattern:
            if item.pattern_message:
                problems.append(f"field {item.key!r}: pattern_message without a pattern")
            continue
        if item.type not in PATTERN_TYPES:
            problems.append(
                f"field {item.key!r}: a pattern applies to text and password fields, "
                f"not {item.type.value}"
            )
            continue
        try:
            compile_pattern(item.pattern)
        except PatternError as exc:
            problems.append(f"field {item.key!r}: pattern {item.pattern!r} {exc}")
            continue
        default = item.default
        if isinstance(default, str) and default and pattern_error(item, default):
            problems.append(
                f"field {item.key!r}: default {default!r} does not match its pattern "
                f"{item.pattern!r}"
            )
    return problems


def _cycles(by_key: Mapping[str, Field]) -> list[str]:
    """visible_when chains that come back to where they started (each reported once)."""
    problems: list[str] = []
    reported: set[str] = set()
    for start in by_key:
        path: list[str] = []
        key: str | None = start
        while key is not None and key in by_key and key not in path:
            path.append(key)
            cond = by_key[key].visible_when
            key = cond.field if cond is not None else None
        if key is not None and key in path:
            loop = path[path.index(key) :]
            if not reported.intersection(loop):
                reported.update(loop)
                chain = " -> ".join([*loop, key])
                problems.append(f"visible_when conditions form a cycle: {chain}")
    return problems
