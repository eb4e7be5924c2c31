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
    fail,
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
