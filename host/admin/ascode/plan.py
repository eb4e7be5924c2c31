"""What applying a file would change, like `terraform plan`: per object create, update,
unchanged (or delete, with prune), and the names of what changes, never a value.

Making the plan checks the whole file first: secret references resolve, names refer to
users, groups and connectors that exist (in the file or the home), and each connection's
config is validated against its connector's declared fields (asked of the connector: its
URL and token as the file says). Any problem and nothing is planned, nothing written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.admin.ascode.document import (
    ConnectionSpec,
    Desired,
    FileProblems,
    SecretRef,
    path_of,
    without_none,
)
from host.admin.ascode.export import has_sync_settings, sync_document, sync_priority
from host.admin.errors import AdminError, InvalidInput, admin_errors

if TYPE_CHECKING:
    from host.admin.forms import Form
    from host.registry import Registry

CREATE, UPDATE, UNCHANGED, DELETE = "create", "update", "unchanged", "delete"
SYMBOLS = {CREATE: "+", UPDATE: "~", UNCHANGED: "=", DELETE: "-"}
KIND_ORDER = ("user", "group", "connector", "connection", "sync priority")


@dataclass
class Step:
    """One object's fate: `changes` names what differs (fields, config keys), never a value;
    `notes` say what happens on the way (a test, a deactivation)."""

    kind: str
    name: str
    action: str
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "changes": list(self.changes),
            "notes": list(self.notes),
        }


@dataclass
class Plan:
    """The steps in the order they are carried out, what the file leaves alone, and (never
    shown) the resolved secrets and checked configs applying needs."""

    steps: list[Step]
    left_alone: list[str]
    desired: Desired
    tokens: dict[str, str | None]
    bundles: dict[str, str | None]
    configs: dict[str, dict[str, Any]]
    secrets: list[str]

    @property
    def pending(self) -> list[Step]:
        return [s for s in self.steps if s.action != UNCHANGED]

    def summary(self) -> dict[str, int]:
        counts = {CREATE: 0, UPDATE: 0, UNCHANGED: 0, DELETE: 0}
        for step in self.steps:
            counts[step.action] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "left_alone": list(self.left_alone),
            "summary": self.summary(),
        }


class _Problems:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{path}: {message}")

    def raise_if_any(self, secrets: Iterable[str]) -> None:
        if self.lines:
            from host.protocol.scrub import Scrubber

            scrubber = Scrubber(secrets)
            raise FileProblems([scrubber.text(line, operation="the check") for line in self.lines])


class _Resolver:
    """Reads the secrets a file references: environment variables, or files relative to the
    applied file's folder (read bounded, one trailing line break dropped)."""

    def __init__(self, base: Path, problems: _Problems) -> None:
        self.base = base
        self.problems = problems
        self.values: list[str] = []

    def resolve(self, ref: SecretRef, path: str, limit: int) -> str | None:
        from host.files import FileReadError, read_bounded_text

        if ref.env is not None:
            value = os.environ.get(ref.env)
            if value is None:
                self.problems.add(path, f"environment variable {ref.env} is not set")
                return None
            if value == "":
                self.problems.add(path, f"environment variable {ref.env} is empty")
                return None
        else:
            target = Path(os.path.expanduser(str(ref.file)))
            if not target.is_absolute():
                target = self.base / target
            try:
                value = read_bounded_text(target, what=f"file {str(ref.file)!r}", limit=limit)
            except FileReadError as exc:
                self.problems.add(path, str(exc))
                return None
            if value.endswith("\r\n"):
                value = value[:-2]
            elif value.endswith("\n"):
                value = value[:-1]
            if value == "":
                self.problems.add(path, f"file {str(ref.file)!r} is empty")
                return None
        self.values.append(value)
        return value


