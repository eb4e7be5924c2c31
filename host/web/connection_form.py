"""The *Define new ERP connection* dialog's form: a connector's config fields as inputs, the
posted values read back, and the connector's form cached while a dialog is open.

host.web.connections holds the routes; this module only draws and reads. No secret is drawn:
a password input is always empty, `stored` says one is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from host.admin.forms import Form
    from host.connector import Field
    from host.registry import Registry
    from host.web.app import WebContext

CONFIG_PREFIX = "cfg."
"""Config inputs are named cfg.<field key>: a key can never clash with the dialog's own."""


# --- the config fields, as inputs --------------------------------------------------------


@dataclass
class FieldView:
    """One config field as the dialog draws it. `value` is never a secret: a password's is
    always empty, `stored` says one is kept."""

    index: int
    decl: Field
    input: str  # text | password | number | checkbox | datetime | select | label | readonly
    value: Any = ""
    stored: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    step: str = ""
    shown: bool = True
    """False: its visible_when does not hold for the values drawn (the script keeps it so)."""
    required_now: bool = False
    """Its required_when holds for the values drawn."""

    @property
    def name(self) -> str:
        return CONFIG_PREFIX + self.decl.key

    @property
    def mandatory(self) -> bool:
        from host.connector import Access

        return self.decl.access is Access.MANDATORY or self.required_now

    @property
    def group(self) -> str:
        return self.decl.group

    @property
    def visible_when(self) -> str:
        """The condition for the page's script: JSON naming the input it reads."""
        return _condition_json(self.decl.visible_when)

    @property
    def required_when(self) -> str:
        return _condition_json(self.decl.required_when)


def _condition_json(cond: Any) -> str:
    """{"input": "cfg.<key>", "values": [...]}, or "" without a condition (escaped by the
    template as an attribute value)."""
    import json

    if cond is None:
        return ""
    return json.dumps({"input": CONFIG_PREFIX + cond.field, "values": list(cond.values)})


def _shown_value(item: Field, value: Any) -> Any:
    """A stored or default value as its input holds it."""
    from host.connector import FieldType

    if value is None:
        return False if item.type is FieldType.CHECKBOX else ""
    if item.type is FieldType.CHECKBOX:
        return bool(value)
    if item.type is FieldType.DATETIME:
        try:
            return datetime.fromisoformat(str(value)).strftime("%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return ""
    return str(value)


def field_views(
    form: Form, values: dict[str, Any] | None, stored_secrets: set[str]
) -> list[FieldView]:
    """The connector's fields group by group in rank order; `values` None means a new
    connection (the connector's defaults), else a connection's stored non-secret values.
    Which are shown and mandatory follows from those values (v1.1 conditions)."""
    from host.connector import Access, FieldType
    from host.protocol.fieldrules import grouped, required, typed_values, visible_keys
    from host.protocol.values import FieldValueError, default_value

    ordered = [item for _, items in grouped(form.fields) for item in items]
    drawn: dict[str, Any] = {}
    for item in ordered:
        if values is None:
            try:
                drawn[item.key] = default_value(item)
            except FieldValueError:
                drawn[item.key] = None
        else:
            drawn[item.key] = values.get(item.key)
    typed = typed_values(ordered, drawn)
    visible = visible_keys(ordered, typed)
    views = []
    for index, item in enumerate(ordered, start=1):
        raw = drawn[item.key]
        view = FieldView(index, item, "text")
        view.shown = item.key in visible
        view.required_now = required(item, typed, visible) and item.access is not Access.MANDATORY
        if item.type is FieldType.LABEL:
            view.input = "label"
            view.value = "" if item.default is None else str(item.default)
        elif item.access is Access.READONLY:
            view.input = "readonly"
            view.value = _shown_value(item, raw)
        elif item.type is FieldType.PASSWORD:
            view.input, view.stored = "password", item.key in stored_secrets
        elif item.type is FieldType.CHECKBOX:
            view.input, view.value = "checkbox", _shown_value(item, raw)
        elif item.type in (FieldType.INTEGER, FieldType.DOUBLE):
            view.input, view.value = "number", _shown_value(item, raw)
            view.step = "1" if item.type is FieldType.INTEGER else "any"
        elif item.type is FieldType.DATETIME:
            view.input, view.value = "datetime", _shown_value(item, raw)
        elif item.type is FieldType.LIST and item.list_name in form.lists:
            view.input, view.value = "select", _shown_value(item, raw)
            view.options = [(str(k), str(v)) for k, v in form.lists[item.list_name].items()]
        else:  # text, or a list the connector would not give: typed as text
            view.value = _shown_value(item, raw)
        views.append(view)
    return views


def posted_values(form: Form, data: FormData, editing: bool) -> dict[str, Any]:
    """The config values of a posted dialog, as strings the admin core checks. A checkbox
    not sent is unchecked; a password left empty while editing is the stored one (absent
    here: the admin core merges it)."""
    from host.connector import FieldType

    values: dict[str, Any] = {}
    for item in form.fields:
        if not item.settable:
            continue
        raw = data.get(CONFIG_PREFIX + item.key)
        text = raw if isinstance(raw, str) else ""
        if item.type is FieldType.CHECKBOX:
            values[item.key] = "true" if text in ("true", "on", "1") else "false"
        elif item.type is FieldType.PASSWORD and editing and text == "":
            continue
        else:
            values[item.key] = text
    return values


def posted_text(data: FormData, name: str) -> str:
    raw = data.get(name)
    return raw if isinstance(raw, str) else ""


def posted_texts(data: FormData, name: str) -> list[str]:
    return [v for v in data.getlist(name) if isinstance(v, str)]


# --- the dialog ---------------------------------------------------------------------------


@dataclass
class Dialog:
    """What the dialog template shows."""

    connectors: list[str]
    connector: str = ""
    editing: str | None = None
    name: str = ""
    description: str = ""
    scope: str = "everyone"
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    fields: list[FieldView] = field(default_factory=list)
    fields_error: str = ""
    config_locked: bool = False


FORM_TTL = 120.0
"""Seconds a connector's form (fields and lists) drawn in a dialog is reused by its tests:
a test then costs the connector one call (its config test), not four. The connector checks
the values itself in that call, so a declaration changed meanwhile cannot let bad values in."""


async def cached_form(context: WebContext, registry: Registry, connector: str) -> Form:
    """The admin core's form of `connector`, reused for FORM_TTL seconds while the
    connector's URL and CA bundle stay the same."""
    from host.admin import forms
    from host.admin.errors import admin_errors

    with admin_errors():
        record = registry.connector(connector)
    key = (record.name, record.url, record.ca_bundle or "")
    now = time.monotonic()
    found = context.forms.get(key)
    if found is not None and now - found[0] < FORM_TTL:
        form: Form = found[1]
        return form
    form = await forms.form(registry, record)
    if len(context.forms) > 200:
        context.forms.clear()
    context.forms[key] = (now, form)
    return form


async def form_for(
    context: WebContext, registry: Registry, connector: str
) -> tuple[Form | None, str]:
    """The connector's form, or why it cannot be drawn (one line, scrubbed by the core)."""
    from host.admin.errors import AdminError

    try:
        return await cached_form(context, registry, connector), ""
    except AdminError as exc:
        return None, str(exc)
