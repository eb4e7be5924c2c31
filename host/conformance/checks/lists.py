"""Checks of lists: unique item keys, and `?keys=` answering exactly the keys asked."""

from __future__ import annotations

from host.conformance.checks.registry import check, duplicates
from host.conformance.context import Context
from host.conformance.model import fail, skip
from host.connector import ALL_ZERO_GUID, FieldType
from host.protocol import operations as ops

NOT_A_KEY = "erpsync-conformance-not-a-key"


async def _lists(ctx: Context) -> list[tuple[str, str]]:
    """(GUID, list name) of every list the config fields and actor fields name."""
    found = {
        (ALL_ZERO_GUID, f.list_name)
        for f in await ctx.config_fields()
        if f.type is FieldType.LIST and f.list_name
    }
    try:
        guid = await ctx.connection()
        for actor_type in await ctx.actor_types():
            for item in await ctx.actor_fields(actor_type):
                if item.type is FieldType.LIST and item.list_name:
                    found.add((guid, item.list_name))
    except Exception:  # without a connection, the config lists still count
        pass
    return sorted(found)


async def _raw_items(ctx: Context, guid: str, name: str, keys: list[str] | None) -> list[str]:
    params = {"keys": keys} if keys is not None else None
    status, body, text = await ctx.raw_answer("GET", ops.GET_LIST.url(guid, name), params=params)
    data = body.get("data") if isinstance(body, dict) else None
    if status != 200 or not isinstance(data, list):
        raise fail(
            f"list {name!r}: HTTP {status} {text[:80]!r}", expected="a list of items", got=status
        )
    return [str(item.get("key")) if isinstance(item, dict) else repr(item) for item in data]


@check(
    "lists.unique_keys",
    "every list's item keys are unique",
    "A list value is stored by key; two items with one key make the choice ambiguous.",
)
async def lists_unique_keys(ctx: Context) -> str | None:
    lists = await _lists(ctx)
    if not lists:
        raise skip("no list fields")
    problems = []
    for guid, name in lists:
        twice = duplicates(await _raw_items(ctx, guid, name, None))
        if twice:
            problems.append(f"{name}: {twice[:3]} twice")
    if problems:
        raise fail("; ".join(problems), expected="unique keys", got=problems[0])
    return f"{len(lists)} lists"


@check(
    "lists.keys",
    "a list asked with ?keys= answers exactly the known keys asked",
    "Forms look up the texts of stored keys with ?keys=; extra or missing items mislabel them.",
)
async def lists_keys(ctx: Context) -> str | None:
    lists = await _lists(ctx)
    if not lists:
        raise skip("no list fields")
    problems = []
    for guid, name in lists:
        every = await _raw_items(ctx, guid, name, None)
        if not every:
            continue
        wanted = every[-1:]
        got = await _raw_items(ctx, guid, name, [*wanted, NOT_A_KEY])
        if sorted(got) != sorted(wanted):
            problems.append(f"{name}?keys={wanted[0]}&keys={NOT_A_KEY} answered {got[:5]}")
    if problems:
        raise fail("; ".join(problems), expected="only the known keys asked", got=problems[0])
    return f"{len(lists)} lists"
