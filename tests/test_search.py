"""host.search: every operator of every field type, checked against Python's own semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.connector import Actor, ConnectorError, Field, FieldType, Restriction
from host.search import compile_restrictions, filter_actors, matches, native_restriction

TEXT, INTEGER, DOUBLE = FieldType.TEXT, FieldType.INTEGER, FieldType.DOUBLE
CHECKBOX, LIST, DATETIME = FieldType.CHECKBOX, FieldType.LIST, FieldType.DATETIME

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
# Short strings over a small alphabet (with case and non-ASCII pairs) so substrings do occur.
small_texts = st.text(alphabet="abAB øØßSs", max_size=6)
ints = st.integers(min_value=-(10**6), max_value=10**6)
floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def r(operator: str, *values: Any, key: str = "F") -> Restriction:
    return Restriction(key, operator, tuple(values))


def invalid(call: Any) -> str:
    with pytest.raises(ConnectorError) as caught:
        call()
    assert caught.value.response.error_code == "invalid_restriction"
    return caught.value.response.user_explanation


# --- text --------------------------------------------------------------------------------


@given(value=small_texts, needle=small_texts)
def test_text_contains_begins_ends_agree_with_casefolded_python(value: str, needle: str) -> None:
    v, n = value.casefold(), needle.casefold()
    assert matches(r("contains", needle), TEXT, value) == (n in v)
    assert matches(r("begins", needle), TEXT, value) == v.startswith(n)
    assert matches(r("ends", needle), TEXT, value) == v.endswith(n)
    assert matches(r("=", needle), TEXT, value) == (v == n)


@given(value=texts, needle=texts)
def test_text_contains_on_arbitrary_unicode(value: str, needle: str) -> None:
    assert matches(r("contains", needle), TEXT, value) == (needle.casefold() in value.casefold())


@pytest.mark.parametrize(
    ("negated", "positive"),
    [("notcontains", "contains"), ("notbegins", "begins"), ("notends", "ends"), ("isnot", "=")],
)
@given(value=st.one_of(st.none(), small_texts), needle=small_texts)
def test_text_negations_are_complements(
    negated: str, positive: str, value: str | None, needle: str
) -> None:
    assert matches(r(negated, needle), TEXT, value) is not matches(r(positive, needle), TEXT, value)


@given(value=small_texts, low=small_texts, high=small_texts)
def test_text_between_is_inclusive_and_case_insensitive(value: str, low: str, high: str) -> None:
    expected = low.casefold() <= value.casefold() <= high.casefold()
    assert matches(r("between", low, high), TEXT, value) == expected


def test_text_examples() -> None:
    assert matches(r("contains", "FJORD"), TEXT, "Nordic Fjordkraft AS")
    assert matches(r("begins", "nordic"), TEXT, "Nordic Fjordkraft AS")
    assert not matches(r("ends", "ASA"), TEXT, "Nordic Fjordkraft AS")
    assert matches(r("=", "TROMSØ"), TEXT, "tromsø")
    assert matches(r("=", "STRASSE"), TEXT, "straße")  # casefold, not lower
    assert matches(r("=", ""), TEXT, None)  # an empty value is the empty string
    assert matches(r("=", 123), TEXT, "123", strict=False)  # typed loosely, not off the wire


# --- numbers -----------------------------------------------------------------------------

NUMBER_OPS = {
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "!=": lambda a, b: a != b,
}


@pytest.mark.parametrize("operator", sorted(NUMBER_OPS))
@given(value=ints, wanted=ints, as_string=st.booleans())
def test_integer_operators_agree_with_python(
    operator: str, value: int, wanted: int, as_string: bool
) -> None:
    # Strings (as typed on the command line) are parsed with the field's type when not strict.
    given_value: Any = str(wanted) if as_string else wanted
    expected = NUMBER_OPS[operator](value, wanted)
    assert matches(r(operator, given_value), INTEGER, value, strict=not as_string) == expected


@pytest.mark.parametrize("operator", sorted(NUMBER_OPS))
@given(value=floats, wanted=floats)
def test_double_operators_agree_with_python(operator: str, value: float, wanted: float) -> None:
    assert matches(r(operator, wanted), DOUBLE, value) == NUMBER_OPS[operator](value, wanted)


@given(value=ints, low=ints, high=ints)
def test_integer_between_equals_ge_and_le(value: int, low: int, high: int) -> None:
    both = matches(r(">=", low), INTEGER, value) and matches(r("<=", high), INTEGER, value)
    assert matches(r("between", low, high), INTEGER, value) == both


@given(value=floats, low=floats, high=floats)
def test_double_between_equals_ge_and_le(value: float, low: float, high: float) -> None:
    both = matches(r(">=", low), DOUBLE, value) and matches(r("<=", high), DOUBLE, value)
    assert matches(r("between", low, high), DOUBLE, value) == both


@given(wanted=ints)
def test_an_empty_number_matches_no_comparison_but_is_not_equal(wanted: int) -> None:
    for operator in ("=", ">", "<", ">=", "<="):
        assert not matches(r(operator, wanted), INTEGER, None)
    assert not matches(r("between", wanted, wanted + 1), INTEGER, None)
    assert matches(r("!=", wanted), INTEGER, None)


def test_numbers_stored_as_strings_are_compared_as_numbers() -> None:
    assert matches(r(">", 9), INTEGER, "10")  # "10" > "9" would be False as text
    assert matches(r("=", 2.5), DOUBLE, "2.50")
    assert not matches(r("=", 1), INTEGER, "not a number")


# --- checkbox and list -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "value", "expected"),
    [
        (True, True, True),
        ("true", True, True),
        ("1", False, False),
        (False, None, True),  # empty means false
        ("0", False, True),
        (1, True, True),
    ],
)
def test_checkbox_equals(wanted: Any, value: Any, expected: bool) -> None:
    strict = isinstance(wanted, bool)  # the others are as typed, not off the wire
    assert matches(r("=", wanted), CHECKBOX, value, strict=strict) is expected


@given(
    value=st.one_of(st.none(), st.sampled_from("ABCDE")),
    keys=st.sets(st.sampled_from("ABCDE"), min_size=1),
)
def test_list_oneof_and_notoneof_are_complements(value: str | None, keys: set[str]) -> None:
    wanted = sorted(keys)
    inside = matches(r("oneof", *wanted), LIST, value)
    assert inside == (value in keys)
    assert matches(r("notoneof", *wanted), LIST, value) is not inside


def test_list_keys_compare_as_strings() -> None:
    assert matches(r("oneof", 10, 20), LIST, "10", strict=False)
    assert matches(r("oneof", "10"), LIST, 10)


# --- datetime ----------------------------------------------------------------------------

DATETIME_OPS = {
    "=": lambda a, b: a == b,
    "before": lambda a, b: a < b,
    "after": lambda a, b: a > b,
    "beforeOrEqual": lambda a, b: a <= b,
    "afterOrEqual": lambda a, b: a >= b,
}


@pytest.mark.parametrize("operator", sorted(DATETIME_OPS))
@given(value=moments, wanted=moments, offset_hours=st.integers(-12, 12))
def test_datetime_operators_compare_moments_not_strings(
    operator: str, value: datetime, wanted: datetime, offset_hours: int
) -> None:
    # The restriction is written in another offset: the same moment, a different string.
    zone = timezone(timedelta(hours=offset_hours))
    wanted_text = wanted.astimezone(zone).isoformat()
    expected = DATETIME_OPS[operator](value, wanted)
    assert matches(r(operator, wanted_text), DATETIME, value.isoformat()) == expected


@given(value=moments, low=moments, high=moments)
def test_datetime_between_equals_after_or_equal_and_before_or_equal(
    value: datetime, low: datetime, high: datetime
) -> None:
    v, lo, hi = value.isoformat(), low.isoformat(), high.isoformat()
    both = matches(r("afterOrEqual", lo), DATETIME, v) and matches(
        r("beforeOrEqual", hi), DATETIME, v
    )
    assert matches(r("between", lo, hi), DATETIME, v) == both


def test_datetime_examples() -> None:
    assert matches(r("=", "2024-01-01"), DATETIME, "2024-01-01T00:00:00")  # a date is midnight
    assert matches(r("before", "2024-01-01T11:00:00Z"), DATETIME, "2024-01-01T12:00:00+02:00")
    assert matches(r("after", "2023-12-31T23:59:59"), DATETIME, "2024-01-01T00:00:00Z")
    assert not matches(r("before", "2100-01-01"), DATETIME, None)  # empty matches nothing
    assert not matches(r("after", "1900-01-01"), DATETIME, "garbage")
    assert matches(r("BEFOREorequal", "2024-01-01"), DATETIME, "2024-01-01")  # case-insensitive


# --- invalid restrictions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_type", "operator"),
    [
        (TEXT, ">"),
        (TEXT, "oneof"),
        (INTEGER, "contains"),
        (INTEGER, "before"),
        (DOUBLE, "isnot"),
        (CHECKBOX, "!="),
        (LIST, "="),
        (DATETIME, ">"),
        (DATETIME, "contains"),
        (TEXT, "like"),
    ],
)
def test_an_operator_the_type_does_not_have_is_invalid(
    field_type: FieldType, operator: str
) -> None:
    message = invalid(lambda: matches(r(operator, "1"), field_type, "1"))
    assert operator in message and field_type.value in message


@pytest.mark.parametrize(
    ("field_type", "operator", "values"),
    [
        (TEXT, "contains", ()),
        (TEXT, "=", ("a", "b")),
        (TEXT, "between", ("a",)),
        (INTEGER, "between", (1, 2, 3)),
        (INTEGER, ">", ()),
        (CHECKBOX, "=", (True, False)),
        (LIST, "oneof", ()),
        (DATETIME, "between", ("2024-01-01",)),
    ],
)
def test_the_wrong_number_of_values_is_invalid(
    field_type: FieldType, operator: str, values: tuple[Any, ...]
) -> None:
    message = invalid(lambda: matches(Restriction("F", operator, values), field_type, "1"))
    assert f"got {len(values)}" in message


@pytest.mark.parametrize(
    ("field_type", "value"),
    [
        (INTEGER, "twelve"),
        (INTEGER, "1.5"),
        (DOUBLE, "NaN"),
        (DATETIME, "31/12/2024"),
        (CHECKBOX, "maybe"),
        (TEXT, True),
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_a_value_that_does_not_fit_the_type_is_invalid(
    field_type: FieldType, value: Any, strict: bool
) -> None:
    operator = {CHECKBOX: "=", DATETIME: "before"}.get(field_type, "=")
    invalid(lambda: matches(r(operator, value), field_type, None, strict=strict))


@pytest.mark.parametrize(
    ("field_type", "operator", "value", "expected"),
    [
        (INTEGER, "=", "12", "JSON integer"),
        (INTEGER, ">", 12.0, "JSON integer"),
        (INTEGER, "<", True, "JSON integer"),
        (DOUBLE, ">=", "12.5", "JSON number"),
        (DOUBLE, "=", False, "JSON number"),
        (CHECKBOX, "=", "true", "true or false"),
        (CHECKBOX, "=", 1, "true or false"),
        (TEXT, "contains", 12, "JSON string"),
        (LIST, "oneof", 10, "JSON string"),
        (DATETIME, "after", 1767225600, "JSON string"),
        (DATETIME, "before", True, "JSON string"),
    ],
)
def test_strict_values_must_be_native_json_of_the_type(
    field_type: FieldType, operator: str, value: Any, expected: str
) -> None:
    # The wire's rule (the default): "12" for an integer field is refused, never converted.
    restriction = Restriction("CREDIT", operator, (value,))
    message = invalid(lambda: matches(restriction, field_type, None))
    assert "'CREDIT'" in message and repr(operator) in message and expected in message
    invalid(lambda: filter_actors([], {"CREDIT": Field("CREDIT", "C", field_type)}, [restriction]))


@pytest.mark.parametrize(
    ("field_type", "operator", "typed", "native"),
    [
        (INTEGER, ">=", ("12",), (12,)),
        (DOUBLE, "between", ("1000", "2.5"), (1000.0, 2.5)),
        (CHECKBOX, "=", ("yes",), (True,)),
        (DATETIME, "AFTER", ("2026-01-31",), ("2026-01-31T00:00:00",)),
        (LIST, "oneof", ("A", "B"), ("A", "B")),
        (TEXT, "contains", ("12",), ("12",)),
    ],
)
def test_native_restriction_converts_typed_strings_by_the_field_type(
    field_type: FieldType, operator: str, typed: tuple[str, ...], native: tuple[Any, ...]
) -> None:
    converted = native_restriction(Restriction("F", operator, typed), field_type)
    assert converted.values == native
    assert [type(v) for v in converted.values] == [type(v) for v in native]
    matches(converted, field_type, None)  # passes the wire's strict check
    message = invalid(lambda: native_restriction(Restriction("F", "=", ("x1",)), INTEGER))
    assert "'F'" in message and "whole number" in message


@pytest.mark.parametrize("field_type", [FieldType.PASSWORD, FieldType.LABEL, "nonsense"])
def test_passwords_and_labels_cannot_be_searched(field_type: Any) -> None:
    invalid(lambda: matches(r("=", "x"), field_type, "x"))


# --- filter_actors -----------------------------------------------------------------------

FIELDS = {
    "NAME": Field("NAME", "Name", TEXT),
    "NO": Field("NO", "Number", INTEGER),
    "GROUP": Field("GROUP", "Group", LIST, list_name="groups"),
    "ACTIVE": Field("ACTIVE", "Active", CHECKBOX),
}


def actor(key: str, name: str, no: int, group: str, active: bool, parent: str = "") -> Actor:
    return Actor(
        "person" if parent else "customer",
        key,
        f"{int(key):014d}",
        "customer" if parent else "",
        parent,
        {"NAME": name, "NO": no, "GROUP": group, "ACTIVE": active},
    )


ACTORS = [
    actor("1", "Fjord AS", 10, "A", True),
    actor("2", "Fjell AS", 20, "B", True),
    actor("3", "Fjord Sjømat", 30, "A", False),
    actor("4", "Kari Fjord", 40, "C", True, parent="1"),
    actor("5", "Ola Berg", 50, "A", True, parent="3"),
]


def keys(found: list[Actor]) -> list[str]:
    return [a.erp_key for a in found]


def test_filter_ands_restrictions_and_keeps_input_order() -> None:
    found = filter_actors(
        ACTORS,
        FIELDS,
        [
            r("contains", "fjord", key="NAME"),
            r("oneof", "A", "C", key="GROUP"),
            r("=", True, key="ACTIVE"),
        ],
    )
    assert keys(found) == ["1", "4"]
    assert keys(filter_actors(ACTORS, FIELDS, [])) == ["1", "2", "3", "4", "5"]


def test_filter_honours_the_parent_keys() -> None:
    by_parent = [r("=", "3", key="parent_erp_key")]
    assert keys(filter_actors(ACTORS, FIELDS, by_parent)) == ["5"]
    children = [r("=", "CUSTOMER", key="parent_actor_type")]  # text: case-insensitive
    assert keys(filter_actors(ACTORS, FIELDS, children)) == ["4", "5"]
    top_level = [r("=", "", key="parent_actor_type"), r(">", 15, key="NO")]
    assert keys(filter_actors(ACTORS, FIELDS, top_level)) == ["2", "3"]


def test_filter_stops_at_the_limit() -> None:
    assert keys(filter_actors(ACTORS, FIELDS, [], limit=2)) == ["1", "2"]
    assert filter_actors(ACTORS, FIELDS, [], limit=0) == []


def test_filter_rejects_an_unknown_field_even_on_no_actors() -> None:
    message = invalid(lambda: filter_actors([], FIELDS, [r("=", "x", key="NOPE")]))
    assert "NOPE" in message
    invalid(lambda: filter_actors([], FIELDS, [r("contains", "1", key="NO")]))


@given(
    restrictions=st.lists(
        st.one_of(
            st.builds(lambda n: r("contains", n, key="NAME"), small_texts),
            st.builds(lambda n: r(">=", n, key="NO"), st.integers(0, 60)),
            st.builds(lambda g: r("notoneof", g, key="GROUP"), st.sampled_from("ABC")),
        ),
        max_size=3,
    )
)
def test_filter_equals_the_conjunction_of_matches(restrictions: list[Restriction]) -> None:
    expected = [
        a
        for a in ACTORS
        if all(
            matches(x, FIELDS[x.field_key].type, a.field_values[x.field_key]) for x in restrictions
        )
    ]
    assert filter_actors(ACTORS, FIELDS, restrictions) == expected
    predicate = compile_restrictions(FIELDS, restrictions)
    assert [a for a in ACTORS if predicate(a)] == expected
