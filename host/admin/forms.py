"""The config form of a connector and "test these values without saving".

A face shows the form (the CLI prompts field by field, the web admin draws a dialog), the
admin types values, and `check_config` checks them locally and has the connector test them;
nothing is stored and the connector keeps nothing (its config test takes no GUID). A
`ConfigCheck` that passed is what `connections.add` and `connections.edit` save.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from host.admin.clients import client_for_connector
from host.admin.errors import InvalidInput, TestFailed, admin_errors

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.connector import Field, Response
    from host.protocol.validation import ValidationReport
    from host.registry import ConnectorRecord, Registry

Lists = dict[str, dict[str, str]]


@dataclass
class Form:
    """A connector's config fields (as declared; `ranked` in the order a form shows them)
    and the list items its drop-downs offer (key -> text per list name; a list the
    connector would not give is absent)."""

    connector: ConnectorRecord
    fields: list[Field]
    lists: Lists

    @property
    def ranked(self) -> list[Field]:
        return sorted(self.fields, key=lambda f: f.rank)

    @property
    def secret_keys(self) -> list[str]:
        """The keys whose values are secret: the connector declared them as passwords."""
        from host.protocol.scrub import secret_keys

        return secret_keys(self.fields)

    def secrets_in(self, *configs: Mapping[str, Any] | None) -> list[str]:
        """The secret values of these configs: a client must know them to scrub answers."""
        from host.protocol.scrub import secret_values

        keys = self.secret_keys
        return [value for config in configs if config for value in secret_values(config, keys)]

    def to_dict(self) -> dict[str, Any]:
        """The form as a face draws it (no values: those come from the caller)."""
        return {
            "connector": self.connector.name,
            "fields": [f.to_dict() for f in self.ranked],
            "lists": self.lists,
        }


@dataclass
class ConfigCheck:
    """Values checked locally and, when they passed, tested by the connector.

    `config` holds the typed values, secrets included: a face never shows it (use
    `to_dict`, whose per-field values have secrets masked)."""

    form: Form
    report: ValidationReport
    config: dict[str, Any]
    response: Response | None = None

    @property
    def passed(self) -> bool:
        return self.report.ok and self.response is not None and self.response.ok

    @property
    def state(self) -> str:
        """`invalid` when a value is wrong here (nothing was sent), else the test's state."""
        if not self.report.ok or self.response is None:
            return "invalid"
        return self.response.state.value

    @property
    def message(self) -> str:
        """One line: the local problems, or the connector's (scrubbed) explanation."""
        if not self.report.ok:
            return invalid_message(self.report)
        if self.response is None:
            return ""
        return explain(self.response) if not self.response.ok else self.response.user_explanation

    @property
    def errors(self) -> dict[str, list[str]]:
        """Per-field errors of the local check (unknown keys: "not a config field")."""
        found = {f.key: list(f.errors) for f in self.report.fields if f.errors}
        found.update({key: ["not a config field"] for key in self.report.unknown_keys})
        return found

    def raise_unless_passed(self) -> None:
        """InvalidInput (with the report) or TestFailed, unless the values passed."""
        if not self.report.ok:
            raise InvalidInput(invalid_message(self.report), self.report)
        if self.response is None or not self.response.ok:
            raise TestFailed(
                f"connection test failed, nothing was saved: {self.message}",
                self.response if self.response is not None else _no_answer(),
            )

    def to_dict(self) -> dict[str, Any]:
        response = self.response
        return {
            "passed": self.passed,
            "state": self.state,
            "error_code": response.error_code if response is not None else None,
            "message": self.message,
            "validation": self.report.to_dict(),
        }


def explain(response: Response) -> str:
    """The connector's explanation of a failed answer, as one line for the admin."""
    text = response.user_explanation or response.error_code or response.state.value
    if response.tech_explanation and response.error_code in ("connector_error", "invalid_request"):
        text += f" ({response.tech_explanation})"
    return str(text)