async def make_plan(
    registry: Registry,
    desired: Desired,
    base: Path,
    *,
    prune: bool = False,
    problems_found: Iterable[str] = (),
) -> Plan:
    """Check `desired` against the home and its connectors, and say what applying changes.

    Raises FileProblems (every problem, one line each, after `problems_found` in reading
    it) when anything in the file is wrong: first what can be checked here, then, when all
    of that is right, each config against its connector's fields. A connector that cannot
    be reached or answers wrongly ends it with its own error."""
    problems = _Problems()
    problems.lines += problems_found
    resolver = _Resolver(base, problems)
    with admin_errors():
        tokens, bundles = _connectors(desired, resolver, problems)
        home = _Home(registry)
        _check_references(desired, home, problems, prune)
        read = _read_config_secrets(desired, resolver)
        usable = {
            name
            for name in set(desired.connectors) | set(home.connectors)
            if not any(
                line.startswith(path_of("connectors", name) + ".") for line in problems.lines
            )
        }
    # Each connector the connections use is asked for its fields, unless its own part of
    # the file is wrong (then its connections' configs are checked on the next try).
    forms: dict[str, Form] = {}
    for name in sorted({c.connector for c in desired.connections.values()} & usable):
        try:
            forms[name] = await _form_for(registry, desired, name, tokens, bundles, resolver.values)
        except AdminError:
            problems.raise_if_any(resolver.values)  # the file's own problems come first
            raise
    configs: dict[str, dict[str, Any]] = {}
    for conn in desired.connections.values():
        if conn.connector not in forms:
            continue
        checked = _check_config(conn, read[conn.name], forms[conn.connector], problems)
        if checked is not None:
            configs[conn.name] = checked
    problems.raise_if_any(resolver.values)
    with admin_errors():
        steps, left_alone = _steps(registry, home, desired, tokens, bundles, configs, prune)
    return Plan(steps, left_alone, desired, tokens, bundles, configs, resolver.values)


class _Home:
    """What the home holds now (names only, read once)."""

    def __init__(self, registry: Registry) -> None:
        self.users = {u["name"] for u in registry.users()}
        self.groups = {g["name"]: sorted(g["members"]) for g in registry.groups()}
        self.connectors = {c.name: c for c in registry.connectors()}
        self.connections = {c.name: c for c in registry.connections()}


