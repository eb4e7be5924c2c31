"""Checks that invalid config is refused, by config test and by saving a connection alike:
each mandatory field blanked on its own, values of the wrong JSON type, text over its
max length, list values that are not an item of the list."""

from __future__ import annotations

from typing import Any

from host.conformance.checks.registry import check
from host.conformance.context import Context, fresh_guid
from host.conformance.model import Need, fail, skip
from host.connector import Field, FieldType
from host.protocol import operations as ops

NOT_AN_ITEM = "erpsync-conformance-not-an-item"

WRONG_TYPE: dict[FieldType, Any] = {
    FieldType.TEXT: 12,
    FieldType.PASSWORD: 12,
    FieldType.LIST: 12,
    FieldType.INTEGER: "1",
    FieldType.DOUBLE: "1.5",
    FieldType.CHECKBOX: "yes",
    FieldType.DATETIME: 20260131,
}
"""A value of the wrong JSON type per field type (a string where a number belongs ...)."""


def variants(fields: list[Field], values: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(what, config) pairs that each break exactly one rule of one field (a field shown
    with these values: a hidden one's value is dropped, never checked)."""
    from host.protocol.fieldrules import required, typed_values, visible_keys

    typed = typed_values(fields, values, strict=True)
    visible = visible_keys(fields, typed)
    out: list[tuple[str, dict[str, Any]]] = []
    for item in fields:
        if not item.settable or item.key not in visible:
            continue
        if required(item, typed, visible):
            blank: Any = "" if item.type in (FieldType.TEXT, FieldType.PASSWORD) else None
            out.append((f"{item.key} blank", {**values, item.key: blank}))
        out.append(
            (f"{item.key} = {WRONG_TYPE[item.type]!r}", {**values, item.key: WRONG_TYPE[item.type]})
        )
        if item.max_length and item.type in (FieldType.TEXT, FieldType.PASSWORD):
            long = "x" * (item.max_length + 1)
            out.append(
                (f"{item.key} of {item.max_length + 1} characters", {**values, item.key: long})
            )
        if item.type is FieldType.LIST:
            out.append((f"{item.key} = {NOT_AN_ITEM!r}", {**values, item.key: NOT_AN_ITEM}))
    return out


async def _accepted(ctx: Context, method: str, path: str, config: dict[str, Any]) -> str:
    """'' when the config was refused as the docs say; else what came back."""
    status, body, text = await ctx.raw_answer(method, path, json={"config": config})
    if not isinstance(body, dict):
        return f"HTTP {status} {text[:60]!r}"
    if body.get("ok") is not False:
        return f"accepted (HTTP {status}, state {body.get('state')!r})"
    if ctx.minor >= 1 and (status, body.get("error_code")) != (422, "invalid_config"):
        return f"HTTP {status} error_code {body.get('error_code')!r}"
    return ""


async def _invalid_refused(ctx: Context, operation: str) -> str:
    fields = await ctx.config_fields()
    values = await ctx.config()
    cases = variants(fields, values)
    if not cases:
        raise skip("no settable config fields")
    problems = []
    for what, config in cases:
        if operation == "test_config":
            got = await _accepted(ctx, ops.TEST_CONFIG.method, ops.TEST_CONFIG.path, config)
        else:
            guid = fresh_guid()
            got = await _accepted(
                ctx, ops.SAVE_CONNECTION.method, ops.SAVE_CONNECTION.url(guid), config
            )
            if got:
                await ctx.raw_answer(ops.DELETE_CONNECTION.method, ops.DELETE_CONNECTION.url(guid))
        if got:
            problems.append(f"{what}: {got}")
    if problems:
        expected = "state error" + (", HTTP 422, error_code invalid_config" if ctx.minor else "")
        raise fail("; ".join(problems[:6]), expected=expected, got=problems[0])
    return f"{len(cases)} invalid configs refused"


@check(
    "config.invalid_test",
    "test config refuses each invalid value: blank mandatory, wrong type, too long, not in list",
    "Wire values are native JSON of the declared type; a test that passes anything saves junk.",
    needs=[Need.CONFIG],
)
async def config_invalid_test(ctx: Context) -> str | None:
    return await _invalid_refused(ctx, "test_config")


@check(
    "config.invalid_save",
    "save connection refuses each invalid value: blank mandatory, wrong type, long, not listed",
    "A saved connection with values the connector cannot use fails later, far from the cause.",
    needs=[Need.CONFIG],
)
async def config_invalid_save(ctx: Context) -> str | None:
    return await _invalid_refused(ctx, "save_connection")