def invalid_message(report: ValidationReport) -> str:
    count = report.error_count
    return f"{count} invalid config value{'s' if count != 1 else ''}: " + "; ".join(
        report.problems()
    )


def _no_answer() -> Response:
    from host.connector import Response, State

    return Response(State.ERROR, error_code="not_tested")


async def form(registry: Registry, connector: ConnectorRecord | str) -> Form:
    """The connector's config fields and the lists they choose from, asked
    after its protocol version was checked, so no config goes to a connector this host
    cannot speak to."""
    with admin_errors():
        record = registry.connector(connector) if isinstance(connector, str) else connector
        async with client_for_connector(registry, record) as client:
            await client.info()
            fields = await client.config_fields()
            return Form(record, fields, await fetch_lists(client, fields))


async def fetch_lists(client: ConnectorClient, fields: list[Field]) -> Lists:
    """The lists the config fields choose from, asked for the all-zero GUID."""
    from host.connector import ALL_ZERO_GUID, FieldType
    from host.failures import CallFailed

    lists: Lists = {}
    for item in fields:
        if item.type is FieldType.LIST and item.list_name not in lists:
            try:
                lists[item.list_name] = await client.get_list(ALL_ZERO_GUID, item.list_name)
            except CallFailed:
                continue  # membership then goes unchecked locally; the connector still checks
    return lists


def apply_defaults(fields: list[Field], values: dict[str, Any]) -> None:
    """Settable fields not given take the connector's default."""
    from host.protocol.values import default_value

    for item in fields:
        if item.settable and item.key not in values and item.default is not None:
            values[item.key] = default_value(item)


def validate(
    form: Form, values: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> ValidationReport:
    """The local check of `values` over the stored ones (`current`, when editing: a secret
    not typed again is kept, a value of a field no longer declared is not) with defaults
    filled in."""
    from host.protocol.validation import validate_config

    declared = {f.key for f in form.fields}
    # A stored value of a field the connector no longer declares (an upgrade removed it)
    # is dropped, so the edit that fixes the connection can pass.
    kept = {k: v for k, v in (current or {}).items() if k in declared}
    merged = {**kept, **values}
    apply_defaults(form.fields, merged)
    return validate_config(form.fields, merged, lists=form.lists)


async def test_config(
    registry: Registry,
    form: Form,
    config: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
) -> Response:
    """The connector's config test of typed values; its answer is scrubbed of the secrets
    tried and of those stored (`current`, when editing). Nothing is saved anywhere."""
    secrets = form.secrets_in(config, current)
    with admin_errors():
        async with client_for_connector(registry, form.connector, secrets) as client:
            return await client.test_config(config)


async def check_config(
    registry: Registry,
    form: Form,
    values: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
) -> ConfigCheck:
    """Check `values` locally, and when they pass have the connector test them."""
    report = validate(form, values, current)
    check = ConfigCheck(form, report, report.values())
    if report.ok:
        check.response = await test_config(registry, form, check.config, current)
    return check


async def test_values(
    registry: Registry,
    connector: str | None,
    values: Mapping[str, Any],
    editing: str | None = None,
) -> ConfigCheck:
    """Test these values without saving (the *Test ERP connection* button before *OK*).

    `editing` names a saved connection whose changes are tested: its stored values (its
    secrets too) fill in what is not given, and its connector is the one asked. Neither
    the registry nor the connector keeps anything."""
    with admin_errors():
        current = None
        if editing is not None:
            record = registry.connection(editing)
            if connector is not None and connector != record.connector:
                raise InvalidInput(
                    f"connection {editing!r} uses connector {record.connector!r}, not {connector!r}"
                )
            connector = record.connector
            current = registry.connection_config(record.guid, without_lost=True) or {}
        if connector is None:
            raise InvalidInput("name the connector whose config is tested")
        found = registry.connector(connector)
    return await check_config(registry, await form(registry, found), values, current)
