"""App versions and upgrade checks: what a new version of a sync app breaks.

Each connection records what its config is known to fit (host.registry.versions): the app
and its distribution version, the connector and protocol versions and the config-field
declaration, at the moment it passes its test and is saved. An upgrade check compares the
connector as it is now with that record, connection by connection, and marks the ones it
breaks as *needs attention* with the exact reasons (they cannot be activated or synced until
edited and re-tested); the others are carried forward. A connector installed here may declare
`migrate_config` (host.connector.Connector): it runs first, and its result is stored (and
audited by key, never by value) when the connection then fits.

Breaking, per connection: a new mandatory field without a default (and no value), a removed
field holding a value, a type change of a field holding a value the new type does not take
(or a field becoming or ceasing to be a password), a list change of a field holding a value
(another list, or a value the list no longer offers), a major protocol change. What a form
only shows (display name, description, rank, groups, help ...) never counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host.admin.clients import client_for_connector
from host.admin.errors import AdminError, admin_errors

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.connector import Connector, Field
    from host.registry import ConnectionRecord, ConnectorRecord, Registry

SEMANTIC_KEYS = ("key", "type", "access", "default", "list_name", "list_values", "options")
"""The parts of a config-field declaration a stored value depends on: the fingerprint and
the check look at these only (an allow-list, so new presentation keys never count)."""


def semantic(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: item[key] for key in SEMANTIC_KEYS if key in item}


def fingerprint(fields: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of the canonical JSON of the fields' semantic parts, in key order."""
    parts = sorted((semantic(f) for f in fields), key=lambda f: str(f.get("key")))
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Current:
    """A connector as it is now: its versions, config fields and the lists they offer, and
    the connector object when it is installed here (for its migrate_config)."""

    versions: dict[str, str | None]
    fields: list[dict[str, Any]]
    lists: dict[str, dict[str, str]] = field(default_factory=dict)
    connector: Connector | None = None


def installed_app(url: str) -> tuple[str, str, str, Connector] | None:
    """(app name, distribution, version, connector) of an `app:<id>` URL's installed app."""
    if not url.startswith("app:"):
        return None
    from host.apps import load_apps

    loaded = load_apps()
    cid = url[4:]
    app = loaded.app(loaded.connector_app.get(cid, ""))
    if app is None or cid not in loaded.connectors:
        return None
    return app.name, app.distribution, app.version, loaded.connectors[cid]


async def current_of(
    record: ConnectorRecord,
    client: ConnectorClient,
    fields: Sequence[Field] | None = None,
    lists: Mapping[str, dict[str, str]] | None = None,
) -> Current:
    """What `record`'s connector is now, asked through `client` (`fields` and `lists`:
    already read by a form)."""
    from host.admin.forms import fetch_lists

    info = await client.info()
    declared = list(fields) if fields is not None else await client.config_fields()
    if lists is None:
        lists = await fetch_lists(client, declared)
    dicts = [f.to_dict() for f in declared]
    versions: dict[str, str | None] = {
        "app": None,
        "app_distribution": None,
        "app_version": None,
        "connector_version": _text(info.get("version")),
        "protocol_version": _text(info.get("protocol_version")),
        "fields_fingerprint": fingerprint(dicts),
    }
    installed = installed_app(record.url)
    connector = None
    if installed is not None:
        versions["app"], versions["app_distribution"], versions["app_version"] = installed[:3]
        connector = installed[3]
    return Current(versions, dicts, dict(lists), connector)


def _text(value: Any) -> str | None:
    return None if value is None else "".join(c for c in str(value)[:64] if c.isprintable())


# --- what breaks ---------------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _settable(item: Mapping[str, Any]) -> bool:
    return item.get("type") != "label" and item.get("access") != "readonly"


