"""Checks that secrets never come back: canary passwords planted in config tests and saved
connections must not appear in any answer the suite sees, nor in a log record it can see."""

from __future__ import annotations

import contextlib
import logging
import secrets as random
from typing import Any

from host.conformance.checks.registry import check
from host.conformance.context import Context, fresh_guid
from host.conformance.model import Need, fail, not_applicable
from host.connector import ALL_ZERO_GUID, FieldType
from host.protocol import operations as ops
from host.protocol.scrub import secret_keys


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # a record that cannot format is not ours
            self.lines.append(record.getMessage())


@check(
    "secrets.canary",
    "no answer and no log line repeats a password: canaries planted in config come back nowhere",
    "Explanations, labels and lists reach screens, logs and reports; a password must not.",
    needs=[Need.CONFIG],
)
async def secrets_canary(ctx: Context) -> str | None:
    fields = await ctx.config_fields()
    keys = secret_keys(f for f in fields if f.settable)
    if not keys:
        raise not_applicable("no password config field: no secret to leak")
    values = await ctx.config()
    canary = "erpsync-canary-" + random.token_hex(6)
    planted = {**values, **dict.fromkeys(keys, canary)}
    # A short real password ("p") would "leak" into every text: only canaries and real
    # passwords long enough to mean something are looked for.
    real = [str(values[k]) for k in keys if len(str(values.get(k) or "")) >= 6]
    guid, bad = fresh_guid(), fresh_guid()
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    seen: list[tuple[str, str]] = []

    async def ask(what: str, method: str, path: str, **kwargs: Any) -> None:
        _, _, text = await ctx.raw_answer(method, path, **kwargs)
        seen.append((what, text))

    try:
        await ask("test config", "POST", ops.TEST_CONFIG.path, json={"config": planted})
        await ask("save", "PUT", ops.SAVE_CONNECTION.url(bad), json={"config": planted})
        await ask("test connection", "POST", ops.TEST_CONNECTION.url(bad))
        await ask("actor types", "GET", ops.ACTOR_TYPES.url(bad))
        await ask("save", "PUT", ops.SAVE_CONNECTION.url(guid), json={"config": values})
        await ask("test connection", "POST", ops.TEST_CONNECTION.url(guid))
        await ask("actor types", "GET", ops.ACTOR_TYPES.url(guid))
        for item in fields:
            if item.type is FieldType.LIST and item.list_name:
                await ask(
                    f"list {item.list_name}", "GET", ops.GET_LIST.url(ALL_ZERO_GUID, item.list_name)
                )
        for actor_type in (await ctx.actor_types())[:2]:
            await ask(f"{actor_type} fields", "GET", ops.ACTOR_FIELDS.url(guid, actor_type))
            await ask(
                f"{actor_type} search",
                "POST",
                ops.SEARCH_ACTORS.url(guid, actor_type),
                json={"text": canary, "limit": 5},
            )
        await ask("info", "GET", ops.INFO.path)
        await ask("config fields", "GET", ops.CONFIG_FIELDS.path)
    finally:
        root.removeHandler(handler)
        for key in (guid, bad):
            await ctx.raw_answer("DELETE", ops.DELETE_CONNECTION.url(key))
    leaks = [
        what
        for what, text in seen + [("a log line", line) for line in handler.lines]
        if canary in text or any(secret in text for secret in real)
    ]
    if leaks:
        raise fail(
            "a password came back in: " + ", ".join(dict.fromkeys(leaks)),
            expected="no password in any answer or log line",
            got=leaks[0],
        )
    return f"{len(seen)} answers and {len(handler.lines)} log lines clean"
