"""Field values across the mapping: ERP -> CRM and CRM -> ERP, with list items translated.

A `Mapper` is built once per actor type and pass, so converting a page of actors is a loop
over precomputed (key, name, converter) triples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, cast

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
    if value.__class__ is str:  # the common case first: most mapped values are text
        return value
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


_STR = {str}


def _getter(keys: list[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of `keys` as a tuple, in one C call (KeyError when one is absent)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda values: (values[key],)
    if not keys:
        return lambda values: ()
    return cast(Callable[[Mapping[str, Any]], tuple[Any, ...]], itemgetter(*keys))


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
        # to_crm's fast path: the text fields (most of them) are read with one itemgetter and,
        # when every value is a str already, taken as they are; the rest go through converters.
        text = [(k, n) for k, n, c in self.pull if c is _text]
        self._text_names = [n for _, n in text]
        self._text_values = _getter([k for k, _ in text])
        self._converted = [(k, n, c) for k, n, c in self.pull if c is not _text]

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
        try:
            texts = self._text_values(field_values)
        except KeyError:  # some mapped field is absent: the general loop
            return self._to_crm_each(field_values)
        if set(map(type, texts)) <= _STR:
            result = dict(zip(self._text_names, texts, strict=True))
        else:
            result = {n: _text(v) for n, v in zip(self._text_names, texts, strict=True)}
        for key, name, convert in self._converted:
            value = field_values.get(key, MISSING)
            if value is not MISSING:
                value = convert(value)
                if value is not SKIP:
                    result[name] = value
        return result

    def _to_crm_each(self, field_values: Mapping[str, Any]) -> dict[str, Any]:
        result = {}
        for key, name, convert in self.pull:
            value = field_values.get(key, MISSING)
            if value is not MISSING:
                value = convert(value)
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
