"""Field values across the mapping: ERP -> CRM and CRM -> ERP, with list items translated.

A `Mapper` is built once per actor type and pass, so converting a page of actors is a loop
over precomputed (key, name, converter) triples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from host.connector import FieldType
from host.crm.schema import CHECKBOX, DATETIME, DOUBLE, INTEGER, LIST, TEXT, fields_of
from host.sync.settings import TypeSettings

SKIP: Any = object()
"""A converter's answer for a value it cannot translate (an unmapped list item)."""

MISSING: Any = object()


def same(a: Any, b: Any) -> bool:
    """Equal for sync: None and "" are both empty; 1 and 1.0 are the same number."""
    if a is MISSING or b is MISSING:
        return a is b
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (a == b and type(a) is type(b))
    return bool(a == b)


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(kind: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value in (None, ""):
            return None
        try:
            return int(value) if kind == INTEGER else float(value)
        except (TypeError, ValueError):
            return SKIP

    return convert


def _bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _same_value(value: Any) -> Any:
    return None if value == "" else value


class Mapper:
    """Converts the mapped fields of one actor type; counts list items it could not map."""

    def __init__(
        self, settings: TypeSettings, lists: Mapping[str, Mapping[str, tuple[str, str]]]
    ) -> None:
        self.settings = settings
        self.unmapped = 0
        crm_fields = fields_of(settings.entity)
        self.pull: list[tuple[str, str, Callable[[Any], Any]]] = []
        self.push: list[tuple[str, str, Callable[[Any], Any]]] = []
        for fm in settings.fields:
            erp = settings.erp_fields.get(fm.erp_field)
            crm = crm_fields.get(fm.crm_field or "")
            if erp is None or crm is None:
                continue
            if fm.pulls:
                self.pull.append(
                    (erp.key, crm.name, self._to_crm(erp.type, erp.list_name, crm.type, lists))
                )
            if fm.pushes:
                self.push.append(
                    (crm.name, erp.key, self._to_erp(erp.type, erp.list_name, crm.type, lists))
                )
        self.pull_keys = [k for k, _, _ in self.pull]
        self.pulled_names = [n for _, n, _ in self.pull]
        self.pushed_names = [n for n, _, _ in self.push]

    def _to_crm(
        self,
        erp_type: str,
        erp_list: str,
        crm_type: str,
        lists: Mapping[str, Mapping[str, tuple[str, str]]],
    ) -> Callable[[Any], Any]:
        if crm_type == TEXT:
            return _text
        if crm_type in (INTEGER, DOUBLE):
            return _number(crm_type)
        if crm_type == CHECKBOX:
            return _bool
        if crm_type == DATETIME:
            return _same_value
        if crm_type == LIST and erp_type == FieldType.LIST:
            table = {k: v[1] for k, v in lists.get(erp_list, {}).items()}

            def item(value: Any) -> Any:
                if value in (None, ""):
                    return None
                found = table.get(str(value))
                if found is None:
                    self.unmapped += 1
                    return SKIP
                return found

            return item
        return _same_value

    def _to_erp(
        self,
        erp_type: str,
        erp_list: str,
        crm_type: str,
        lists: Mapping[str, Mapping[str, tuple[str, str]]],
    ) -> Callable[[Any], Any]:
        if erp_type == FieldType.TEXT:
            return _text
        if erp_type in (FieldType.INTEGER, FieldType.DOUBLE):
            return _number(INTEGER if erp_type == FieldType.INTEGER else DOUBLE)
        if erp_type == FieldType.CHECKBOX:
            return _bool
        if erp_type == FieldType.LIST:
            reverse = {v[1]: k for k, v in lists.get(erp_list, {}).items()}

            def item(value: Any) -> Any:
                if value in (None, ""):
                    return ""
                found = reverse.get(str(value))
                if found is None:
                    self.unmapped += 1
                    return SKIP
                return found

            return item
        return _same_value

    def to_crm(self, field_values: Mapping[str, Any]) -> dict[str, Any]:
        """CRM values of the ERP->CRM fields present in `field_values`."""
        result = {}
        for key, name, convert in self.pull:
            if key in field_values:
                value = convert(field_values[key])
                if value is not SKIP:
                    result[name] = value
        return result

    def to_erp(self, record: Mapping[str, Any], names: set[str] | None = None) -> dict[str, Any]:
        """ERP values of the CRM->ERP fields (only `names` when given)."""
        result = {}
        for name, key, convert in self.push:
            if names is not None and name not in names:
                continue
            value = convert(record.get(name))
            if value is not SKIP:
                result[key] = value
        return result
