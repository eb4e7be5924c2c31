"""Advanced-search helpers a connector can reuse: one restriction against one value, and a filter.

The domain fixes which operators each field type has (see the domain reference); implementing
them once here means every connector answers `search_advanced` with the same semantics, and a
connector whose ERP has no query language can filter in memory:

    from host.search import filter_actors

    def search_advanced(self, connection, actor_type, restrictions, field_keys):
        fields = {f.key: f for f in self.actor_fields(connection, actor_type)}
        return filter_actors(all_my_actors, fields, restrictions)

(The host pages the answer for the client: return every match, protocol v1.1 never cuts it.)

Semantics, per field type:

- text (case-insensitive, compared with `str.casefold`): `=`, `begins`, `contains`, `ends`,
  their negations `notbegins`, `notcontains`, `notends`, `isnot` (not equal) and `between`
  (inclusive, two values). An empty value (None) is the empty string.
- integer / double: `=`, `>`, `<`, `>=`, `<=`, `!=`, `between` (inclusive). An empty value
  matches no comparison, except `!=`, which is always the complement of `=`.
- checkbox: `=`. An empty value is false.
- list: `oneof`, `notoneof` (one or more item keys; compared as strings).
- datetime (ISO 8601 strings, compared as moments; a value without an offset is taken as UTC):
  `=`, `before`, `after`, `beforeOrEqual`, `afterOrEqual`, `between` (inclusive). An empty
  value matches nothing.

Operator names are matched case-insensitively. Restriction values arrive as native JSON but
may be strings (`"12"` for an integer field): they are coerced with the field's type. An
operator the type does not have, the wrong number of values, or a value that does not fit the
type raises `ConnectorError(error_code="invalid_restriction")`, which the connector host answers
as an error envelope naming the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from host.connector import Actor, ConnectorError, Field, FieldType, Restriction
from host.protocol.values import FieldValueError, coerce_value

PARENT_ERP_KEY = "parent_erp_key"
PARENT_ACTOR_TYPE = "parent_actor_type"
SPECIAL_KEYS: tuple[str, ...] = (PARENT_ERP_KEY, PARENT_ACTOR_TYPE)
"""Restriction keys that address the actor's parent rather than a field (domain rule)."""

Predicate = Callable[[Any], bool]

TEXT_OPERATORS = (
    "=",
    "begins",
    "contains",
    "ends",
    "notbegins",
    "notcontains",
    "notends",
    "isnot",
    "between",
)
NUMBER_OPERATORS = ("=", ">", "<", ">=", "<=", "!=", "between")
CHECKBOX_OPERATORS = ("=",)
LIST_OPERATORS = ("oneof", "notoneof")
DATETIME_OPERATORS = ("=", "before", "after", "beforeOrEqual", "afterOrEqual", "between")

OPERATORS: dict[FieldType, tuple[str, ...]] = {
    FieldType.TEXT: TEXT_OPERATORS,
    FieldType.INTEGER: NUMBER_OPERATORS,
    FieldType.DOUBLE: NUMBER_OPERATORS,
    FieldType.CHECKBOX: CHECKBOX_OPERATORS,
    FieldType.LIST: LIST_OPERATORS,
    FieldType.DATETIME: DATETIME_OPERATORS,
}
"""The operators of each searchable field type; password and label fields are not searchable."""


def _invalid(message: str, tech: str = "") -> ConnectorError:
    return ConnectorError(message, tech, "invalid_restriction")


def _canonical_operator(restriction: Restriction, kind: FieldType) -> str:
    allowed = OPERATORS.get(kind)
    if allowed is None:
        raise _invalid(
            f"Field {restriction.field_key!r} is of type {kind.value} and cannot be searched.",
            "searchable types: " + ", ".join(t.value for t in OPERATORS),
        )
    wanted = str(restriction.operator).strip().casefold()
    for name in allowed:
        if name.casefold() == wanted:
            return name
    raise _invalid(
        f"Operator {restriction.operator!r} cannot be used on {kind.value} field "
        f"{restriction.field_key!r}.",
        f"operators for {kind.value}: {', '.join(allowed)}",
    )


