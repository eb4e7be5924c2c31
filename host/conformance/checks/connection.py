"""Checks of the connection lifecycle: save, test, delete, unknown GUIDs."""

from __future__ import annotations

from host.conformance.checks.registry import (
    check,
)
from host.conformance.context import (
    Context,
    describe,
    describe_response,
    fresh_guid,
)
from host.conformance.model import (
    Need,
    fail,
)
from host.failures import CallFailed


@check(
    "connection.lifecycle",
    "save, test and delete a connection with a fresh GUID; then the GUID is unknown",
    "On OK the admin side saves then tests; on removal it deletes and expects it gone.",
    needs=[Need.CONFIG],
)
async def connection_lifecycle(ctx: Context) -> str | None:
    client = ctx.client
    guid = fresh_guid()
    saved = await client.save_connection(guid, await ctx.config())
    if not saved.ok:
        raise fail("save connection refused", expected="ok", got=describe_response(saved))
    try:
        tested = await client.test_connection(guid)
        if not tested.ok:
            raise fail(
                "test connection failed after save", expected="ok", got=describe_response(tested)
            )
    finally:
        deleted = await client.delete_connection(guid)
    if not deleted.ok:
        raise fail("delete connection refused", expected="ok", got=describe_response(deleted))
    after = await client.test_connection(guid)
    if after.error_code != "unknown_connection":
        raise fail(
            "the connector still knows the connection after delete",
            expected="error_code 'unknown_connection'",
            got=describe_response(after),
        )
    return "saved, tested, deleted, then unknown"


@check(
    "connection.unknown_guid",
    "a GUID never saved answers unknown_connection",
    "That code is how the admin side knows to re-send the config and retry.",
)
async def connection_unknown_guid(ctx: Context) -> str | None:
    guid = fresh_guid()
    tested = await ctx.client.test_connection(guid)
    problems = []
    if tested.error_code != "unknown_connection":
        problems.append(f"test connection: {describe_response(tested)}")
    try:
        types = await ctx.client.actor_types(guid)
        problems.append(f"actor types: answered {types}")
    except CallFailed as exc:
        if exc.response.error_code != "unknown_connection":
            problems.append(f"actor types: {describe(exc)}")
    if problems:
        raise fail(
            "a GUID that was never saved did not answer unknown_connection: " + "; ".join(problems),
            expected="state error, error_code 'unknown_connection'",
            got=problems[0],
        )
    return None


@check(
    "connection.delete_idempotent",
    "deleting a GUID the connector does not hold answers ok",
    "A delete retried after a lost answer must not fail (protocol 1.1).",
)
async def connection_delete_idempotent(ctx: Context) -> str | None:
    ctx.require_1_1("idempotent delete")
    from host.protocol import operations as ops

    path = ops.DELETE_CONNECTION.url(fresh_guid())
    status, body, text = await ctx.raw_answer(ops.DELETE_CONNECTION.method, path)
    if status != 200 or not isinstance(body, dict) or body.get("ok") is not True:
        raise fail(
            "deleting an unknown GUID did not answer ok",
            expected="HTTP 200, ok: true",
            got=f"HTTP {status} {text[:100]!r}",
        )
    return None
