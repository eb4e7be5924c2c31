"""ERP connections: add, edit, test, activate, deactivate and remove them.

A connection is saved only after the connector's test passed with every mandatory field
filled (a passed `ConfigCheck`, host.admin.forms); config changes need the connection
inactive and a new passing test; secrets typed once are merged here, never shown. The
audit's "who" is the caller's (host.registry.acting_admin): work stays in its context.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from host.admin.checks import PASSED, Progress, TestOutcome, activate, test_many
from host.admin.clients import client_for_connector
from host.admin.errors import (
    AdminError,
    Conflict,
    InvalidInput,
    TestFailed,
    admin_errors,
)
from host.admin.forms import (
    ConfigCheck,
    Form,
    check_config,
    explain,
    form,
    test_config,
    test_values,
    validate,
)
from host.admin.names import check_name
from host.admin.upgrades import Current, current_of

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.registry import ConnectionRecord, Registry

__all__ = [
    "PASSED",
    "ConfigCheck",
    "Editing",
    "Form",
    "Progress",
    "Saved",
    "TestOutcome",
    "activate",
    "add",
    "check_config",
    "check_new",
    "check_scope",
    "deactivate",
    "edit",
    "form",
    "get",
    "list_all",
    "remove",
    "show",
    "start_edit",
    "test_config",
    "test_many",
    "test_values",
    "validate",
]

ActorTypeCache = dict[str, tuple[list[dict[str, Any]], list[str]]]


@dataclass
class Saved:
    """A connection as stored, and a warning (its actor types could not be cached)."""

    record: ConnectionRecord
    warning: str | None = None


# --- reading -------------------------------------------------------------------------------


def get(registry: Registry, name: str) -> ConnectionRecord:
    with admin_errors():
        return registry.connection(name)


def list_all(registry: Registry, visible_to: str | None = None) -> list[dict[str, Any]]:
    """Every connection (or those `visible_to` a user may use), secrets as ****."""
    with admin_errors():
        return [c.to_dict() for c in registry.connections(visible_to=visible_to)]


def show(registry: Registry, name: str) -> dict[str, Any]:
    """One connection with its cached actor types (secrets as ****)."""
    with admin_errors():
        record = registry.connection(name)
        return {**record.to_dict(), "actor_types": registry.actor_types(record.guid)}


# --- adding --------------------------------------------------------------------------------


def check_scope(scope: str | None, users: Iterable[str], groups: Iterable[str]) -> None:
    users, groups = list(users), list(groups)
    if scope == "everyone" and (users or groups):
        raise InvalidInput("--scope everyone cannot be combined with --user/--group")
    if scope == "restricted" and not (users or groups):
        raise InvalidInput("--scope restricted needs at least one --user or --group")


def check_new(
    registry: Registry,
    name: str,
    *,
    scope: str | None = None,
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
) -> str:
    """What can be refused before any config is asked for: the name (returned normalised),
    the scope, the users and groups named, a name already taken."""
    name = check_name(name, "connection")
    check_scope(scope, users, groups)
    with admin_errors():
        registry.check_principals(users, groups)
        if any(c.name == name for c in registry.connections()):
            raise Conflict(f"a connection named {name!r} already exists")
    return name


async def add(
    registry: Registry,
    name: str,
    check: ConfigCheck,
    *,
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
    description: str = "",
) -> Saved:
    """Save a new connection whose config passed `check`: a new GUID is journalled first
    (doctor cleans up after a crash), the connector saves and tests it, its actor types
    are cached, then the registry stores it. A failure leaves nothing, here or there."""
    check.raise_unless_passed()
    connector, config = check.form.connector, check.config
    guid = str(uuid.uuid4())
    with admin_errors():
        async with client_for_connector(registry, connector, check.form.secrets_in(config)) as c:
            registry.journal_guid(guid, connector)  # committed first: doctor may clean it up
            try:
                checked, cache, warning = await _save_and_check(c, guid, config)
                tested = await current_of(connector, c, check.form.fields, check.form.lists)
                with registry.transaction():
                    record = registry.add_connection(
                        guid=guid,
                        name=name,
                        connector=connector.name,
                        config=config,
                        secret_keys=check.form.secret_keys,
                        description=description,
                        users=users,
                        groups=groups,
                        test_state=checked.state.value,
                        test_message=checked.user_explanation,
                    )
                    registry.cache_actor_types(guid, cache)
                    _record_baseline(registry, guid, connector.name, tested)
                    record = registry.connection_by_guid(guid) or record
            except BaseException:
                await _forget_quietly(c, guid)  # the connector must not keep an orphan
                raise
    return Saved(record, warning)


async def _save_and_check(
    client: ConnectorClient, guid: str, config: Mapping[str, Any]
) -> tuple[Any, ActorTypeCache, str | None]:
    """The connector's side of a save, after its config test passed: save, test the saved
    connection, read actor types (TestFailed when the connector refuses either)."""
    saved = await client.save_connection(guid, config)
    if not saved.ok:
        raise TestFailed(
            f"the connector refused to save the connection: {explain(saved)}", saved, "save"
        )
    checked = await client.test_connection(guid)
    if not checked.ok:
        raise TestFailed(
            f"connection test after save failed, nothing was saved: {explain(checked)}",
            checked,
            "test",
        )
    cache, warning = await _fetch_actor_types(client, guid)
    return checked, cache, warning


async def _fetch_actor_types(
    client: ConnectorClient, guid: str
) -> tuple[ActorTypeCache, str | None]:
    """What to cache on save: type -> (fields, searchable keys); a warning when it failed."""
    from host.failures import CallFailed

    try:
        cache: ActorTypeCache = {}
        for actor_type in await client.actor_types(guid):
            fields = await client.actor_fields(guid, actor_type)
            searchable = await client.searchable_fields(guid, actor_type)
            cache[actor_type] = ([f.to_dict() for f in fields], searchable)
    except CallFailed as exc:
        if exc.response.error_code == "not_supported":
            return {}, None
        return {}, f"actor types not cached: {exc}"
    return cache, None


async def _forget_quietly(client: ConnectorClient, guid: str) -> None:
    from host.failures import ConnectorClientError

    with contextlib.suppress(ConnectorClientError):
        await client.delete_connection(guid)


# --- editing -------------------------------------------------------------------------------


@dataclass
class Editing:
    """What an edit is based on: the record, a snapshot compared again when it is written
    (a change someone else committed meanwhile is refused, not overwritten), the stored
    config (secrets included: never shown) and the checked changes besides config."""

    record: ConnectionRecord
    seen: tuple[Any, ...]
    current: dict[str, Any]
    changes: dict[str, Any]
    config: bool


def start_edit(
    registry: Registry,
    name: str,
    *,
    config: bool = False,
    new_name: str | None = None,
    description: str | None = None,
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
    scope: str | None = None,
) -> Editing:
    """Check an edit before any config is asked for: config changes need the connection
    inactive; a new name, users and groups are checked."""
    users, groups = list(users), list(groups)
    check_scope(scope, users, groups)
    with admin_errors():
        record = registry.connection(name)
        seen = _snapshot(registry, record)
        if config and record.active:
            raise Conflict(
                f"connection {name!r} is active; deactivate it before changing config "
                f"(erpsync connections deactivate {name})"
            )
        changes: dict[str, Any] = {}
        if new_name is not None:
            changes["name"] = check_name(new_name, "connection")
        if description is not None:
            changes["description"] = description
        if users or groups or scope:
            registry.check_principals(users, groups)
            changes["users"], changes["groups"] = users, groups
        current = (
            (registry.connection_config(record.guid, without_lost=True) or {}) if config else {}
        )
    return Editing(record, seen, current, changes, config)


async def edit(registry: Registry, editing: Editing, check: ConfigCheck | None = None) -> Saved:
    """Write an edit; a config change (a `check` of the values over `editing.current` that
    passed) is saved and tested by the connector first, and put back there if anything
    after that fails."""
    record, changes, warning = editing.record, dict(editing.changes), None
    cache: ActorTypeCache = {}
    tested: Current | None = None
    if editing.config:
        if check is None:
            raise InvalidInput("a config change needs its values checked and tested first")
        check.raise_unless_passed()
        secrets = check.form.secrets_in(check.config, editing.current)
        try:
            with admin_errors():
                async with client_for_connector(registry, check.form.connector, secrets) as c:
                    checked, cache, warning = await _save_and_check(c, record.guid, check.config)
                    tested = await current_of(
                        check.form.connector, c, check.form.fields, check.form.lists
                    )
        except AdminError:
            await _restore_connector_copy(registry, record)
            raise
        changes.update(
            config=check.config,
            secret_keys=check.form.secret_keys,
            test_state=checked.state.value,
            test_message=checked.user_explanation,
        )
    try:
        with admin_errors(), registry.transaction():
            if _snapshot(registry, record) != editing.seen:
                raise Conflict(
                    f"connection {record.name!r} was changed by someone else meanwhile; "
                    "run the command again"
                )
            updated = registry.update_connection(
                record.guid, expected_updated_at=record.updated_at, **changes
            )
            if editing.config:
                registry.cache_actor_types(record.guid, cache)
            if tested is not None:
                _record_baseline(registry, record.guid, record.connector, tested)
                updated = registry.connection_by_guid(record.guid) or updated
    except Exception:
        if editing.config:
            await _restore_connector_copy(registry, record)
        raise
    return Saved(updated, warning)


def _record_baseline(registry: Registry, guid: str, connector: str, tested: Current) -> None:
    """A config edit that passed its re-test: what it fits now (clears needs-attention)."""
    from host.registry import versions

    versions.record_baseline(
        registry,
        guid,
        tested.versions,
        tested.fields,
        config_version=tested.versions["connector_version"],
    )
    versions.note_connector(registry, connector, tested.versions)


def _snapshot(registry: Registry, record: ConnectionRecord) -> tuple[Any, ...]:
    """What an edit is based on. (`updated_at` alone is not enough: it has whole seconds,
    and two edits often land in the same second.)"""
    fresh = registry.connection_by_guid(record.guid)
    if fresh is None:
        return ()
    data = fresh.to_dict()
    data.pop("last_test")  # a test recorded meanwhile changes nothing an edit relies on
    data.pop("updated_at")
    return data, registry.connection_config(record.guid, without_lost=True)


async def _restore_connector_copy(registry: Registry, record: ConnectionRecord) -> None:
    """After a failed re-test the connector may hold the rejected config: give it the old
    one. If this fails too, the next call re-sends the stored config (unknown_connection)."""
    from host.failures import ConnectorClientError

    stored = registry.connection_config(record.guid) or {}
    with contextlib.suppress(ConnectorClientError, AdminError):
        async with client_for_connector(registry, registry.connector(record.connector)) as c:
            await c.save_connection(record.guid, stored)


# --- deactivating, removing ----------------------------------------------------------------


def deactivate(registry: Registry, name: str) -> ConnectionRecord:
    """Deactivate connection `name` (needed before its config can change)."""
    with admin_errors():
        record = registry.connection(name)
        if record.active:
            registry.set_active(record.guid, False)
        return registry.connection(name)


async def remove(registry: Registry, name: str) -> list[str]:
    """Have the connector forget connection `name`, then delete it here, even when the
    connector cannot be reached (the warnings returned say so)."""
    from host.failures import ConnectorClientError

    warnings = []
    with admin_errors():
        record = registry.connection(name)
        client = client_for_connector(registry, registry.connector(record.connector))
    try:
        async with client:
            response = await client.delete_connection(record.guid)
        if not response.ok and response.error_code != "unknown_connection":
            warnings.append(f"the connector answered: {explain(response)}; removed here anyway")
    except ConnectorClientError as exc:
        warnings.append(f"{exc}; removed here anyway")
    with admin_errors():
        registry.remove_connection(record.guid)
    return warnings
