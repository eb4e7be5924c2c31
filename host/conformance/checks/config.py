"""Checks of the connector itself and its config: info, config fields, test config."""

from __future__ import annotations

from typing import Any

from host.conformance.checks.registry import (
    WRONG_PASSWORD,
    check,
    is_text,
    refused,
)
from host.conformance.context import (
    Context,
    describe,
    describe_response,
)
from host.conformance.model import (
    Need,
    fail,
    not_applicable,
    skip,
)
from host.connector import (
    ALL_ZERO_GUID,
    SECRET_KEY_PATTERN,
    Access,
    FieldType,
)
from host.failures import CallFailed
from host.protocol import PROTOCOL_VERSION, is_supported_version
from host.protocol import operations as ops
from host.protocol.scrub import secret_keys


@check(
    "config.complete",
    "the connection values fill every mandatory config field with a valid value",
    "Most checks need a working connection; this says which values are missing or invalid.",
)
async def config_complete(ctx: Context) -> str | None:
    fields = await ctx.config_fields(strict=True)
    report = await ctx.config_report()
    mandatory = [f.key for f in fields if f.settable and f.access is Access.MANDATORY]
    if not report.ok:
        missing = [
            f.key for f in report.fields if "is mandatory" in f.errors and f.key in mandatory
        ]
        hint = (
            "give them with --config KEY=VALUE or --config-file (erpsync apps check), "
            "or the `config` of your ConformanceSuite class"
        )
        problems = "; ".join(report.problems())
        raise fail(
            f"connection values are missing or invalid: {problems}; {hint}",
            expected=f"values for the mandatory fields {mandatory}" if missing else "valid values",
            got=f"values for {sorted(ctx.given or {})}",
        )
    given = sorted(ctx.given or {})
    return f"values for {', '.join(given) or 'no field'}; defaults for the rest"


@check(
    "info",
    "info names the connector (id, name, vendor, version) and a known protocol version",
    "The admin side identifies a connector by its info and refuses unknown major versions.",
)
async def info(ctx: Context) -> str | None:
    status, body = await ctx.raw_json(ops.INFO.method, ops.INFO.path)
    if not (
        isinstance(body, dict) and body.get("ok") is True and isinstance(body.get("data"), dict)
    ):
        raise fail(
            "info did not answer a successful envelope with an object in data",
            expected="HTTP 200, ok: true, data: {id, name, vendor, version, protocol_version}",
            got=f"HTTP {status}: {str(body)[:120]}",
        )
    data = body["data"]
    ctx.info = data
    empty = [k for k in ("id", "name", "vendor", "version") if not is_text(data.get(k))]
    if empty:
        raise fail(
            f"info has no {', '.join(empty)}",
            expected="non-empty strings for id, name, vendor and version",
            got={k: data.get(k) for k in ("id", "name", "vendor", "version")},
        )
    version = data.get("protocol_version")
    if not is_supported_version(version):
        raise fail(
            f"protocol version {version!r} is not one this host speaks",
            expected=f"{PROTOCOL_VERSION.split('.')[0]}.x (this host speaks {PROTOCOL_VERSION})",
            got=version,
        )
    await ctx.client.info()  # and the client accepts it
    return f"{data['id']} {data['version']} by {data['vendor']}, protocol {version}"


@check(
    "config_fields.valid",
    "config fields have unique keys, known types and access, and list fields name a list",
    "The config dialog is built from these fields; a bad one breaks the dialog for everyone.",
)
async def config_fields_valid(ctx: Context) -> str | None:
    status, body = await ctx.raw_json(ops.CONFIG_FIELDS.method, ops.CONFIG_FIELDS.path)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise fail(
            "config-fields did not answer a list of fields",
            expected="data: [field, ...]",
            got=f"HTTP {status}: {str(body)[:120]}",
        )
    problems = field_shape_problems(data)
    if problems:
        raise fail("; ".join(problems), expected="valid field metadata", got=problems[0])
    await ctx.config_fields(strict=True)
    return f"{len(data)} fields"


def field_shape_problems(data: list[Any]) -> list[str]:
    """Problems with raw field metadata as it came over the wire."""
    types = {t.value for t in FieldType}
    access = {a.value for a in Access}
    problems: list[str] = []
    seen: set[str] = set()
    for item in data:
        if not isinstance(item, dict) or not is_text(item.get("key")):
            problems.append(f"field {str(item)[:60]} has no key")
            continue
        key = item["key"]
        if key in seen:
            problems.append(f"key {key!r} is declared twice")
        seen.add(key)
        if item.get("type") not in types:
            problems.append(f"{key}: type {item.get('type')!r} is not one of {sorted(types)}")
        if item.get("access", "normal") not in access:
            problems.append(f"{key}: access {item.get('access')!r} is not one of {sorted(access)}")
        if item.get("type") == "list" and not is_text(item.get("list_name")):
            problems.append(f"{key}: a list field names no list_name")
        max_length = item.get("max_length", 0)
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 0:
            problems.append(f"{key}: max_length {max_length!r} is not an integer >= 0")
        problems.extend(f"{key}: {p}" for p in _metadata_shape_problems(item))
    return problems


