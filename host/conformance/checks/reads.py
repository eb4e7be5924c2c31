"""Checks of reading: actor types, fields, searchable fields, get and search field keys."""

from __future__ import annotations

from collections.abc import Sequence

from host.conformance.checks.registry import (
    actor_problems,
    check,
    duplicates,
    per_type,
    per_type_field_keys,
    pick_field_keys,
)
from host.conformance.context import (
    Context,
    describe,
)
from host.conformance.model import (
    Need,
    fail,
    skip,
)
from host.connector import (
    ACTOR_TYPES,
    Actor,
    FieldType,
)
from host.failures import CallFailed


@check(
    "actor_types.allowed",
    "actor types are a non-empty subset of customer, supplier, partner, person, project",
    "A connector cannot invent actor types: sync maps only these to CRM entities.",
    needs=[Need.CONNECTION],
)
async def actor_types_allowed(ctx: Context) -> str | None:
    types = await ctx.actor_types(strict=True)
    unknown = [t for t in types if t not in ACTOR_TYPES]
    twice = duplicates(types)
    if not types or unknown or twice:
        raise fail(
            "actor types "
            + ("are empty" if not types else f"{types} hold {unknown or twice}")
            + ("" if not twice else " more than once"),
            expected=f"a non-empty subset of {list(ACTOR_TYPES)}, each once",
            got=types,
        )
    return ", ".join(types)


@check(
    "actor_fields.valid",
    "each actor type's fields have unique keys, and list fields name a list it serves",
    "Field mapping and import are built from these fields.",
    needs=[Need.CONNECTION],
)
async def actor_fields_valid(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        fields = await ctx.actor_fields(actor_type, strict=True)
        if not fields:
            raise fail("has no fields", expected="at least one field", got=[])
        problems = [f"key {k!r} twice" for k in duplicates(f.key for f in fields)]
        for item in fields:
            if item.type is not FieldType.LIST:
                continue
            if not item.list_name:
                problems.append(f"list field {item.key} names no list")
                continue
            try:
                items = await ctx.client.get_list(guid, item.list_name)
            except CallFailed as exc:
                problems.append(f"{item.key}: list {item.list_name!r}: {describe(exc)}")
                continue
            if not items:
                problems.append(f"{item.key}: list {item.list_name!r} is empty")
        if problems:
            raise fail("; ".join(problems), expected="valid fields", got=problems[0])
        return f"{len(fields)} fields"

    return await per_type(ctx, one)


@check(
    "searchable_fields.subset",
    "each actor type's searchable fields are a subset of its fields",
    "Import searches with these keys; one that is not a field cannot be searched.",
    needs=[Need.CONNECTION],
)
async def searchable_fields_subset(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        keys = {f.key for f in await ctx.actor_fields(actor_type)}
        searchable = await ctx.client.searchable_fields(guid, actor_type)
        extra = [k for k in searchable if k not in keys]
        if extra:
            raise fail(
                f"searchable fields {extra} are not fields of the type",
                expected=f"a subset of {sorted(keys)}",
                got=searchable,
            )
        return f"{len(searchable)} searchable"

    return await per_type(ctx, one)


@check(
    "search.field_keys",
    "search returns actors of the type with exactly the requested field keys",
    "Sync asks only for the fields it maps; extra or missing keys break the mapping.",
    needs=[Need.CONNECTION],
)
async def search_field_keys(ctx: Context) -> str | None:
    async def read(guid: str, actor_type: str, keys: list[str]) -> Sequence[Actor]:
        return await ctx.client.search_actors(guid, actor_type, "", keys)

    return await per_type_field_keys(
        ctx,
        read,
        empty="a blank search found no actors",
        expected=lambda actor_type, keys: (
            f"actor_type {actor_type!r}, erp_key, last_modified, fields {keys}"
        ),
        done=lambda actors: f"{len(actors)} actors",
    )


@check(
    "get.field_keys",
    "get returns the asked actors with exactly the requested field keys",
    "Import and sync fetch actors by ERP key and the fields they map.",
    needs=[Need.CONNECTION],
)
async def get_field_keys(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        keys = pick_field_keys(await ctx.actor_fields(actor_type))
        sample = await ctx.sample(actor_type)
        if not sample:
            raise skip("no actors to get")
        asked = [a.erp_key for a in sample[:3]]
        got = await ctx.client.get_actors(guid, actor_type, asked, keys)
        problems = actor_problems(got, actor_type, keys)
        got_keys = [a.erp_key for a in got]
        if sorted(got_keys) != sorted(asked):
            problems.insert(0, f"asked for {asked}, got {got_keys}")
        if problems:
            raise fail(
                "; ".join(problems[:3]),
                expected=f"actors {asked} with fields {keys}",
                got=problems[0],
            )
        return f"{len(got)} actors"

    return await per_type(ctx, one)
