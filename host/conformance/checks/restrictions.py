"""Checks that advanced search refuses restrictions the protocol forbids: values that are not
native JSON of the field's type (`"12"` for an integer field), and the wrong number of values
for an operator. A connector that converts them guesses what the client meant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from host.conformance.checks.registry import check, per_type
from host.conformance.context import Context, error_code_of
from host.conformance.model import Need, fail, skip
from host.connector import Actor, Field, FieldType
from host.failures import CallFailed
from host.protocol import operations as ops
from host.search import LIST_OPERATORS, OPERATORS

CODE = "invalid_restriction"
PLAIN: dict[FieldType, Any] = {
    FieldType.TEXT: "a",
    FieldType.INTEGER: 1,
    FieldType.DOUBLE: 1.5,
    FieldType.CHECKBOX: True,
    FieldType.DATETIME: "2026-01-31T12:00:00",
}
"""A native value per type when no sample actor holds one (lists need a real item key)."""


def _native(item: Field, sample: list[Actor]) -> Any:
    """A native value of the field's type: a sample actor's when one holds it."""
    kind = item.type
    wanted: tuple[type, ...] = {
        FieldType.CHECKBOX: (bool,),
        FieldType.INTEGER: (int,),
        FieldType.DOUBLE: (int, float),
    }.get(kind, (str,))
    for actor in sample:
        value = actor.field_values.get(item.key)
        is_flag = isinstance(value, bool)
        if isinstance(value, wanted) and is_flag == (kind is FieldType.CHECKBOX) and value != "":
            return value
    return PLAIN.get(kind)


def loosen(kind: FieldType, value: Any) -> Any:
    """`value` as a loosely typed connector would take it, in a JSON type the protocol
    forbids for `kind`: numbers and flags as strings, text as a number, a moment as epoch
    seconds."""
    if kind in (FieldType.INTEGER, FieldType.DOUBLE):
        return str(value)
    if kind is FieldType.CHECKBOX:
        return "true" if value else "false"
    if kind is FieldType.DATETIME:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 16 else 12


def probes(item: Field, native: Any, first_of_type: bool) -> list[tuple[str, str, list[Any]]]:
    """(what, operator, values) the connector must refuse with invalid_restriction."""
    kind = item.type
    operators = OPERATORS[kind]
    operator = operators[0]
    found = [
        (f"{item.key} {operator} {[loosen(kind, native)]!r}", operator, [loosen(kind, native)])
    ]
    if not first_of_type:
        return found
    if operator in LIST_OPERATORS:
        found.append((f"{item.key} {operator} with no value", operator, []))
    else:
        found.append((f"{item.key} {operator} with two values", operator, [native, native]))
    if "between" in operators:
        found.append((f"{item.key} between with one value", "between", [native]))
    return found


@check(
    "search.restriction_values",
    "advanced search refuses values not native JSON of the field's type and wrong value counts "
    "with invalid_restriction (1.1)",
    'A connector that reads "12" as 12 or ignores a second value answers a question nobody '
    "asked; the client must learn its request is wrong.",
    needs=[Need.CONNECTION],
)
async def search_restriction_values(ctx: Context) -> str | None:
    from host.protocol.errors import ERRORS

    ctx.require_1_1("strict restriction values")
    guid = await ctx.connection()
    status_wanted = ERRORS[CODE].status

    async def one(actor_type: str) -> str | None:
        try:
            searchable = await ctx.client.searchable_fields(guid, actor_type)
        except CallFailed as exc:
            if error_code_of(exc) == "not_supported":
                raise skip("no searchable fields") from None
            raise
        fields = {f.key: f for f in await ctx.actor_fields(actor_type)}
        sample = await ctx.sample(actor_type)
        path = ops.SEARCH_ADVANCED.url(guid=guid, actor_type=actor_type)
        problems: list[str] = []
        seen: set[FieldType] = set()
        tried = 0
        for key in searchable:
            item = fields.get(key)
            if item is None or item.type not in OPERATORS:
                continue
            native = _native(item, sample)
            if native is None:
                continue
            operator = OPERATORS[item.type][0]
            control = {"field_key": key, "operator": operator, "values": [native]}
            status, body, text = await ctx.raw_answer(
                "POST", path, json={"restrictions": [control], "limit": 1}
            )
            if not isinstance(body, dict) or body.get("ok") is not True:
                code = body.get("error_code") if isinstance(body, dict) else text[:60]
                if code == "not_supported":
                    raise skip("not supported")
                problems.append(f"{key} {operator} {[native]!r} (native) refused: {code!r}")
                continue
            for what, op, values in probes(item, native, item.type not in seen):
                restriction = {"field_key": key, "operator": op, "values": values}
                status, body, text = await ctx.raw_answer(
                    "POST", path, json={"restrictions": [restriction], "limit": 1}
                )
                tried += 1
                code = body.get("error_code") if isinstance(body, dict) else None
                if not isinstance(body, dict) or body.get("ok") is not False:
                    problems.append(f"{what}: accepted")
                elif (code, status) != (CODE, status_wanted):
                    problems.append(f"{what}: HTTP {status} {code!r}")
            seen.add(item.type)
        if problems:
            raise fail(
                "; ".join(problems[:4]),
                expected=f"HTTP {status_wanted} {CODE} (values are native JSON of the field's "
                "type; `between` takes two values, oneof/notoneof one or more, others one)",
                got=problems[0],
            )
        if not tried:
            raise skip("no searchable field of a searchable type")
        return f"{tried} bad restrictions refused"

    return await per_type(ctx, one)
