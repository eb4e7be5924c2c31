"""Checks every search operator the protocol defines, on each searchable field type, with the
documented rules: text case-insensitive, `between` inclusive, negations exclude."""

from __future__ import annotations

from typing import Any

from host.conformance.checks.registry import check, per_type
from host.conformance.context import Context, error_code_of
from host.conformance.model import Need, fail, skip
from host.connector import Actor, Field, FieldType
from host.failures import CallFailed

MAX_PAGES = 10


def _other_case(text: str) -> str:
    flipped = text.swapcase()
    return flipped if flipped.casefold() == text.casefold() else text


def cases(item: Field, value: Any) -> list[tuple[str, list[Any], bool]]:
    """(operator, values, whether an actor holding `value` matches) for the field's type."""
    kind = item.type
    if kind is FieldType.TEXT and isinstance(value, str) and len(value) >= 3:
        v = _other_case(value)
        head, tail, mid = v[:2], v[-2:], v[1:-1]
        return [
            ("=", [v], True),
            ("begins", [head], True),
            ("contains", [mid], True),
            ("ends", [tail], True),
            ("between", [value, value], True),
            ("isnot", [v], False),
            ("notbegins", [head], False),
            ("notcontains", [mid], False),
            ("notends", [tail], False),
        ]
    if kind in (FieldType.INTEGER, FieldType.DOUBLE) and isinstance(value, int | float):
        if isinstance(value, bool):
            return []
        return [
            ("=", [value], True),
            (">=", [value], True),
            ("<=", [value], True),
            ("between", [value, value], True),
            (">", [value], False),
            ("<", [value], False),
            ("!=", [value], False),
        ]
    if kind is FieldType.CHECKBOX and isinstance(value, bool):
        return [("=", [value], True)]
    if kind is FieldType.LIST and isinstance(value, str) and value:
        return [("oneof", [value], True), ("notoneof", [value], False)]
    if kind is FieldType.DATETIME and isinstance(value, str) and value:
        return [
            ("=", [value], True),
            ("beforeOrEqual", [value], True),
            ("afterOrEqual", [value], True),
            ("between", [value, value], True),
            ("before", [value], False),
            ("after", [value], False),
        ]
    return []


async def _finds(ctx: Context, guid: str, actor_type: str, body: dict[str, Any], key: str) -> bool:
    """Whether the search finds the actor `key` (following up to MAX_PAGES pages)."""
    cursor = ""
    for _ in range(MAX_PAGES):
        page = await ctx.client.search_page(
            "search_advanced", guid, actor_type, body, limit=1000, cursor=cursor
        )
        if any(a.erp_key == key for a in page.actors):
            return True
        if not page.cursor:
            return False
        cursor = page.cursor
    return False


@check(
    "search.operators",
    "every operator of each searchable field's type finds or excludes an actor as documented",
    "Import filters with these operators; a wrong case rule or a `between` that excludes its "
    "ends silently loses actors.",
    needs=[Need.CONNECTION],
)
async def search_operators(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        try:
            searchable = await ctx.client.searchable_fields(guid, actor_type)
        except CallFailed as exc:
            if error_code_of(exc) == "not_supported":
                raise skip("no searchable fields") from None
            raise
        fields = {f.key: f for f in await ctx.actor_fields(actor_type)}
        sample: list[Actor] = await ctx.sample(actor_type)
        problems: list[str] = []
        tried = 0
        for key in searchable:
            item = fields.get(key)
            pick = next((a for a in sample if item and cases(item, a.field_values.get(key))), None)
            if item is None or pick is None:
                continue
            value = pick.field_values[key]
            for operator, values, matches in cases(item, value):
                body = {
                    "restrictions": [{"field_key": key, "operator": operator, "values": values}],
                    "field_keys": [key],
                }
                try:
                    found = await _finds(ctx, guid, actor_type, body, pick.erp_key)
                except CallFailed as exc:
                    problems.append(f"{key} {operator} {values!r}: {error_code_of(exc)}")
                    continue
                tried += 1
                if found != matches:
                    verb = "missed" if matches else "included"
                    problems.append(
                        f"{key} {operator} {values!r} {verb} {pick.erp_key} ({value!r})"
                    )
        if problems:
            raise fail(
                "; ".join(problems[:4]),
                expected="matches as docs/protocol.md defines each operator",
                got=problems[0],
            )
        if not tried:
            raise skip("no searchable field with a value among the first actors found")
        return f"{tried} restrictions"

    return await per_type(ctx, one)
