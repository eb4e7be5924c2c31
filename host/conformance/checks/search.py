"""Checks of searching: by parent, advanced."""

from __future__ import annotations

from host.client import CallFailed
from host.conformance.checks.registry import (
    check,
    per_type,
)
from host.conformance.context import (
    Context,
    error_code_of,
)
from host.conformance.model import (
    Need,
    fail,
    skip,
)
from host.connector import (
    FieldType,
    Restriction,
)


@check(
    "search.by_parent",
    "search by parent returns the children of the parent an actor names",
    "Import shows e.g. the persons of one customer.",
    needs=[Need.CONNECTION],
)
async def search_by_parent(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        sample = await ctx.sample(actor_type)
        child = next((a for a in sample if a.parent_erp_key and a.parent_actor_type), None)
        if child is None:
            raise skip("no actor with a parent among the first found")
        try:
            found = await ctx.client.search_by_parent(
                guid, actor_type, child.parent_actor_type, child.parent_erp_key
            )
        except CallFailed as exc:
            if error_code_of(exc) == "not_supported":
                raise skip("not supported") from None
            raise
        strays = [a.erp_key for a in found if a.parent_erp_key != child.parent_erp_key]
        if child.erp_key not in {a.erp_key for a in found} or strays:
            raise fail(
                f"children of {child.parent_actor_type} {child.parent_erp_key}: "
                + (f"{child.erp_key} is missing" if not strays else f"{strays[:5]} are not"),
                expected=f"actors with parent_erp_key {child.parent_erp_key!r}, incl. "
                f"{child.erp_key!r}",
                got=[(a.erp_key, a.parent_erp_key) for a in found][:10],
            )
        return f"{len(found)} children of {child.parent_erp_key}"

    return await per_type(ctx, one)


@check(
    "search.advanced",
    "advanced search with `=` on a searchable text field finds the actor holding that value",
    "Import searches with the searchable fields; restrictions are the criteria.",
    needs=[Need.CONNECTION],
)
async def search_advanced(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        fields = {f.key: f for f in await ctx.actor_fields(actor_type)}
        searchable = await ctx.client.searchable_fields(guid, actor_type)
        texts = [k for k in searchable if k in fields and fields[k].type is FieldType.TEXT]
        sample = await ctx.sample(actor_type)
        pick = next(
            (
                (actor, key)
                for actor in sample
                for key in texts
                if isinstance(actor.field_values.get(key), str) and actor.field_values[key]
            ),
            None,
        )
        if pick is None:
            raise skip("no searchable text field with a value among the first actors found")
        actor, key = pick
        value = actor.field_values[key]
        try:
            found = await ctx.client.search_advanced(
                guid, actor_type, [Restriction(key, "=", (value,))], [key]
            )
        except CallFailed as exc:
            if error_code_of(exc) == "not_supported":
                raise skip("not supported") from None
            raise
        wrong = [
            a.erp_key for a in found if str(a.field_values.get(key)).casefold() != value.casefold()
        ]
        if actor.erp_key not in {a.erp_key for a in found} or wrong:
            raise fail(
                f"{key} = {value!r}: "
                + (f"{actor.erp_key} is missing" if not wrong else f"{wrong[:5]} do not match"),
                expected=f"actors whose {key} is {value!r}, incl. {actor.erp_key!r}",
                got=[(a.erp_key, a.field_values.get(key)) for a in found][:10],
            )
        return f"{key} = {value!r}: {len(found)}"

    return await per_type(ctx, one)
