"""Field values: admin input coerced per type, the legacy bracket encoding, and the per-field
validation report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from host.connector import Access, ConfigField, FieldType
from host.protocol.validation import validate_config
from host.protocol.values import (
    FieldValueError,
    coerce_value,
    decode_legacy,
    default_value,
    encode_legacy,
)


def field_of(kind: str, **kwargs: Any) -> ConfigField:
    return ConfigField("f", "F", FieldType(kind), **kwargs)


# --- coerce_value ----------------------------------------------------------------------------

ACCEPTED = [
    ("checkbox", "yes", True),
    ("checkbox", " TRUE ", True),
    ("checkbox", "on", True),
    ("checkbox", "0", False),
    ("checkbox", "", False),
    ("checkbox", "off", False),
    ("checkbox", 1, True),
    ("checkbox", False, False),
    ("integer", "42", 42),
    ("integer", " -7 ", -7),
    ("integer", "+3", 3),
    ("integer", 12, 12),
    ("integer", 3.0, 3),
    ("double", "12.5", 12.5),
    ("double", " -0.25 ", -0.25),
    ("double", "1e3", 1000.0),
    ("double", 3, 3.0),
    ("datetime", "2026-01-31T12:00:00", "2026-01-31T12:00:00"),
    ("datetime", "2026-01-31T12:00:00Z", "2026-01-31T12:00:00+00:00"),
    ("datetime", "2026-01-31", "2026-01-31T00:00:00"),
    ("datetime", datetime(2026, 1, 31, 8, 30), "2026-01-31T08:30:00"),
    ("text", "hello", "hello"),
    ("text", 5, "5"),
    ("password", "s3cret", "s3cret"),
    ("list", "item1", "item1"),
]


@pytest.mark.parametrize(("kind", "raw", "expected"), ACCEPTED)
def test_coerce_value_accepts_and_converts(kind: str, raw: Any, expected: Any) -> None:
    value = coerce_value(field_of(kind), raw)
    assert value == expected
    assert type(value) is type(expected)


REJECTED = [
    ("checkbox", "maybe", "true or false"),
    ("checkbox", 2, "true or false"),
    ("checkbox", 1.0, "true or false"),
    ("integer", "4.5", "whole number"),
    ("integer", 4.5, "whole number"),
    ("integer", "abc", "whole number"),
    ("integer", "", "whole number"),
    ("integer", True, "whole number"),
    ("double", "12,5", "number"),
    ("double", "nan", "finite"),
    ("double", "inf", "finite"),
    ("double", float("-inf"), "finite"),
    ("double", True, "number"),
    ("double", [1], "number"),
    ("datetime", "31/01/2026", "ISO 8601"),
    ("datetime", 1700000000, "ISO 8601"),
    ("text", True, "expected text"),
    ("text", {"a": 1}, "expected text"),
    ("password", ["x"], "expected text"),
]


@pytest.mark.parametrize(("kind", "raw", "message"), REJECTED)
def test_coerce_value_rejects_with_a_message(kind: str, raw: Any, message: str) -> None:
    with pytest.raises(FieldValueError, match=message):
        coerce_value(field_of(kind), raw)


def test_coerce_value_enforces_max_length_of_strings() -> None:
    item = field_of("text", max_length=5)
    assert coerce_value(item, "12345") == "12345"
    with pytest.raises(FieldValueError, match="6 characters long; at most 5"):
        coerce_value(item, "123456")
    assert coerce_value(field_of("text", max_length=0), "x" * 10_000) == "x" * 10_000


@pytest.mark.parametrize("kind", [t.value for t in FieldType])
def test_none_stays_none_for_every_type(kind: str) -> None:
    assert coerce_value(field_of(kind), None) is None


def test_default_values_that_do_not_parse_mean_zero() -> None:
    assert default_value(field_of("integer", default="12")) == 12
    assert default_value(field_of("integer", default="twelve")) == 0
    assert default_value(field_of("double", default="x")) == 0.0
    assert default_value(field_of("checkbox", default="yes")) is True
    assert default_value(field_of("text")) is None


# --- legacy encoding -------------------------------------------------------------------------


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_legacy_integer_round_trip(value: int) -> None:
    text = encode_legacy("integer", value)
    assert text == f"[I:{value}]"
    assert decode_legacy("integer", text) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
@example(12345.6789)
@example(0.1)
@example(-0.0)
def test_legacy_double_round_trip(value: float) -> None:
    text = encode_legacy("double", value)
    assert text.startswith("[F:") and text.endswith("]")
    assert decode_legacy("double", text) == value


@given(st.booleans())
def test_legacy_checkbox_round_trip(value: bool) -> None:
    text = encode_legacy("checkbox", value)
    assert text == ("[I:1]" if value else "[I:0]")
    assert decode_legacy("checkbox", text) is value


@given(st.datetimes())
@example(datetime(2013, 12, 31, 23, 59, 59))
@example(datetime(1, 1, 1))  # .NET DateTime.MinValue, the legacy "no date"
@example(datetime(999, 12, 31, 0, 0, 0, 1))
def test_legacy_datetime_round_trip_with_seven_fraction_digits(value: datetime) -> None:
    text = encode_legacy("datetime", value)
    stamp = text[len("[DT:") : -1]
    date_part, time_part = stamp.split(" ")
    month, day, year = date_part.split("/")
    assert (len(month), len(day), len(year)) == (2, 2, 4), text  # MM/dd/yyyy
    assert len(time_part.split(".")[1]) == 7, text
    assert decode_legacy("datetime", text) == value.isoformat()


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    )
)
def test_legacy_datetime_of_an_aware_moment_is_its_utc_time(value: datetime) -> None:
    expected = value.astimezone(UTC).replace(tzinfo=None)
    decoded = decode_legacy("datetime", encode_legacy("datetime", value))
    assert decoded == expected.isoformat()


@settings(max_examples=40)
@given(st.text())
def test_legacy_text_is_raw(value: str) -> None:
    for kind in ("text", "password", "list"):
        assert encode_legacy(kind, value) == value
        assert decode_legacy(kind, value) == value


def test_legacy_examples_from_the_original_web_service() -> None:
    assert encode_legacy("integer", 12345) == "[I:12345]"
    assert encode_legacy("double", 12345.6789) == "[F:12345.6789]"
    assert decode_legacy("double", "[D:0.0]") == 0.0  # older samples
    assert decode_legacy("double", "[I:3]") == 3.0
    assert (
        encode_legacy("datetime", datetime(2013, 12, 31, 23, 59, 59))
        == "[DT:12/31/2013 23:59:59.0000000]"
    )
    assert decode_legacy("datetime", "[DT:12/31/2013 23:59:59.0000000]") == "2013-12-31T23:59:59"
    assert decode_legacy("datetime", "[DT:01/02/2013 03:04:05.1234567]") == (
        "2013-01-02T03:04:05.123456"  # 100 ns ticks below a microsecond are dropped
    )
    assert decode_legacy("datetime", "[DT:01/02/2013 03:04:05]") == "2013-01-02T03:04:05"
    aware = datetime(2013, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=2)))
    assert encode_legacy("datetime", aware) == "[DT:12/31/2013 21:59:59.0000000]"
    assert encode_legacy("integer", None) == ""
    assert decode_legacy("integer", "") is None


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("integer", "12"),
        ("integer", "[F:1.5]"),
        ("integer", "[I:1.5]"),
        ("checkbox", "[I:2]"),
        ("checkbox", "[F:1]"),
        ("double", "[F:abc]"),
        ("double", "[DT:12/31/2013 23:59:59.0000000]"),
        ("datetime", "[DT:2013-12-31 23:59:59]"),
        ("datetime", "[DT:13/45/2013 23:59:59.0000000]"),
        ("datetime", "[DT:12/31/2013 23:59:59.12345678]"),
        ("datetime", "[DT:12/31/2013 23:59:59.12a]"),
        ("datetime", "[I:5]"),
    ],
)
def test_decode_legacy_rejects_what_is_not_legacy(kind: str, text: str) -> None:
    with pytest.raises(FieldValueError):
        decode_legacy(kind, text)


# --- validate_config -------------------------------------------------------------------------

FIELDS = [
    ConfigField("server", "Server", FieldType.TEXT, access=Access.MANDATORY, rank=10),
    ConfigField("password", "Password", FieldType.PASSWORD, access=Access.MANDATORY, rank=30),
    ConfigField("company", "Company", FieldType.INTEGER, rank=20),
    ConfigField("sep", "Separator", FieldType.LIST, list_name="seps", rank=40),
    ConfigField("read_only", "Read only", FieldType.CHECKBOX, rank=50),
    ConfigField("version", "Version", FieldType.TEXT, access=Access.READONLY, rank=60),
    ConfigField("note", "A note", FieldType.LABEL, rank=70),
]


def test_a_valid_config_has_no_errors_and_typed_values() -> None:
    report = validate_config(
        FIELDS,
        {"server": "erp", "password": "pw", "company": "2", "sep": ",", "read_only": ""},
        lists={"seps": [".", ","]},
    )
    assert report.ok and report.error_count == 0
    assert report.values() == {
        "server": "erp",
        "password": "pw",
        "company": 2,
        "sep": ",",
        "read_only": False,
    }


def test_the_report_has_one_entry_per_field_in_rank_order_with_secrets_masked() -> None:
    values = {
        "server": "",
        "password": "hunter2",
        "company": "two",
        "sep": ";",
        "version": "9",
        "note": "hi",
        "colour": "blue",
    }
    report = validate_config(FIELDS, values, lists={"seps": [".", ","]})
    data = report.to_dict()
    assert set(data) == {"error_count", "fields", "unknown_keys"}
    assert [f["name"] for f in data["fields"]] == [
        "server",
        "company",
        "password",
        "sep",
        "read_only",
        "version",
        "note",
    ]
    by_name = {f["name"]: f for f in data["fields"]}
    for entry in data["fields"]:
        assert set(entry) == {"name", "display_name", "value", "errors", "visible"}
        assert entry["visible"] is True
    assert by_name["password"]["value"] == "****"
    assert by_name["password"]["errors"] == []
    assert "hunter2" not in repr(data)
    assert by_name["server"]["errors"] == ["is mandatory"]
    assert by_name["company"]["value"] == "two"
    assert "whole number" in by_name["company"]["errors"][0]
    assert "not in list seps" in by_name["sep"]["errors"][0]
    assert "read-only" in by_name["version"]["errors"][0]
    assert "label" in by_name["note"]["errors"][0]
    assert by_name["read_only"] == {
        "name": "read_only",
        "display_name": "Read only",
        "value": None,
        "errors": [],
        "visible": True,
    }
    assert data["unknown_keys"] == ["colour"]
    assert data["error_count"] == 6 == report.error_count
    assert not report.ok
    problems = report.problems()
    assert "server: is mandatory" in problems
    assert "colour: not a config field of this connector" in problems
    assert all("hunter2" not in p for p in problems)


def test_an_empty_secret_is_not_masked_and_mandatory_can_be_relaxed() -> None:
    report = validate_config(FIELDS, {"server": "erp"}, require_mandatory=False)
    assert report.ok
    password = next(f for f in report.to_dict()["fields"] if f["name"] == "password")
    assert password["value"] is None
    strict = validate_config(FIELDS, {"server": "erp", "password": ""})
    assert strict.problems() == ["password: is mandatory"]