def _connectors(
    desired: Desired, resolver: _Resolver, problems: _Problems
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Each connector's URL checked, token read and checked, CA bundle found."""
    from host.admin.urls import check_ca_bundle, check_url
    from host.files import TOKEN_FILE_LIMIT
    from host.tokens import TokenError, check_token

    tokens: dict[str, str | None] = {}
    bundles: dict[str, str | None] = {}
    for spec in desired.connectors.values():
        path = path_of("connectors", spec.name)
        try:
            spec.url = check_url(spec.url)
        except InvalidInput as exc:
            problems.add(f"{path}.url", str(exc))
        token = None
        if spec.token is not None:
            token = resolver.resolve(spec.token, f"{path}.token", TOKEN_FILE_LIMIT)
            if token is not None:
                try:
                    check_token(token, what=f"the token ({spec.token.describe()})")
                except TokenError as exc:
                    problems.add(f"{path}.token", str(exc))
        tokens[spec.name] = token
        bundle = None
        if spec.ca_bundle:
            where = Path(os.path.expanduser(spec.ca_bundle))
            where = where if where.is_absolute() else resolver.base / where
            try:
                bundle = check_ca_bundle(str(where))
            except InvalidInput as exc:
                problems.add(f"{path}.ca_bundle", str(exc).replace("--ca-bundle ", "", 1))
        bundles[spec.name] = bundle
    return tokens, bundles


def _check_references(desired: Desired, home: _Home, problems: _Problems, prune: bool) -> None:
    """Names must exist: in the file, or in the home unless pruning removes what the file
    does not name; a connection cannot move to another connector."""
    users = set(desired.users) | (set() if prune else home.users)
    groups = set(desired.groups) | (set() if prune else set(home.groups))
    connectors = set(desired.connectors) | (set() if prune else set(home.connectors))
    for group, members in desired.groups.items():
        for index, member in enumerate(members):
            if member not in users:
                problems.add(f"{path_of('groups', group)}[{index}]", f"no user {member!r}")
    for conn in desired.connections.values():
        path = path_of("connections", conn.name)
        if conn.connector not in connectors:
            problems.add(f"{path}.connector", f"no connector {conn.connector!r}")
        for index, user in enumerate(conn.users):
            if user not in users:
                problems.add(f"{path}.users[{index}]", f"no user {user!r}")
        for index, group in enumerate(conn.groups):
            if group not in groups:
                problems.add(f"{path}.groups[{index}]", f"no group {group!r}")
        stored = home.connections.get(conn.name)
        if stored is not None and stored.connector != conn.connector:
            problems.add(
                f"{path}.connector",
                f"the connection uses connector {stored.connector!r} in the home; a connection "
                "cannot move to another connector (remove it, or give the new one another name)",
            )
    if desired.sync_priority is not None:
        known = set(desired.connections) | (set() if prune else set(home.connections))
        for index, name in enumerate(desired.sync_priority):
            if name not in known:
                problems.add(f"sync_priority[{index}]", f"no connection {name!r}")


async def _form_for(
    registry: Registry,
    desired: Desired,
    name: str,
    tokens: Mapping[str, str | None],
    bundles: Mapping[str, str | None],
    secrets: list[str],
) -> Form:
    """The config form of connector `name` as the file will have it: asked at the file's URL
    with the file's token, or at the registered one when the file does not name it."""
    from host.admin.clients import connector_label, make_client
    from host.admin.forms import Form, fetch_lists
    from host.registry import ConnectorRecord

    with admin_errors():
        spec = desired.connectors.get(name)
        if spec is not None:
            url, token, bundle = spec.url, tokens[name], bundles[name]
        else:
            record = registry.connector(name)
            url, token, bundle = record.url, registry.connector_token(name), record.ca_bundle
        client = make_client(
            url,
            token=token,
            label=connector_label(name, url),
            ca_bundle=bundle,
            secrets=secrets,
        )
        async with client:
            await client.info()
            fields = await client.config_fields()
            lists = await fetch_lists(client, fields)
    return Form(ConnectorRecord(name, url, token is not None, "", ca_bundle=bundle), fields, lists)


def _read_config_secrets(desired: Desired, resolver: _Resolver) -> dict[str, dict[str, str | None]]:
    """Per connection, the value of each reference in its config (None: could not be read,
    a problem already says why)."""
    from host.files import CONFIG_FILE_LIMIT

    read: dict[str, dict[str, str | None]] = {}
    for conn in desired.connections.values():
        path = path_of("connections", conn.name, "config")
        read[conn.name] = {
            key: resolver.resolve(ref, f"{path}.{path_of(key)}", CONFIG_FILE_LIMIT)
            for key, ref in conn.config.items()
            if isinstance(ref, SecretRef)
        }
    return read


def _check_config(
    conn: ConnectionSpec, read: Mapping[str, str | None], form: Form, problems: _Problems
) -> dict[str, Any] | None:
    """The connection's config as it would be saved (typed, defaults filled, secrets read),
    or None with its problems added: a secret written in the file is refused."""
    from host.admin.forms import validate

    path = path_of("connections", conn.name, "config")
    secret_keys = set(form.secret_keys)
    values: dict[str, Any] = {}
    ok = True
    unread: set[str] = set()  # already a problem: not "is mandatory" too
    for key, value in conn.config.items():
        where = f"{path}.{path_of(key)}"
        if isinstance(value, SecretRef):
            resolved = read.get(key)
            if resolved is None:
                ok = False
                unread.add(key)
                continue
            values[key] = resolved
        elif key in secret_keys:
            problems.add(
                where,
                "a secret field holds a value in the file; write a reference instead: "
                '{ env = "NAME" } or { file = "PATH" } (and rotate this secret: it was in a file)',
            )
            ok = False
            unread.add(key)
        else:
            values[key] = value
    report = validate(form, values)
    for item in report.fields:
        for error in [] if item.key in unread else item.errors:
            problems.add(f"{path}.{path_of(item.key)}", error)
    for key in report.unknown_keys:
        problems.add(
            f"{path}.{path_of(key)}", f"not a config field of connector {form.connector.name!r}"
        )
    return report.values() if ok and report.ok else None


def _steps(
    registry: Registry,
    home: _Home,
    desired: Desired,
    tokens: Mapping[str, str | None],
    bundles: Mapping[str, str | None],
    configs: Mapping[str, dict[str, Any]],
    prune: bool,
) -> tuple[list[Step], list[str]]:
    steps: list[Step] = []
    for user in sorted(desired.users):
        steps.append(Step("user", user, UNCHANGED if user in home.users else CREATE))
    for group, members in sorted(desired.groups.items()):
        if group not in home.groups:
            steps.append(Step("group", group, CREATE, ["members"] if members else []))
            continue
        now = home.groups[group]
        added = sorted(set(members) - set(now))
        gone = sorted(set(now) - set(members))
        changes = [f"+member {u}" for u in added] + [f"-member {u}" for u in gone]
        steps.append(Step("group", group, UPDATE if changes else UNCHANGED, changes))
    for name, spec in sorted(desired.connectors.items()):
        record = home.connectors.get(name)
        if record is None:
            steps.append(Step("connector", name, CREATE, notes=["its info is checked first"]))
            continue
        changes = []
        if spec.url != record.url:
            changes.append("url")
        if tokens[name] != registry.connector_token(name):
            changes.append("token")
        if bundles[name] != record.ca_bundle:
            changes.append("ca_bundle")
        notes = ["its info is checked first"] if changes else []
        steps.append(Step("connector", name, UPDATE if changes else UNCHANGED, changes, notes))
    for name, conn in sorted(desired.connections.items()):
        steps.append(_connection_step(registry, home, conn, configs[name]))
    if desired.sync_priority is not None and desired.sync_priority != sync_priority(registry):
        steps.append(Step("sync priority", "", UPDATE, ["order"]))
    left_alone: list[str] = []
    extra = [
        ("connection", sorted(set(home.connections) - set(desired.connections))),
        ("connector", sorted(set(home.connectors) - set(desired.connectors))),
        ("group", sorted(set(home.groups) - set(desired.groups))),
        ("user", sorted(home.users - set(desired.users))),
    ]
    for kind, names in extra:
        for name in names:
            if prune:
                steps.append(Step(kind, name, DELETE))
            else:
                left_alone.append(f"{kind} {name}")
    return steps, left_alone


def _connection_step(
    registry: Registry, home: _Home, conn: ConnectionSpec, config: dict[str, Any]
) -> Step:
    record = home.connections.get(conn.name)
    if record is None:
        changes = ["config"] + (["sync"] if conn.sync is not None else [])
        notes = ["tested by the connector before it is saved"]
        if conn.active:
            notes.append("activated")
        return Step("connection", conn.name, CREATE, changes, notes)
    changes, notes = [], []
    if conn.description != record.description:
        changes.append("description")
    if (conn.scope, sorted(conn.users), sorted(conn.groups)) != (
        record.scope,
        sorted(record.users),
        sorted(record.groups),
    ):
        changes.append("scope")
    stored = registry.connection_config(record.guid) or {}
    changed_keys = sorted(k for k in {*stored, *config} if stored.get(k) != config.get(k))
    changes += [f"config.{k}" for k in changed_keys]
    if changed_keys:
        notes.append("tested by the connector before it is saved")
        if record.active:
            notes.append("deactivated while its config changes")
    if conn.sync is not None:
        current = (
            sync_document(registry, conn.name) if has_sync_settings(registry, record.guid) else None
        )
        if without_none(conn.sync) != without_none(current):
            changes.append("sync")
    if conn.active != record.active:
        changes.append("active")
        notes.append("activated" if conn.active else "deactivated")
    elif conn.active and changed_keys:
        notes.append("activated again")
    return Step("connection", conn.name, UPDATE if changes else UNCHANGED, changes, notes)