def field_reasons(
    old_fields: Sequence[Mapping[str, Any]],
    new_fields: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any],
    lists: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Why `values`, fitting `old_fields`, do not fit `new_fields` (never a value shown)."""
    from host.connector import Field
    from host.protocol.values import FieldValueError, coerce_value

    old = {str(f["key"]): f for f in old_fields}
    new = {str(f["key"]): f for f in new_fields}
    reasons = []
    for key, item in new.items():
        if not _settable(item) or item.get("access") != "mandatory":
            continue
        if not _empty(item.get("default")) or not _empty(values.get(key)):
            continue
        was = old.get(key)
        if was is None:
            reasons.append(f"new mandatory field {key!r} has no default and no value")
        elif was.get("access") != "mandatory":
            reasons.append(f"field {key!r} became mandatory and has no value")
    for key in old:
        if key not in new and not _empty(values.get(key)):
            reasons.append(f"field {key!r} was removed but holds a value")
    for key, item in new.items():
        was = old.get(key)
        value = values.get(key)
        if was is None or _empty(value):
            continue
        old_type, new_type = was.get("type"), item.get("type")
        if old_type != new_type:
            fits = "password" not in (old_type, new_type)
            try:
                coerce_value(Field.from_dict(item), value, strict=True)
            except (FieldValueError, ValueError):
                fits = False
            if not fits:
                reasons.append(f"field {key!r} changed type from {old_type} to {new_type}")
            continue
        if new_type != "list":
            continue
        old_list, new_list = was.get("list_name") or "", item.get("list_name") or ""
        if old_list != new_list:
            reasons.append(f"field {key!r} now chooses from list {new_list!r}, not {old_list!r}")
        elif lists is not None and new_list in lists and str(value) not in lists[new_list]:
            reasons.append(f"field {key!r} holds a value list {new_list!r} no longer offers")
    return reasons


def protocol_reason(tested: str | None, now: str | None) -> str | None:
    """A major protocol change between the version a connection was tested with and now."""
    if not tested or not now:
        return None
    if tested.partition(".")[0] == now.partition(".")[0]:
        return None
    return f"protocol version changed from {tested} to {now} (a major change)"


# --- the check -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """One connection after an upgrade check: why it needs attention (empty: it is fine),
    the config keys a migration changed, and whether its mark changed."""

    connection: str
    reasons: list[str]
    migrated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "needs_attention": bool(self.reasons),
            "reasons": list(self.reasons),
            "migrated_keys": list(self.migrated),
        }


@dataclass
class Check:
    """An upgrade check of one connector: what it is now and each connection's outcome;
    `error` when it could not be asked (nothing was marked then)."""

    connector: str
    versions: dict[str, str | None] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None

    @property
    def flagged(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.reasons]

    def to_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "versions": dict(self.versions),
            "connections": [o.to_dict() for o in self.outcomes],
            "error": self.error,
        }


async def check_connector(registry: Registry, name: str) -> Check:
    """Compare connector `name` as it is now with what each of its connections fits; mark,
    migrate, carry forward. A connector that cannot be asked marks nothing (`error`),
    unless it now speaks another major protocol version."""
    from host.failures import ConnectorClientError, ProtocolError
    from host.registry.secrets import SecretKeyError
    from host.registry.versions import set_attention

    with admin_errors():
        record = registry.connector(name)
        connections = [c for c in registry.connections() if c.connector == name]
    check = Check(name)
    try:
        async with client_for_connector(registry, record) as client:
            now = await current_of(record, client)
            for connection in connections:
                check.outcomes.append(await _check_one(registry, client, connection, now))
    except ProtocolError as exc:
        if not exc.spoken_version:
            check.error = str(exc)  # a token refused, a wrong shape: not an upgrade
            return check
        spoken = exc.spoken_version
        for connection in connections:
            reason = protocol_reason(connection.versions.get("protocol_version"), spoken)
            if reason is None:
                reason = f"the connector now speaks protocol version {spoken!r}"
            with admin_errors():
                set_attention(registry, connection.guid, [reason])
            check.outcomes.append(Outcome(connection.name, [reason]))
        check.error = str(exc)
        return check
    except (ConnectorClientError, AdminError, SecretKeyError) as exc:
        check.error = str(exc)  # unreachable, the app is gone, a token the key cannot open
        return check
    from host.registry import versions

    with admin_errors():
        versions.note_connector(registry, name, now.versions)
    check.versions = now.versions
    return check


async def _check_one(
    registry: Registry, client: ConnectorClient, connection: Any, now: Current
) -> Outcome:
    from host.registry import versions
    from host.registry.versions import set_attention

    with admin_errors():
        base = versions.baseline(registry, connection.guid)
        if base is None:  # saved before versions were recorded: what it fits is unknown
            versions.record_baseline(
                registry,
                connection.guid,
                now.versions,
                now.fields,
                config_version=now.versions["connector_version"],
            )
            return Outcome(connection.name, [])
        values, lost = _stored_values(registry, connection.guid)
    migrated, changed, failure = await _migrate(now, base.get("config_version"), values)
    reasons = [failure] if failure else []
    protocol = protocol_reason(base.get("protocol_version"), now.versions["protocol_version"])
    if protocol:
        reasons.append(protocol)
    reasons += field_reasons(base["fields"], now.fields, migrated, now.lists)
    fitted = _fit(migrated, now.fields)
    if reasons or (lost and fitted != values):
        # Values a lost key hides are never rewritten: `secrets reset` and an edit first.
        with admin_errors():
            set_attention(registry, connection.guid, reasons)
        return Outcome(connection.name, reasons)
    same = all(base.get(k) == v for k, v in now.versions.items())
    with admin_errors(), registry.transaction():  # values and what they fit: together
        if fitted != values:
            _store_fitted(registry, connection, fitted, changed, base, now)
        if same and fitted == values:
            set_attention(registry, connection.guid, [])
        else:
            versions.record_baseline(
                registry,
                connection.guid,
                now.versions,
                now.fields,
                config_version=now.versions["connector_version"],
            )
    if fitted != values:
        from host.failures import ConnectorClientError

        # If this fails, it gets the stored config again when it answers unknown_connection.
        with contextlib.suppress(ConnectorClientError):
            await client.save_connection(connection.guid, fitted)
    return Outcome(connection.name, [], changed)


def _stored_values(registry: Registry, guid: str) -> tuple[dict[str, Any], bool]:
    """A connection's stored config, secrets decrypted, and whether some could not be (a
    key that changed: those are left out)."""
    from host.registry.secrets import MissingKeyError, SecretKeyError

    try:
        return registry.connection_config(guid) or {}, False
    except SecretKeyError as exc:
        if isinstance(exc, MissingKeyError):
            raise
        return registry.connection_config(guid, without_lost=True) or {}, True


async def _migrate(
    now: Current, from_version: str | None, values: dict[str, Any]
) -> tuple[dict[str, Any], list[str], str | None]:
    """The connector's migrate_config applied to `values` when it declares one and they are
    in another version: (values, keys changed, why it failed)."""
    from host.connector import Connector

    connector, to_version = now.connector, now.versions["connector_version"]
    if connector is None or not from_version or from_version == to_version:
        return values, [], None
    if type(connector).migrate_config is Connector.migrate_config:
        return values, [], None
    try:
        result: Any = connector.migrate_config(from_version, dict(values))
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:  # partner code: its message may hold a value, so not shown
        return (
            values,
            [],
            f"the app's migrate_config from {from_version} failed ({type(exc).__name__})",
        )
    if not isinstance(result, Mapping) or not all(isinstance(k, str) for k in result):
        return values, [], f"the app's migrate_config from {from_version} returned no mapping"
    result = dict(result)
    changed = sorted(k for k in set(values) | set(result) if values.get(k) != result.get(k))
    return result, changed, None


def _fit(values: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Values that fit (no reason found) as the new version takes them on the wire: keys it
    does not declare (empty ones only, else they were a reason) dropped, the defaults of
    fields it added filled in (the connector checks mandatory ones when the config is sent)."""
    from host.admin.forms import apply_defaults

    declared = [_field(f) for f in fields]
    keys = {f.key for f in declared}
    fitted = {k: v for k, v in values.items() if k in keys}
    apply_defaults(declared, fitted)
    return fitted


