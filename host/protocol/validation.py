"""Check config values against a connector's fields, per field, as Kafka Connect's validate does.

Both sides use it: the admin CLI before it calls the connector, and the connector host before
it hands values to a connector, so a connector only ever sees typed, complete config.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from host.connector import Field, FieldType
from host.protocol.fieldrules import pattern_error, required, typed_values, visible_keys
from host.protocol.scrub import MASK
from host.protocol.values import FieldValueError, coerce_value

__all__ = ["MASK", "FieldReport", "ValidationReport", "validate_config"]


@dataclass
class FieldReport:
    """One field's outcome: its (masked) value, its errors, and whether a form shows it."""

    key: str
    display_name: str
    value: Any
    errors: list[str] = field(default_factory=list)
    visible: bool = True
    secret: bool = False

    def to_dict(self) -> dict[str, Any]:
        shown = MASK if self.secret and self.value not in (None, "") else self.value
        return {
            "name": self.key,
            "display_name": self.display_name,
            "value": shown,
            "errors": list(self.errors),
            "visible": self.visible,
        }


@dataclass
class ValidationReport:
    fields: list[FieldReport]
    unknown_keys: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(len(f.errors) for f in self.fields) + len(self.unknown_keys)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def values(self) -> dict[str, Any]:
        """The typed values of settable fields that have one."""
        return {f.key: f.value for f in self.fields if f.value is not None and f.visible}

    def problems(self) -> list[str]:
        """One line per problem, naming the field, for error messages."""
        lines = [f"{f.key}: {err}" for f in self.fields for err in f.errors]
        lines += [f"{key}: not a config field of this connector" for key in self.unknown_keys]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_count": self.error_count,
            "fields": [f.to_dict() for f in self.fields],
            "unknown_keys": list(self.unknown_keys),
        }


def validate_config(
    fields: Iterable[Field],
    values: Mapping[str, Any],
    *,
    lists: Mapping[str, Iterable[str]] | None = None,
    require_mandatory: bool = True,
    strict: bool = False,
) -> ValidationReport:
    """Type-check, length-check, pattern-check and mandatory-check `values`; `lists` adds
    list membership.

    `strict` takes wire values: native JSON of each type only (see coerce_value); without it
    strings are parsed, as typed on the command line. A field hidden by its visible_when
    (v1.1) is not checked and its value is dropped (`visible` False, no value); one whose
    required_when holds is mandatory."""
    fields = sorted(fields, key=lambda f: f.rank)
    known = {f.key for f in fields}
    typed = typed_values(fields, values, strict=strict)
    visible = visible_keys(fields, typed)
    reports: list[FieldReport] = []
    for item in fields:
        raw = values.get(item.key)
        report = FieldReport(item.key, item.display_name, None, secret=item.is_secret)
        reports.append(report)
        if item.key not in visible:
            report.visible = False
            continue
        if item.type is FieldType.LABEL:
            report.visible = True
            report.value = None
            if raw not in (None, ""):
                report.errors.append("is a label and cannot be given a value")
            continue
        if not item.settable:
            if raw not in (None, ""):
                report.errors.append("is read-only and cannot be set")
            continue
        if raw == "" and item.type is not FieldType.CHECKBOX:
            raw = None
        try:
            report.value = coerce_value(item, raw, strict=strict)
        except FieldValueError as exc:
            report.value = raw
            report.errors.append(str(exc))
            continue
        if report.value is None:
            if require_mandatory and required(item, typed, visible):
                report.errors.append("is mandatory")
            continue
        mismatch = pattern_error(item, report.value)
        if mismatch:
            report.errors.append(mismatch)
            continue
        if item.type is FieldType.LIST and lists is not None and item.list_name in lists:
            choices = list(lists[item.list_name])
            if str(report.value) not in choices:
                shown = ", ".join(choices[:10]) + (" ..." if len(choices) > 10 else "")
                report.errors.append(f"{report.value!r} is not in list {item.list_name} ({shown})")
    unknown = sorted(k for k in values if k not in known)
    return ValidationReport(reports, unknown)
