"""Checks of searching: by parent, advanced."""

from __future__ import annotations

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
from host.failures import CallFailed


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


@check(
    "search.blank",
    "a blank search finds actors whenever changed since has some",
    "Blank text means all; a search that finds nothing hides every actor from import.",
    needs=[Need.CONNECTION],
)
async def search_blank(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        page = await ctx.client.changes_page(guid, actor_type, "", limit=1)
        found = await ctx.client.search_page(
            "search_actors", guid, actor_type, {"text": ""}, limit=5
        )
        if page.actors and not found.actors:
            raise fail(
                "a blank search found nothing, changed since has actors",
                expected="the actors changed since answers",
                got=[],
            )
        if not page.actors:
            raise skip("no actors")
        return None

    return await per_type(ctx, one)


@check(
    "search.paging",
    "a search larger than its limit says so with next_cursor, and the pages hold each actor once",
    "No silent caps: an import that sees only the first page must know there is more.",
    needs=[Need.CONNECTION],
)
async def search_paging(ctx: Context) -> str | None:
    ctx.require_1_1("search paging")
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        body = {"text": "", "field_keys": []}
        first = await ctx.client.search_page("search_actors", guid, actor_type, body, limit=2)
        if len(first.actors) > 2:
            raise fail(
                f"limit 2 answered {len(first.actors)} actors", expected=2, got=len(first.actors)
            )
        if len(first.actors) < 2:
            raise skip("fewer than 3 actors")
        keys = [a.erp_key for a in first.actors]
        cursor, pages = first.cursor, 1
        while cursor and pages < 10:
            page = await ctx.client.search_page(
                "search_actors", guid, actor_type, body, limit=2, cursor=cursor
            )
            keys += [a.erp_key for a in page.actors]
            cursor, pages = page.cursor, pages + 1
        whole = await ctx.client.search_page("search_actors", guid, actor_type, body, limit=100)
        if pages == 1 and len(whole.actors) > 2:
            raise fail(
                f"{len(whole.actors)} actors match, limit 2 answered no next_cursor",
                expected="a next_cursor",
                got="",
            )
        twice = [k for k in set(keys) if keys.count(k) > 1]
        expected = [a.erp_key for a in whole.actors][: len(keys)]
        if twice or (not whole.cursor and sorted(keys) != sorted(expected)):
            raise fail(
                f"pages of 2 held {len(keys)} actors" + (f", {twice[:3]} twice" if twice else ""),
                expected=f"the {len(expected)} actors of one page of 100, once each",
                got=keys[:10],
            )
        return f"{len(keys)} actors in {pages} pages"

    return await per_type(ctx, one)