def _metadata_shape_problems(item: dict[str, Any]) -> list[str]:
    """The v1.1 keys, when present: conditions of the documented shape, texts as strings."""
    from host.connector import Condition

    problems = []
    for name in ("visible_when", "required_when"):
        if item.get(name) is not None:
            try:
                Condition.from_dict(item[name])
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    for name in ("group", "placeholder", "help", "pattern", "pattern_message"):
        if item.get(name) is not None and not isinstance(item[name], str):
            problems.append(f"{name} {str(item[name])[:40]!r} is not a string")
    return problems


@check(
    "config_fields.secrets",
    "secret-looking config keys (password, token, secret, api key ...) are password fields",
    "Only password fields are masked in forms and encrypted at rest by the host.",
)
async def config_fields_secrets(ctx: Context) -> str | None:
    fields = await ctx.config_fields()
    exposed = [
        f for f in fields if SECRET_KEY_PATTERN.search(f.key) and f.type is not FieldType.PASSWORD
    ]
    if exposed:
        raise fail(
            "secret-looking keys are not password fields: "
            + ", ".join(f"{f.key} ({f.type.value})" for f in exposed),
            expected={f.key: "password" for f in exposed},
            got={f.key: f.type.value for f in exposed},
        )
    secrets = secret_keys(fields)
    return f"password fields: {', '.join(secrets) or 'none'}"


@check(
    "config_fields.defaults",
    "every config field default parses for its type",
    "Defaults pre-fill the dialog; one that does not parse is a typo an admin cannot fix.",
)
async def config_fields_defaults(ctx: Context) -> str | None:
    from host.protocol.values import FieldValueError, coerce_value

    fields = await ctx.config_fields()
    bad: dict[str, str] = {}
    for item in fields:
        if item.default is None or item.type is FieldType.LABEL:
            continue
        try:
            coerce_value(item, item.default)
        except FieldValueError as exc:
            bad[item.key] = f"{item.default!r}: {exc}"
    if bad:
        raise fail(
            "defaults do not parse: " + "; ".join(f"{k} {v}" for k, v in bad.items()),
            expected={k: next(f.type.value for f in fields if f.key == k) for k in bad},
            got={k: next(f.default for f in fields if f.key == k) for k in bad},
        )
    with_default = [f.key for f in fields if f.default is not None]
    return f"defaults of {', '.join(with_default) or 'no field'}"


@check(
    "config_fields.lists",
    "every list config field's list is served for the all-zero GUID, with its default an item",
    "The dialog offers list choices before any connection is saved.",
)
async def config_fields_lists(ctx: Context) -> str | None:
    fields = [f for f in await ctx.config_fields() if f.type is FieldType.LIST]
    if not fields:
        raise skip("no list config fields")
    problems: list[str] = []
    for item in fields:
        try:
            items = await ctx.client.get_list(ALL_ZERO_GUID, item.list_name)
        except CallFailed as exc:
            problems.append(f"{item.key}: list {item.list_name!r}: {describe(exc)}")
            continue
        if not items:
            problems.append(f"{item.key}: list {item.list_name!r} is empty")
        elif item.default not in (None, "") and str(item.default) not in items:
            problems.append(
                f"{item.key}: default {item.default!r} is not an item of {item.list_name!r} "
                f"({', '.join(list(items)[:8])})"
            )
    if problems:
        raise fail(
            "; ".join(problems),
            expected="each list answered for the all-zero GUID, with the default among its items",
            got=problems[0],
        )
    return "lists " + ", ".join(sorted({f.list_name for f in fields}))


@check(
    "test_config.accepts",
    "test config passes with the given connection values",
    "The admin can only save a connection after a passing test.",
    needs=[Need.CONFIG],
)
async def test_config_accepts(ctx: Context) -> str | None:
    response = await ctx.client.test_config(await ctx.config())
    if not response.ok:
        raise fail(
            "test config refused the given values",
            expected="state ok, ok_with_info or warning",
            got=describe_response(response),
        )
    return describe_response(response)


@check(
    "test_config.rejects_blank",
    "test config refuses blank mandatory text fields, with an explanation",
    "A test that passes whatever is typed lets admins save connections that cannot work.",
)
async def test_config_rejects_blank(ctx: Context) -> str | None:
    fields = await ctx.config_fields()
    blank = [
        f.key
        for f in fields
        if f.settable
        and f.access is Access.MANDATORY
        and f.type in (FieldType.TEXT, FieldType.PASSWORD)
    ]
    if not blank:
        raise skip("no mandatory text or password config fields to leave blank")
    values = (await ctx.config_report()).values()
    values.update(dict.fromkeys(blank, ""))
    response = await ctx.client.test_config(values)
    return refused(response, f"blank {', '.join(blank)}")


@check(
    "test_config.rejects_wrong_password",
    "test config refuses a wrong password, with an explanation",
    "A test that never logs in cannot tell the admin that the login is wrong.",
    needs=[Need.CONFIG],
)
async def test_config_rejects_wrong_password(ctx: Context) -> str | None:
    fields = await ctx.config_fields()
    secrets = secret_keys(f for f in fields if f.settable)
    if not secrets:
        raise not_applicable("no password config field: no login to refuse")
    values = await ctx.config()
    for key in secrets:
        values[key] = WRONG_PASSWORD if values.get(key) != WRONG_PASSWORD else WRONG_PASSWORD + "!"
    response = await ctx.client.test_config(values)
    return refused(response, f"a wrong {', '.join(secrets)}")
