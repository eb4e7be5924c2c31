"""Checks of authentication: the connector refuses requests without the right bearer token."""

from __future__ import annotations

from host.conformance.checks.registry import check
from host.conformance.context import Context, fresh_guid
from host.conformance.model import fail, skip
from host.protocol import operations as ops

WRONG_TOKEN = "erpsync-conformance-wrong-token"


async def _refuses(ctx: Context, token: str, what: str) -> str:
    if ctx.raw is None or "Authorization" not in ctx.raw.headers:
        raise skip("the run has no token to leave out (a connector URL without --token)")
    probes = [
        (ops.INFO.method, ops.INFO.path),
        (ops.CONFIG_FIELDS.method, ops.CONFIG_FIELDS.path),
        (ops.ACTOR_TYPES.method, ops.ACTOR_TYPES.url(guid=fresh_guid())),
    ]
    problems = []
    for method, path in probes:
        status, body, text = await ctx.raw_answer(method, path, token=token)
        code = body.get("error_code") if isinstance(body, dict) else None
        if status != 401 or code != "unauthorized":
            problems.append(f"{method} {path} with {what}: HTTP {status} {text[:80]!r}")
    if problems:
        raise fail(
            "; ".join(problems),
            expected="HTTP 401 with error_code 'unauthorized'",
            got=problems[0],
        )
    return f"{len(probes)} requests with {what} refused"


@check(
    "auth.missing_token",
    "a request without a bearer token is refused with 401 unauthorized",
    "Anyone who can reach a connector could otherwise read and write the ERP.",
)
async def auth_missing_token(ctx: Context) -> str | None:
    return await _refuses(ctx, "", "no token")


@check(
    "auth.wrong_token",
    "a request with a wrong bearer token is refused with 401 unauthorized",
    "A connector that checks only that some token is sent is as open as one that checks none.",
)
async def auth_wrong_token(ctx: Context) -> str | None:
    return await _refuses(ctx, WRONG_TOKEN, "a wrong token")
