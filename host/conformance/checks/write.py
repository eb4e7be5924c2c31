"""Checks that write (with --write): create and save an actor."""

from __future__ import annotations

from host.conformance.checks.registry import (
    actor_problems,
    check,
    read_changes,
    stamp_key,
)
from host.conformance.context import (
    SAMPLE_TEXT,
    Context,
    error_code_of,
)
from host.conformance.model import (
    Need,
    fail,
    not_applicable,
    skip,
)
from host.connector import (
    Access,
    Actor,
    FieldType,
)
from host.failures import CallFailed


@check(
    "write.create",
    "create returns the actor with erp_key and last_modified filled; get and changes find it",
    "Sync creates ERP actors from CRM entities and must find them again.",
    needs=[Need.WRITE, Need.CONNECTION],
)
async def write_create(ctx: Context) -> str | None:
    guid = await ctx.connection()
    sent, created = await ctx.created(strict=True)
    actor_type = sent.actor_type
    problems = actor_problems([created], actor_type, [])
    for key, value in sent.field_values.items():
        if isinstance(value, str) and value and created.field_values.get(key) != value:
            problems.append(f"{key} came back as {created.field_values.get(key)!r}")
    if problems:
        raise fail(
            f"create {actor_type}: " + "; ".join(problems),
            expected="the actor as sent, with erp_key and last_modified filled",
            got=problems[0],
        )
    found = await ctx.client.get_actors(guid, actor_type, [created.erp_key])
    if [a.erp_key for a in found] != [created.erp_key]:
        raise fail(
            f"get did not find the new {actor_type} {created.erp_key}",
            expected=[created.erp_key],
            got=[a.erp_key for a in found],
        )
    since, _ = await read_changes(ctx, actor_type, since=created.last_modified)
    if created.erp_key not in {a.erp_key for a in since}:
        raise fail(
            f"changed since {created.last_modified!r} did not return the new {actor_type}",
            expected=created.erp_key,
            got=[a.erp_key for a in since][:10],
        )
    return f"created {actor_type} {created.erp_key} at {created.last_modified}"


@check(
    "write.save",
    "save updates an actor and returns it refreshed with a later last_modified",
    "Sync writes CRM changes back and polls by last_modified, which must grow.",
    needs=[Need.WRITE, Need.CONNECTION],
)
async def write_save(ctx: Context) -> str | None:
    guid = await ctx.connection()
    _, created = await ctx.created()
    fields = await ctx.actor_fields(created.actor_type)
    target = next(
        (
            f
            for f in sorted(fields, key=lambda f: f.access is not Access.MANDATORY)
            if f.settable and f.type is FieldType.TEXT
        ),
        None,
    )
    if target is None:
        raise skip(f"no settable text field of {created.actor_type} to change")
    value = (SAMPLE_TEXT + " saved")[: target.max_length or None]
    changed = Actor(
        created.actor_type,
        created.erp_key,
        created.last_modified,
        created.parent_actor_type,
        created.parent_erp_key,
        {**created.field_values, target.key: value},
    )
    try:
        saved = await ctx.client.save_actors(guid, [changed])
    except CallFailed as exc:
        if error_code_of(exc) == "not_supported":
            if ctx.declares("save_actors") is False:
                raise not_applicable("the connector declares no save actors") from None
            raise skip("the connector does not save actors (not_supported)") from None
        raise
    mine = [a for a in saved if a.erp_key == created.erp_key]
    if not mine:
        raise fail(
            "save did not return the saved actor",
            expected=created.erp_key,
            got=[a.erp_key for a in saved],
        )
    problems = []
    if mine[0].field_values.get(target.key) != value:
        problems.append(f"{target.key} is {mine[0].field_values.get(target.key)!r}")
    if stamp_key(mine[0].last_modified) <= stamp_key(created.last_modified):
        problems.append(
            f"last_modified {mine[0].last_modified!r} did not grow from {created.last_modified!r}"
        )
    again = await ctx.client.get_actors(guid, created.actor_type, [created.erp_key])
    now = again[0].field_values.get(target.key) if again else "(no actor)"
    if now != value:
        problems.append(f"get answers {target.key} = {now!r}")
    if problems:
        raise fail(
            f"save {created.actor_type} {created.erp_key}: " + "; ".join(problems),
            expected=f"{target.key} = {value!r} and a later last_modified",
            got=problems[0],
        )
    return f"saved {target.key}; last_modified {created.last_modified} -> {mine[0].last_modified}"


@check(
    "write.conflict",
    "save with check_last_modified refuses a stale actor with 409 conflict and saves nothing",
    "Two writers must not overwrite each other's changes unseen (protocol 1.1).",
    needs=[Need.WRITE, Need.CONNECTION],
)
async def write_conflict(ctx: Context) -> str | None:
    ctx.require_1_1("check_last_modified")
    if ctx.declares("save_actors") is False:
        raise not_applicable("the connector declares no save actors")
    guid = await ctx.connection()
    _, created = await ctx.created()
    current = await ctx.client.get_actors(guid, created.actor_type, [created.erp_key])
    if not current:
        raise skip("the created actor is gone")
    stale = current[0].to_dict()
    stale["last_modified"] = "0" if stale["last_modified"] != "0" else "00"
    from host.protocol import operations as ops

    status, body, text = await ctx.raw_answer(
        ops.SAVE_ACTORS.method,
        ops.SAVE_ACTORS.url(guid),
        json={"actors": [stale], "check_last_modified": True},
    )
    code = body.get("error_code") if isinstance(body, dict) else None
    if (status, code) != (409, "conflict"):
        raise fail(
            "a stale last_modified with check_last_modified was not refused",
            expected="HTTP 409, error_code conflict",
            got=f"HTTP {status} {text[:100]!r}",
        )
    after = await ctx.client.get_actors(guid, created.actor_type, [created.erp_key])
    if after and after[0].last_modified != current[0].last_modified:
        raise fail(
            "the refused save changed the actor",
            expected=current[0].last_modified,
            got=after[0].last_modified,
        )
    return f"refused a stale save of {created.actor_type} {created.erp_key}"
