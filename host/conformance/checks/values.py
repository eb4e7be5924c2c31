"""Checks that values read back match their declared field types on every read path (get,
search, changes), and that get leaves out keys the ERP does not have."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from host.conformance.checks.registry import check, per_type
from host.conformance.context import Context
from host.conformance.model import Need, fail, skip
from host.connector import Actor, Field, FieldType

NO_SUCH_KEY = "erpsync-conformance-no-such-key"


def value_problem(item: Field, value: Any) -> str:
    """'' when `value` is a native JSON value of the field's type (or null); else why not."""
    if value is None:
        return ""
    kind = item.type
    if kind is FieldType.CHECKBOX:
        ok = isinstance(value, bool)
    elif kind is FieldType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is FieldType.DOUBLE:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is FieldType.DATETIME:
        ok = isinstance(value, str) and _iso(value)
    else:
        ok = isinstance(value, str)
    return "" if ok else f"{item.key} ({kind.value}) is {type(value).__name__} {value!r}"


def _iso(text: str) -> bool:
    if not text:
        return True
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def actors_problems(actors: list[Actor], fields: dict[str, Field], path: str) -> list[str]:
    problems = []
    for actor in actors:
        for key, value in actor.field_values.items():
            item = fields.get(key)
            problem = value_problem(item, value) if item else f"{key} is not a field of the type"
            if problem:
                problems.append(f"{path} {actor.erp_key}: {problem}")
    return problems


@check(
    "values.types",
    "values read by get, search and changed since are native JSON of their field's type",
    "Sync maps values by declared type; a number sent as text is a bug on every read path.",
    needs=[Need.CONNECTION],
)
async def values_types(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        fields = {f.key: f for f in await ctx.actor_fields(actor_type)}
        sample = await ctx.sample(actor_type)
        page = await ctx.client.changes_page(guid, actor_type, "", limit=20)
        if not sample and not page.actors:
            raise skip("no actors")
        keys = [a.erp_key for a in (sample or page.actors)[:5]]
        got = await ctx.client.get_actors(guid, actor_type, keys)
        problems = actors_problems(sample, fields, "search")
        problems += actors_problems(got, fields, "get")
        problems += actors_problems(page.actors, fields, "changes")
        if problems:
            raise fail("; ".join(problems[:4]), expected="native JSON per type", got=problems[0])
        return f"{len(sample) + len(got) + len(page.actors)} actors"

    return await per_type(ctx, one)


@check(
    "get.unknown_keys",
    "get leaves out ERP keys it does not have and answers the others",
    "Sync asks for actors that may have been deleted in the ERP meanwhile.",
    needs=[Need.CONNECTION],
)
async def get_unknown_keys(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        sample = await ctx.sample(actor_type)
        if not sample:
            raise skip("no actors")
        asked = [NO_SUCH_KEY, sample[0].erp_key]
        got = await ctx.client.get_actors(guid, actor_type, asked)
        keys = [a.erp_key for a in got]
        if keys != [sample[0].erp_key]:
            raise fail(
                f"get {asked} answered {keys}",
                expected=[sample[0].erp_key],
                got=keys,
            )
        return None

    return await per_type(ctx, one)
