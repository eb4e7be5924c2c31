"""Checks of what a connector declares in info (protocol 1.1) against what it does."""

from __future__ import annotations

from typing import Any

from host.conformance.checks.registry import check
from host.conformance.context import Context
from host.conformance.model import Need, fail, skip
from host.protocol import operations as ops

NO_SUCH_FIELD = "erpsync-conformance-no-such-field"


def declaration_problems(caps: Any) -> list[str]:
    """What is wrong with info's capabilities object as sent."""
    if not isinstance(caps, dict):
        return [f"capabilities is {type(caps).__name__}, not an object"]
    problems = []
    declared = caps.get("operations")
    if not isinstance(declared, list) or not all(isinstance(n, str) for n in declared):
        problems.append("operations is not a list of names")
    else:
        extra = sorted(set(declared) - set(ops.OPTIONAL_OPERATIONS))
        if extra:
            problems.append(f"operations {extra} are not optional operations")
    for kind in ("page_size", "search_page_size"):
        bounds = caps.get(kind)
        if not isinstance(bounds, dict):
            problems.append(f"{kind} is missing")
            continue
        low, top = bounds.get("default"), bounds.get("max")
        if not (
            isinstance(low, int) and isinstance(top, int) and 1 <= low <= top <= ops.MAX_PAGE_SIZE
        ):
            problems.append(f"{kind} {bounds} is not 1 <= default <= max <= {ops.MAX_PAGE_SIZE}")
    if not isinstance(caps.get("check_last_modified"), bool):
        problems.append("check_last_modified is not a boolean")
    return problems


@check(
    "capabilities.declared",
    "info declares capabilities: optional operations offered and page-size bounds",
    "The client sends only declared operations and never asks for more than the declared max.",
)
async def capabilities_declared(ctx: Context) -> str | None:
    ctx.require_1_1("capabilities in info")
    problems = declaration_problems(ctx.info.get("capabilities"))
    if problems:
        raise fail("; ".join(problems), expected="a valid capabilities object", got=problems[0])
    caps = ctx.capabilities or {}
    return f"offers {', '.join(caps['operations']) or 'no optional operation'}"


def probes(guid: str, actor_type: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """A harmless request per optional operation: nothing is written by any of them."""
    return {
        "held_connections": (ops.HELD_CONNECTIONS.method, ops.HELD_CONNECTIONS.path, {}),
        "searchable_fields": (
            ops.SEARCHABLE_FIELDS.method,
            ops.SEARCHABLE_FIELDS.url(guid, actor_type),
            {},
        ),
        "search_by_parent": (
            ops.SEARCH_BY_PARENT.method,
            ops.SEARCH_BY_PARENT.url(guid, actor_type),
            {"json": {"parent_actor_type": "customer", "parent_erp_key": "erpsync-none"}},
        ),
        "search_advanced": (
            ops.SEARCH_ADVANCED.method,
            ops.SEARCH_ADVANCED.url(guid, actor_type),
            {"json": {"restrictions": [], "limit": 1}},
        ),
        "create_actor": (  # a field no type has: refused by a connector that creates
            ops.CREATE_ACTOR.method,
            ops.CREATE_ACTOR.url(guid, actor_type),
            {"json": {"actor": {"actor_type": actor_type, "field_values": {NO_SUCH_FIELD: 1}}}},
        ),
        "save_actors": (
            ops.SAVE_ACTORS.method,
            ops.SAVE_ACTORS.url(guid),
            {"json": {"actors": []}},
        ),
    }


@check(
    "capabilities.honoured",
    "each optional operation answers as declared; searchable fields come with search advanced",
    "A declared operation that answers not_supported (or a searchable field that cannot be "
    "searched) breaks the screens built on the declaration.",
    needs=[Need.CONNECTION],
)
async def capabilities_honoured(ctx: Context) -> str | None:
    guid = await ctx.connection()
    types = await ctx.actor_types()
    if not types:
        raise skip("no actor types")
    offered: dict[str, bool] = {}
    declared = set((ctx.capabilities or {}).get("operations") or [])
    for name, (method, path, kwargs) in probes(guid, types[0]).items():
        if name == "create_actor" and name in declared and not ctx.write:
            offered[name] = True  # probing could create an actor: only with --write
            continue
        _, body, _ = await ctx.raw_answer(method, path, **kwargs)
        offered[name] = not (isinstance(body, dict) and body.get("error_code") == "not_supported")
    problems = []
    if ctx.capabilities is not None:
        for name, answers in offered.items():
            if answers != (name in declared):
                problems.append(
                    f"{name} is {'declared' if name in declared else 'not declared'} but "
                    f"{'answers' if answers else 'answers not_supported'}"
                )
    if offered["searchable_fields"]:
        for actor_type in types:
            try:
                searchable = await ctx.client.searchable_fields(guid, actor_type)
            except Exception:  # searchable_fields.subset reports it
                continue
            if searchable and not offered["search_advanced"]:
                problems.append(
                    f"{actor_type} lists searchable fields {searchable[:3]} but search advanced "
                    "answers not_supported"
                )
                break
    if problems:
        raise fail("; ".join(problems), expected="behaviour as declared", got=problems[0])
    return "offers " + ", ".join(n for n, yes in offered.items() if yes)


@check(
    "capabilities.page_size",
    "changed since takes a limit up to the declared maximum and refuses one above it",
    "The client pages with the declared maximum; a connector must accept what it declares.",
    needs=[Need.CONNECTION],
)
async def capabilities_page_size(ctx: Context) -> str | None:
    ctx.require_1_1("page-size bounds")
    guid = await ctx.connection()
    types = await ctx.actor_types()
    if not types:
        raise skip("no actor types")
    top = (ctx.capabilities or {}).get("page_size", {}).get("max", ops.MAX_PAGE_SIZE)
    path = ops.CHANGED_SINCE.url(guid, types[0])
    status, body, text = await ctx.raw_answer("GET", path, params={"limit": top})
    if status != 200 or not isinstance(body, dict) or body.get("ok") is not True:
        raise fail(
            f"limit={top} (the declared max) was refused",
            expected="a page of changes",
            got=f"HTTP {status} {text[:80]!r}",
        )
    actors = (body.get("data") or {}).get("actors") or []
    if len(actors) > top:
        raise fail(f"limit={top} answered {len(actors)} actors", expected=top, got=len(actors))
    status, body, text = await ctx.raw_answer("GET", path, params={"limit": top + 1})
    code = body.get("error_code") if isinstance(body, dict) else None
    if (status, code) != (422, "invalid_request"):
        raise fail(
            f"limit={top + 1} (above the declared max) was not refused",
            expected="HTTP 422 invalid_request",
            got=f"HTTP {status} {text[:80]!r}",
        )
    return f"limit {top} taken, {top + 1} refused"
