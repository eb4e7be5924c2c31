"""Checks of the v1.1 field metadata: conditions, patterns, and a config test that does not
demand what the form hides. A 1.0 connector declares none of it: these checks are then not
applicable (which passes, also under --strict)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from host.conformance.checks.registry import check
from host.conformance.context import Context, describe_response
from host.conformance.model import Need, fail, not_applicable
from host.connector import ALL_ZERO_GUID, Field, FieldType, Response
from host.failures import CallFailed
from host.protocol.fieldrules import (
    condition_problems,
    pattern_problems,
    typed_values,
    visible_keys,
)


@check(
    "config_fields.conditions",
    "visible_when and required_when name another config field, with values of its type, "
    "and form no cycle",
    "The dialog shows and requires fields by these conditions; one naming a missing field "
    "hides its field for good.",
)
async def config_fields_conditions(ctx: Context) -> str | None:
    return await _declared_rules(
        ctx,
        lambda f: bool(f.visible_when or f.required_when),
        condition_problems,
        "visible_when or required_when",
        "conditions on existing checkbox, text, number or list fields, no cycle",
        "conditions",
    )


@check(
    "config_fields.patterns",
    "patterns compile, stay clear of catastrophic backtracking, and defaults match them",
    "The host checks values against these patterns; one that does not compile or a default "
    "that does not match makes the form unusable.",
)
async def config_fields_patterns(ctx: Context) -> str | None:
    return await _declared_rules(
        ctx,
        lambda f: bool(f.pattern or f.pattern_message),
        pattern_problems,
        "a pattern",
        "valid, safe patterns on text or password fields, matched by defaults",
        "patterns",
    )


async def _declared_rules(
    ctx: Context,
    declares: Callable[[Field], bool],
    problems_of: Callable[[list[Field]], list[str]],
    what: str,
    expected: str,
    label: str,
) -> str:
    """Not applicable when no config field declares `what`; else the declaration's problems
    fail the check, one line each."""
    fields = await ctx.config_fields()
    declared = [f.key for f in fields if declares(f)]
    if not declared:
        raise not_applicable(f"no config field declares {what}")
    problems = problems_of(fields)
    if problems:
        raise fail("; ".join(problems), expected=expected, got=problems[0])
    return f"{label} of {', '.join(declared)}"


@check(
    "test_config.hidden_not_demanded",
    "test config does not demand a field its visible_when hides",
    "The host drops hidden values before the connector sees them; a test that asks for one "
    "can never pass.",
    needs=[Need.CONFIG],
)
async def test_config_hidden_not_demanded(ctx: Context) -> str | None:
    fields = await ctx.config_fields()
    conditional = [f for f in fields if f.visible_when is not None and f.settable]
    if not conditional:
        raise not_applicable("no config field declares visible_when")
    base = await ctx.config()
    tried: list[str] = []
    untried: list[str] = []
    for item in conditional:
        values = await _hiding(ctx, fields, base, item)
        if values is None:
            untried.append(item.key)
            continue
        response = await ctx.client.test_config(values)
        tried.append(item.key)
        if not response.ok and _names(response, item):
            raise fail(
                f"with {item.key} hidden (its visible_when does not hold), test config "
                f"refused naming it: {describe_response(response)}",
                expected=f"no demand for {item.key} while it is hidden",
                got=describe_response(response),
            )
    if not tried:
        raise not_applicable(
            "no values that hide " + ", ".join(untried) + " and fill every shown mandatory field"
        )
    note = f"tested with {', '.join(tried)} hidden"
    return note + (f"; could not hide {', '.join(untried)}" if untried else "")


async def _hiding(
    ctx: Context, fields: list[Field], base: dict[str, Any], item: Field
) -> dict[str, Any] | None:
    """Complete values over `base` in which `item` is hidden, or None when none was found:
    the field its condition names is given another value (the other checkbox state, another
    list item) or left empty."""
    from host.protocol.validation import validate_config

    cond = item.visible_when
    assert cond is not None
    if item.key not in visible_keys(fields, typed_values(fields, base)):
        return dict(base)
    other = next((f for f in fields if f.key == cond.field), None)
    if other is None:
        return None
    candidates: list[Any] = [None]
    if other.type is FieldType.CHECKBOX:
        candidates = [not base.get(other.key), *candidates]
    elif other.type is FieldType.LIST:
        try:
            items = await ctx.client.get_list(ALL_ZERO_GUID, other.list_name)
        except CallFailed:
            items = {}
        candidates = [*list(items)[:20], *candidates]
    for candidate in candidates:
        if candidate is not None and cond.holds(candidate):
            continue
        values = {k: v for k, v in base.items() if k != other.key}
        if candidate is not None:
            values[other.key] = candidate
        report = validate_config(fields, values)
        hidden = next(f for f in report.fields if f.key == item.key)
        if report.ok and not hidden.visible:
            return report.values()
    return None


def _names(response: Response, item: Field) -> bool:
    """Whether a refusal's texts name the field (its key or its label)."""
    text = f"{response.user_explanation} {response.tech_explanation}".lower()
    return item.key.lower() in text or (
        bool(item.display_name) and item.display_name.lower() in text
    )
