"""Checks of error answers: malformed requests get error envelopes."""

from __future__ import annotations

from typing import Any

from host.conformance.checks.registry import (
    check,
    is_text,
)
from host.conformance.context import (
    Context,
    fresh_guid,
)
from host.conformance.model import (
    CheckFailed,
    Need,
    fail,
    skip,
)
from host.protocol import operations as ops

ENVELOPE_PROBES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        ops.TEST_CONFIG.method,
        ops.TEST_CONFIG.path,
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        "a body that is not JSON",
    ),
    (
        ops.TEST_CONFIG.method,
        ops.TEST_CONFIG.path,
        {"json": {"config": "not an object"}},
        "a config that is no object",
    ),
    (ops.ACTOR_TYPES.method, ops.ACTOR_TYPES.url(guid="not-a-guid"), {}, "a malformed GUID"),
    (
        ops.GET_ACTORS.method,
        ops.GET_ACTORS.url(guid="{guid}", actor_type="customer"),  # {guid}: fresh per run
        {"json": {"erp_keys": "not a list"}},
        "erp_keys that is no list",
    ),
    (
        ops.CHANGED_SINCE.method,
        ops.CHANGED_SINCE.url(guid="{guid}", actor_type="customer"),
        {"params": {"limit": "0"}},
        "limit=0",
    ),
    ("GET", "/no-such-operation", {}, "an unknown operation"),
]


@check(
    "errors.envelope",
    "malformed requests answer an error envelope (ok false, state error, error_code), never 5xx",
    "Every answer is an envelope, so the admin side always has an explanation to show.",
)
async def errors_envelope(ctx: Context) -> str | None:
    guid = fresh_guid()
    problems: list[str] = []
    for method, path, kwargs, what in ENVELOPE_PROBES:
        target = path.format(guid=guid)
        try:
            status, body = await ctx.raw_json(method, target, **kwargs)
        except CheckFailed as exc:
            problems.append(f"{what}: {exc.got}")
            continue
        if status >= 500:
            problems.append(f"{what}: HTTP {status}")
        elif not (
            isinstance(body, dict)
            and body.get("ok") is False
            and body.get("state") == "error"
            and is_text(body.get("error_code"))
        ):
            problems.append(f"{what}: HTTP {status} {str(body)[:100]}")
    if problems:
        raise fail(
            "; ".join(problems),
            expected="HTTP 4xx with {ok: false, state: error, error_code, ...}",
            got=problems[0],
        )
    return f"{len(ENVELOPE_PROBES)} malformed requests"


TRACE_MARKS = ("Traceback (most recent call last)", 'File "', "\tat ", "    at ")


def trace_in(body: Any) -> bool:
    """True when an envelope's explanations carry a stack trace (any language's)."""
    if not isinstance(body, dict):
        return False
    text = f"{body.get('user_explanation')}\n{body.get('tech_explanation')}"
    return any(mark in text for mark in TRACE_MARKS) or text.count("\n") > 5


async def saved_probes(ctx: Context) -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(what, method, path, kwargs, expected code) of bad requests on a saved connection."""
    guid = await ctx.connection()
    types = await ctx.actor_types()
    if not types:
        raise skip("no actor types")
    actor_type = types[0]
    top = (ctx.capabilities or {}).get("page_size", {}).get("max", ops.MAX_PAGE_SIZE)
    changes = ops.CHANGED_SINCE.url(guid, actor_type)
    return [
        ("limit=0", "GET", changes, {"params": {"limit": 0}}, "invalid_request"),
        (f"limit={top + 1}", "GET", changes, {"params": {"limit": top + 1}}, "invalid_request"),
        (
            "erp_keys that is no list",
            "POST",
            ops.GET_ACTORS.url(guid, actor_type),
            {"json": {"erp_keys": "1"}},
            "invalid_request",
        ),
        (
            "search text that is a number",
            "POST",
            ops.SEARCH_ACTORS.url(guid, actor_type),
            {"json": {"text": 12}},
            "invalid_request",
        ),
        (
            "an unknown list",
            "GET",
            ops.GET_LIST.url(guid, "erpsync-conformance-no-such-list"),
            {},
            "unknown_list",
        ),
        (
            "an unknown actor type",
            "GET",
            ops.ACTOR_FIELDS.url(guid, "employee"),
            {},
            "unknown_actor_type",
        ),
        (
            "an unknown field key",
            "POST",
            ops.GET_ACTORS.url(guid, actor_type),
            {"json": {"erp_keys": ["1"], "field_keys": ["erpsync-no-such-field"]}},
            "unknown_field",
        ),
        (
            "a cursor never handed out",
            "GET",
            changes,
            {"params": {"cursor": "erpsync-not-a-cursor"}},
            "invalid_cursor",
        ),
    ]


@check(
    "errors.saved_connection",
    "bad requests on a saved connection answer the documented error code, status and no trace",
    "The admin side decides from the code what to do (fix input, restart paging ...), and a "
    "200 for an error or a stack trace in an explanation breaks clients and leaks internals.",
    needs=[Need.CONNECTION],
)
async def errors_saved_connection(ctx: Context) -> str | None:
    from host.protocol.errors import ERRORS

    problems = []
    probes = await saved_probes(ctx)
    for what, method, path, kwargs, code in probes:
        status, body, text = await ctx.raw_answer(method, path, **kwargs)
        if not isinstance(body, dict) or body.get("ok") is not False:
            problems.append(f"{what}: HTTP {status} {text[:80]!r}")
            continue
        got = body.get("error_code")
        if ctx.minor >= 1 and (got != code or status != ERRORS[code].status):
            problems.append(f"{what}: HTTP {status} {got!r}, not {ERRORS[code].status} {code!r}")
        elif status >= 500:
            problems.append(f"{what}: HTTP {status}")
        if trace_in(body):
            problems.append(f"{what}: a stack trace in the explanations")
    if problems:
        raise fail(
            "; ".join(problems[:5]), expected="the documented error answers", got=problems[0]
        )
    return f"{len(probes)} bad requests"


@check(
    "errors.routes",
    "a trailing slash, an unknown path and a wrong method answer error envelopes (404, 405)",
    "Every answer is a documented envelope (protocol 1.1); a redirect or an HTML page is not.",
)
async def errors_routes(ctx: Context) -> str | None:
    ctx.require_1_1("envelopes for unknown routes")
    probes = [
        ("GET", ops.INFO.path + "/", 404, "not_found", "a trailing slash"),
        ("GET", "/erpsync-no-such-operation", 404, "not_found", "an unknown path"),
        ("DELETE", ops.INFO.path, 405, "method_not_allowed", "a wrong method"),
    ]
    problems = []
    for method, path, status_wanted, code, what in probes:
        status, body, text = await ctx.raw_answer(method, path)
        got = body.get("error_code") if isinstance(body, dict) else None
        if (status, got) != (status_wanted, code):
            problems.append(f"{what}: HTTP {status} {text[:60]!r}")
    if problems:
        raise fail(
            "; ".join(problems), expected="404 not_found / 405 method_not_allowed", got=problems[0]
        )
    return f"{len(probes)} requests"