def _store_fitted(
    registry: Registry,
    connection: Any,
    values: dict[str, Any],
    migrated: list[str],
    base: Mapping[str, Any],
    now: Current,
) -> None:
    """Store the values fitted to the new version (sealed by its password fields too) and
    audit which keys a migration moved (never a value)."""
    from host.protocol.scrub import secret_keys

    secrets = secret_keys([_field(f) for f in now.fields])
    steps = f"{base.get('config_version')} -> {now.versions['connector_version']}"
    with registry.transaction():
        registry.update_connection(connection.guid, config=values, secret_keys=secrets)
        if migrated:
            registry.audit(
                "connection.migrate",
                connection.name,
                f"migrate_config {steps}: " + ", ".join(migrated),
            )


def _field(item: Mapping[str, Any]) -> Field:
    from host.connector import Field

    return Field.from_dict(item)


# --- when to check -------------------------------------------------------------------------


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, or None (importlib.metadata, no import)."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


async def check_if_changed(registry: Registry, name: str) -> Check | None:
    """The lazy check before a command uses connector `name`: only when it is an installed
    app whose version differs from the one last seen (a cheap metadata read) is the
    connector asked and its connections checked."""
    with admin_errors():
        record = registry.connector(name)
    seen = record.versions
    distribution = seen.get("app_distribution")
    if not record.url.startswith("app:") or not distribution:
        return None
    if installed_version(distribution) == seen.get("app_version"):
        return None
    return await check_connector(registry, name)  # an uninstalled app: `error`, no marks


async def attention_reasons(registry: Registry, record: ConnectionRecord) -> list[str]:
    """Why an app upgrade keeps `record` from syncing or importing (empty: it may), after the
    lazy check of its connector. A connector it cannot reach marks nothing: the sync run or
    the import that follows reports that failure itself."""
    with contextlib.suppress(AdminError):
        await check_if_changed(registry, record.connector)
    fresh = registry.connection_by_guid(record.guid) or record
    return list(fresh.attention)


async def ensure_usable(registry: Registry, record: ConnectionRecord, doing: str) -> None:
    """Refuse `doing` (e.g. "import from") a connection an app upgrade broke, naming why."""
    from host.admin.errors import NeedsAttention

    reasons = await attention_reasons(registry, record)
    if reasons:
        raise NeedsAttention(
            f"cannot {doing} {record.name!r}: it needs attention after an app upgrade ("
            + "; ".join(reasons)
            + f"); edit and re-test it (erpsync connections edit {record.name})",
            reasons,
        )


async def check_all(registry: Registry, names: Sequence[str] | None = None) -> list[Check]:
    """Check every connector that has connections (or only those named)."""
    with admin_errors():
        used = {c.connector for c in registry.connections()}
        records = registry.connectors()
    wanted = set(names) if names is not None else None
    checks = []
    for record in records:
        if record.name in used and (wanted is None or record.name in wanted):
            checks.append(await check_connector(registry, record.name))
    return checks