def _check_count(restriction: Restriction, operator: str) -> None:
    count = len(restriction.values)
    if operator == "between":
        ok, expected = count == 2, "exactly two values (from, to)"
    elif operator in LIST_OPERATORS:
        ok, expected = count >= 1, "one or more values"
    else:
        ok, expected = count == 1, "exactly one value"
    if not ok:
        raise _invalid(
            f"Operator {operator!r} on {restriction.field_key!r} takes {expected}; got {count}.",
            f"values: {list(restriction.values)!r}",
        )


def _coerce_wanted(restriction: Restriction, kind: FieldType) -> list[Any]:
    """The restriction's values as native values of `kind`; None is not a search value."""
    probe = Field(restriction.field_key, restriction.field_key, kind)
    wanted: list[Any] = []
    for value in restriction.values:
        try:
            native = coerce_value(probe, value)
        except FieldValueError as exc:
            raise _invalid(
                f"Value {value!r} does not fit {kind.value} field {restriction.field_key!r}: {exc}."
            ) from None
        if native is None:
            raise _invalid(f"An empty value cannot be searched for in {restriction.field_key!r}.")
        wanted.append(native)
    return wanted


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return (value if isinstance(value, str) else str(value)).casefold()


def _as_moment(value: Any) -> datetime | None:
    """An ISO 8601 value as an aware datetime (naive means UTC), or None when empty or bad."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text_predicate(operator: str, wanted: list[Any]) -> Predicate:
    needles = [_as_text(w) for w in wanted]
    first = needles[0]
    if operator == "between":
        low, high = needles
        return lambda v: low <= _as_text(v) <= high
    positive: dict[str, Predicate] = {
        "=": lambda v: _as_text(v) == first,
        "begins": lambda v: _as_text(v).startswith(first),
        "contains": lambda v: first in _as_text(v),
        "ends": lambda v: _as_text(v).endswith(first),
    }
    negated = {"isnot": "=", "notbegins": "begins", "notcontains": "contains", "notends": "ends"}
    if operator in negated:
        base = positive[negated[operator]]
        return lambda v: not base(v)
    return positive[operator]


def _number_predicate(operator: str, wanted: list[Any], kind: FieldType) -> Predicate:
    probe = Field("value", "value", kind)

    def number(value: Any) -> float | int | None:
        if value is None:
            return None
        try:
            native: float | int | None = coerce_value(probe, value)
        except FieldValueError:
            return None
        return native

    first = wanted[0]
    compare: dict[str, Callable[[Any], bool]] = {
        "=": lambda n: n == first,
        ">": lambda n: n > first,
        "<": lambda n: n < first,
        ">=": lambda n: n >= first,
        "<=": lambda n: n <= first,
        "between": lambda n: wanted[0] <= n <= wanted[1],
    }
    if operator == "!=":
        return lambda v: not ((n := number(v)) is not None and n == first)
    test = compare[operator]
    return lambda v: (n := number(v)) is not None and test(n)


def _checkbox_predicate(wanted: list[Any]) -> Predicate:
    expected = bool(wanted[0])

    def flag(value: Any) -> bool:
        if value is None:
            return False
        try:
            return bool(coerce_value(Field("value", "value", FieldType.CHECKBOX), value))
        except FieldValueError:
            return False

    return lambda v: flag(v) == expected


def _list_predicate(operator: str, wanted: list[Any]) -> Predicate:
    keys = frozenset(str(w) for w in wanted)
    if operator == "oneof":
        return lambda v: v is not None and str(v) in keys
    return lambda v: not (v is not None and str(v) in keys)


def _datetime_predicate(operator: str, wanted: list[Any]) -> Predicate:
    bounds: list[datetime] = []
    for item in wanted:
        moment = _as_moment(item)
        if moment is None:  # coerce_value already checked; this keeps the types honest
            raise _invalid(f"Value {item!r} is not an ISO 8601 date-time.")
        bounds.append(moment)
    first = bounds[0]
    compare: dict[str, Callable[[datetime], bool]] = {
        "=": lambda m: m == first,
        "before": lambda m: m < first,
        "after": lambda m: m > first,
        "beforeOrEqual": lambda m: m <= first,
        "afterOrEqual": lambda m: m >= first,
        "between": lambda m: bounds[0] <= m <= bounds[1],
    }
    test = compare[operator]
    return lambda v: (m := _as_moment(v)) is not None and test(m)


def compile_restriction(restriction: Restriction, field_type: FieldType | str) -> Predicate:
    """A predicate `value -> bool` for one restriction, checked and coerced once.

    Use it when testing many values (it is what `matches` and `filter_actors` build on), so the
    restriction's values are parsed once rather than per actor.
    """
    try:
        kind = FieldType(field_type)
    except ValueError:
        raise _invalid(f"Unknown field type {field_type!r}.") from None
    operator = _canonical_operator(restriction, kind)
    _check_count(restriction, operator)
    wanted = _coerce_wanted(restriction, kind)
    if kind is FieldType.TEXT:
        return _text_predicate(operator, wanted)
    if kind in (FieldType.INTEGER, FieldType.DOUBLE):
        return _number_predicate(operator, wanted, kind)
    if kind is FieldType.CHECKBOX:
        return _checkbox_predicate(wanted)
    if kind is FieldType.LIST:
        return _list_predicate(operator, wanted)
    return _datetime_predicate(operator, wanted)


def matches(restriction: Restriction, field_type: FieldType | str, value: Any) -> bool:
    """Whether `value` (of a field of `field_type`) satisfies `restriction`.

    Raises ConnectorError(error_code="invalid_restriction") for an operator the type does not
    have or the wrong number of values, so a bad query is an answer, not an empty result.
    """
    return compile_restriction(restriction, field_type)(value)


def _actor_getter(key: str) -> Callable[[Actor], Any]:
    if key == PARENT_ERP_KEY:
        return lambda actor: actor.parent_erp_key
    if key == PARENT_ACTOR_TYPE:
        return lambda actor: actor.parent_actor_type
    return lambda actor: actor.field_values.get(key)


def compile_restrictions(
    fields_by_key: Mapping[str, Field], restrictions: Sequence[Restriction]
) -> Callable[[Actor], bool]:
    """One predicate `actor -> bool` that ANDs all restrictions (no restriction: all match)."""
    tests: list[tuple[Callable[[Actor], Any], Predicate]] = []
    for restriction in restrictions:
        key = restriction.field_key
        if key in SPECIAL_KEYS:
            kind = FieldType.TEXT
        elif key in fields_by_key:
            kind = fields_by_key[key].type
        else:
            known = ", ".join([*sorted(fields_by_key), *SPECIAL_KEYS])
            raise _invalid(f"There is no field {key!r} to search on.", f"fields: {known}")
        tests.append((_actor_getter(key), compile_restriction(restriction, kind)))

    def predicate(actor: Actor) -> bool:
        return all(test(get(actor)) for get, test in tests)

    return predicate


def filter_actors(
    actors: Iterable[Actor],
    fields_by_key: Mapping[str, Field],
    restrictions: Sequence[Restriction],
    *,
    limit: int | None = None,
) -> list[Actor]:
    """The actors that satisfy every restriction, in input order, at most `limit` of them.

    `fields_by_key` gives each field's type; the special keys `parent_erp_key` and
    `parent_actor_type` compare the actor's parent as text. All restrictions are checked
    before any actor is looked at, so a bad restriction fails even on an empty input.
    """
    predicate = compile_restrictions(fields_by_key, restrictions)
    found: list[Actor] = []
    if limit is not None and limit <= 0:
        return found
    for actor in actors:
        if predicate(actor):
            found.append(actor)
            if limit is not None and len(found) >= limit:
                break
    return found
