"""Field values: native JSON per field type, parsing of admin input, and the legacy encoding.

The wire carries native JSON (bool, int, float, ISO 8601 strings). Admins type strings, and
connectors ported from the original web service speak bracket-encoded strings; both are
converted here so the rules live in one place.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from host.connector import Field, FieldType

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off", ""}


class FieldValueError(ValueError):
    """A value that does not fit its field; the message says what is expected."""


def coerce_value(field: Field, value: Any, *, strict: bool = False) -> Any:
    """Return `value` as the native JSON value of `field`'s type, or raise FieldValueError.

    Strings are parsed (this is how `--config KEY=VALUE` input arrives); native values are
    checked. `strict` is the wire's rule: only the native JSON type of the field is taken
    (a boolean for a checkbox, an integer for an integer ...), nothing is parsed or converted.
    `None` stays `None` (an empty value); mandatory checks are the caller's.
    """
    if value is None:
        return None
    if strict:
        _check_native(field, value)
    kind = field.type
    if kind is FieldType.CHECKBOX:
        return _to_bool(value)
    if kind is FieldType.INTEGER:
        return _to_int(value)
    if kind is FieldType.DOUBLE:
        return _to_float(value)
    if kind is FieldType.DATETIME:
        return _to_datetime(value)
    if not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldValueError(f"expected text, got {type(value).__name__}")
        value = str(value)
    if field.max_length and len(value) > field.max_length:
        raise FieldValueError(
            f"is {len(value)} characters long; at most {field.max_length} allowed"
        )
    return value


_NATIVE: dict[FieldType, tuple[type, ...]] = {
    FieldType.CHECKBOX: (bool,),
    FieldType.INTEGER: (int,),
    FieldType.DOUBLE: (int, float),
}
_NATIVE_NAMES = {
    FieldType.CHECKBOX: "true or false",
    FieldType.INTEGER: "a JSON integer",
    FieldType.DOUBLE: "a JSON number",
}


def _check_native(field: Field, value: Any) -> None:
    """Raise unless `value` is the native JSON type of the field (strict wire values)."""
    kind = field.type
    allowed = _NATIVE.get(kind, (str,))
    is_bool = isinstance(value, bool)
    if isinstance(value, allowed) and (kind is FieldType.CHECKBOX or not is_bool):
        return
    expected = _NATIVE_NAMES.get(kind, "a JSON string")
    raise FieldValueError(f"expected {expected}, got {type(value).__name__} {value!r}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise FieldValueError(f"expected true or false, got {value!r}")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise FieldValueError(f"expected a whole number, got {value!r}")


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise FieldValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise FieldValueError(f"expected a number such as 12.5, got {value!r}") from None
    else:
        raise FieldValueError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(result):
        raise FieldValueError(f"expected a finite number, got {value!r}")
    return result


def _to_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FieldValueError(
                f"expected an ISO 8601 date or date-time such as 2026-01-31T12:00:00, got {value!r}"
            ) from None
    else:
        raise FieldValueError(f"expected an ISO 8601 date-time string, got {value!r}")
    return parsed.isoformat()


def default_value(field: Field) -> Any:
    """The pre-filled value of a field; integer/double defaults that do not parse mean 0."""
    if field.default is None:
        return None
    if field.type in (FieldType.INTEGER, FieldType.DOUBLE):
        try:
            return coerce_value(field, field.default)
        except FieldValueError:
            return 0 if field.type is FieldType.INTEGER else 0.0
    return coerce_value(field, field.default)


# --- legacy bracket encoding -------------------------------------------------------------

_LEGACY_DT_FORMAT = "%m/%d/%Y %H:%M:%S"
_LEGACY = re.compile(r"^\[(I|F|D|DT):(.*)\]$", re.DOTALL)


def encode_legacy(field_type: str, value: Any) -> str:
    """Encode a native value the way the original string-only web service did.

    >>> encode_legacy("integer", 12345)
    '[I:12345]'
    """
    kind = FieldType(field_type)
    if value is None:
        return ""
    if kind is FieldType.CHECKBOX:
        return "[I:1]" if _to_bool(value) else "[I:0]"
    if kind is FieldType.INTEGER:
        return f"[I:{_to_int(value)}]"
    if kind is FieldType.DOUBLE:
        return f"[F:{_to_float(value)!r}]"
    if kind is FieldType.DATETIME:
        moment = datetime.fromisoformat(_to_datetime(value))
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        # By hand, not strftime: %Y does not zero-pad years before 1000 on every platform.
        return (
            f"[DT:{moment.month:02d}/{moment.day:02d}/{moment.year:04d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}."
            f"{moment.microsecond * 10:07d}]"
        )
    return str(value)


def decode_legacy(field_type: str, text: str) -> Any:
    """Decode a legacy bracket-encoded string into the native value of `field_type`.

    >>> decode_legacy("datetime", "[DT:12/31/2013 23:59:59.0000000]")
    '2013-12-31T23:59:59'
    """
    kind = FieldType(field_type)
    if kind in (FieldType.TEXT, FieldType.PASSWORD, FieldType.LIST, FieldType.LABEL):
        return text
    if text == "":
        return None
    match = _LEGACY.match(text)
    if not match:
        raise FieldValueError(f"{text!r} is not a legacy {kind.value} value such as [I:1]")
    tag, body = match.groups()
    if kind is FieldType.CHECKBOX and tag == "I" and body in ("0", "1"):
        return body == "1"
    if kind is FieldType.INTEGER and tag == "I":
        return _to_int(body)
    if kind is FieldType.DOUBLE and tag in ("F", "D", "I"):
        return _to_float(body)
    if kind is FieldType.DATETIME and tag == "DT":
        stamp, _, fraction = body.partition(".")
        try:
            moment = datetime.strptime(stamp, _LEGACY_DT_FORMAT)
        except ValueError:
            raise FieldValueError(f"{text!r} is not MM/dd/yyyy HH:mm:ss.fffffff") from None
        if fraction:
            if not fraction.isdigit() or len(fraction) > 7:
                raise FieldValueError(f"{text!r} has a bad fraction of a second")
            moment = moment.replace(microsecond=int(fraction.ljust(7, "0")) // 10)
        return moment.isoformat()
    raise FieldValueError(f"{text!r} is not a legacy {kind.value} value")
