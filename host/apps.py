"""Find, load and isolate sync apps from the `erpsync.apps` entry-point group.

Each app is loaded on its own: an app that fails to import, raises in its hook, misspells a
hook or declares a bad connector is recorded as broken with a one-line reason, and the other
apps and every command keep working.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from host import hookspecs
from host.connector import (
    CONNECTOR_ID_PATTERN,
    SECRET_KEY_PATTERN,
    Connector,
    Field,
    FieldType,
)
from host.protocol import PROTOCOL_VERSION, is_supported_version
from host.protocol.fieldrules import declaration_problems
from host.protocol.values import FieldValueError, coerce_value

ENTRY_POINT_GROUP = "erpsync.apps"
LOAD_APPS_ENV = "ERPSYNC_LOAD_APPS"
RAISE_ERRORS_ENV = "ERPSYNC_RAISE_APP_ERRORS"


class AppStatus:
    LOADED = "loaded"
    BROKEN = "broken"
    DISABLED = "disabled"
    NOT_ALLOWED = "not_allowed"


@dataclass
class AppRecord:
    """One installed app as the admin sees it in `erpsync apps list`."""

    name: str
    distribution: str
    version: str
    target: str
    status: str = AppStatus.LOADED
    error: str = ""
    connectors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.target,
            "status": self.status,
            "error": self.error,
            "connectors": list(self.connectors),
        }


@dataclass
class LoadedApps:
    apps: list[AppRecord]
    connectors: dict[str, Connector]
    connector_app: dict[str, str]

    def app(self, name: str) -> AppRecord | None:
        return next((a for a in self.apps if a.name == name), None)


class AppLoadError(Exception):
    """Why one app could not be loaded; the message is the one line shown to the admin."""


def allowed_apps_from_env() -> set[str] | None:
    """`ERPSYNC_LOAD_APPS=a,b` loads only those apps; set but empty loads none."""
    raw = os.environ.get(LOAD_APPS_ENV)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _entry_points() -> list[Any]:
    import importlib_metadata

    seen: set[tuple[str, str]] = set()
    found = []
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        key = (ep.name, ep.value)
        if key in seen:  # the same dist on sys.path twice (editable installs, tests)
            continue
        seen.add(key)
        found.append(ep)
    return sorted(found, key=lambda ep: ep.name)


MOCK_APP = "mock"
"""The entry-point name of the bundled mock ERP app (erpsync_mock_erp)."""


def app_module(name: str) -> Any:
    """The module of installed app `name`, reached through its `erpsync.apps` entry point
    (never imported by its module name: the host knows apps only as entry points)."""
    for ep in _entry_points():
        if ep.name == name:
            return ep.load()
    raise LookupError(f"no app named {name!r} in the entry-point group {ENTRY_POINT_GROUP}")


def mock_demo_login() -> dict[str, Any]:
    """The bundled mock ERP's demo login, as the app declares it (`DEMO_LOGIN`): what
    `erpsync demo`, the web demo, `apps check mock`, tests and benchmarks log in with."""
    return dict(app_module(MOCK_APP).DEMO_LOGIN)


def _name_and_version(dist: Any) -> tuple[str, str]:
    """A distribution's Name and Version, read from the head of its metadata file.

    `dist.name` / `dist.version` parse the whole file with the email package, whose import
    and parse cost `erpsync apps list` about 20 ms; Name and Version are plain one-line
    headers (core metadata spec), found before the first blank line. Anything unexpected
    falls back to the full parse.
    """
    if dist is None:
        return "", ""
    try:
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    except (OSError, ValueError):
        text = ""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end here; the description follows
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Version") and key not in found:
            found[key] = value.strip()
            if len(found) == 2:
                return found["Name"], found["Version"]
    return str(dist.name or ""), str(dist.version or "")


def load_apps(
    disabled: Iterable[str] | None = None,
    allowed: set[str] | None = None,
    only: str | None = None,
) -> LoadedApps:
    """Load every installed app one at a time; `only` loads a single app by name.

    `disabled` defaults to the apps the admin disabled (`erpsync apps disable`, kept in
    apps.json in the home), so every command and `erpsync serve` skip them alike.
    """
    if allowed is None:
        allowed = allowed_apps_from_env()
    if disabled is None:
        from host.appstate import disabled_apps

        disabled = disabled_apps()
    disabled = set(disabled)
    raise_errors = os.environ.get(RAISE_ERRORS_ENV, "") not in ("", "0")
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    result = LoadedApps([], {}, {})
    for ep in _entry_points():
        if only is not None and ep.name != only:
            continue
        distribution, version = _name_and_version(getattr(ep, "dist", None))
        record = AppRecord(
            name=ep.name, distribution=distribution, version=version, target=ep.value
        )
        result.apps.append(record)
        if result.app(ep.name) is not record:
            record.status = AppStatus.BROKEN
            record.error = f"another installed distribution already uses the app name {ep.name!r}"
            continue
        if allowed is not None and ep.name not in allowed:
            record.status = AppStatus.NOT_ALLOWED
            record.error = f"not listed in {LOAD_APPS_ENV}"
            continue
        if ep.name in disabled:
            manager.set_blocked(ep.name)
            record.status = AppStatus.DISABLED
            continue
        try:
            connectors = _load_one(manager, ep, result.connectors, result.connector_app)
        except Exception as exc:
            if raise_errors:
                raise
            record.status = AppStatus.BROKEN
            record.error = _one_line(exc)
            continue
        for connector in connectors:
            result.connectors[connector.id] = connector
            result.connector_app[connector.id] = ep.name
            record.connectors.append(connector.id)
    return result


def _load_one(
    manager: pluggy.PluginManager,
    ep: Any,
    loaded: dict[str, Connector],
    owners: dict[str, str],
) -> list[Connector]:
    # An app printing at import would corrupt `--json` output; what it prints is dropped.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            module = ep.load()
        except (Exception, SystemExit) as exc:  # an app calling sys.exit() must not end us
            raise AppLoadError(f"import of {ep.value!r} failed: {_one_line(exc)}") from exc
        try:
            manager.register(module, name=ep.name)
            manager.check_pending()
        except pluggy.PluginValidationError as exc:
            _forget(manager, ep.name)
            raise AppLoadError("invalid hook: " + " ".join(str(exc).split())) from exc
        except ValueError as exc:
            raise AppLoadError(f"cannot register: {exc}") from exc

        registered: list[object] = []
        try:
            for impl in manager.hook.register_connectors.get_hookimpls():
                if impl.plugin_name == ep.name:
                    returned = impl.function(register=registered.append)
                    if returned is not None:
                        # Register-callback style: returning connectors would drop them
                        # silently, so a hook that returns anything is a mistake to report.
                        _forget(manager, ep.name)
                        raise AppLoadError(
                            f"register_connectors returned {_short_repr(returned)}; it must "
                            "call register(connector) for each connector and return nothing"
                        )
        except AppLoadError:
            raise
        except (Exception, SystemExit) as exc:
            _forget(manager, ep.name)
            raise AppLoadError(f"register_connectors raised {_one_line(exc)}") from exc

    problems: list[str] = []
    ids: set[str] = set()
    for connector in registered:
        problems.extend(validate_declaration(connector))
        if not isinstance(connector, Connector):
            continue
        problems.extend(_answers_problems(connector))
        if connector.id in loaded:
            problems.append(
                f"connector id {connector.id!r} is already registered by app "
                f"{owners[connector.id]!r}"
            )
        elif connector.id in ids:
            problems.append(f"connector id {connector.id!r} is registered twice by this app")
        ids.add(connector.id)
    if problems:
        _forget(manager, ep.name)
        raise AppLoadError("; ".join(problems))
    return [c for c in registered if isinstance(c, Connector)]


def _answers_problems(connector: Connector) -> list[str]:
    """info() and get_config_fields() are what every command shows of a connector: an
    override answering garbage is caught here, once, not as a crash in `apps show`."""
    cid = connector.id
    problems = []
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            info = connector.info()
            if not isinstance(info, dict):
                problems.append(f"connector {cid!r}: info() returned {_short_repr(info)}")
        except Exception as exc:
            problems.append(f"connector {cid!r}: info() raised {_one_line(exc)}")
        try:
            fields = connector.get_config_fields()
            if not isinstance(fields, list | tuple) or not all(
                isinstance(f, Field) for f in fields
            ):
                problems.append(
                    f"connector {cid!r}: get_config_fields() returned {_short_repr(fields)}, "
                    "not a list of ConfigField"
                )
            elif list(fields) != sorted(connector.config_fields, key=lambda f: f.rank):
                # an override computes its own fields: their conditions are checked too
                problems.extend(
                    f"connector {cid!r}: {p}" for p in declaration_problems(list(fields))
                )
        except Exception as exc:
            problems.append(f"connector {cid!r}: get_config_fields() raised {_one_line(exc)}")
    return problems


def _forget(manager: pluggy.PluginManager, name: str) -> None:
    plugin = manager.get_plugin(name)
    if plugin is not None:
        manager.unregister(plugin, name=name)


def _short_repr(value: object) -> str:
    try:
        text = " ".join(repr(value).split())
    except Exception:  # a broken __repr__ must not hide the real problem
        text = f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, AppLoadError):
        return str(exc)
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# --- declaration checks: a bad connector fails at load, not at use ----------------------


def validate_declaration(connector: object) -> list[str]:
    """Every problem with a connector's declaration, so a bad app fails at load, not at use."""
    if not isinstance(connector, Connector):
        return [f"registered object {connector!r} is not a host.Connector"]
    problems: list[str] = []
    cid = connector.id
    if not isinstance(cid, str) or not CONNECTOR_ID_PATTERN.match(cid):
        problems.append(
            f"connector id {cid!r} must be lowercase letters, digits, '-' or '_' "
            "starting with a letter"
        )
    for attr in ("name", "vendor", "version"):
        if not isinstance(getattr(connector, attr), str) or not getattr(connector, attr):
            problems.append(f"connector {cid!r}: {attr} must be a non-empty string")
    problems.extend(_protocol_problems(cid, connector.requires_protocol))
    fields = connector.config_fields
    if not isinstance(fields, (list, tuple)):
        return [*problems, f"connector {cid!r}: config_fields must be a list of ConfigField"]
    seen: set[str] = set()
    for item in fields:
        if not isinstance(item, Field):
            problems.append(f"connector {cid!r}: config field {item!r} is not a ConfigField")
            continue
        problems.extend(f"connector {cid!r}: {p}" for p in validate_field(item))
        if item.key in seen:
            problems.append(f"connector {cid!r}: config field key {item.key!r} is declared twice")
        seen.add(item.key)
    declared = [item for item in fields if isinstance(item, Field)]
    problems.extend(f"connector {cid!r}: {p}" for p in declaration_problems(declared))
    return problems


def _protocol_problems(cid: object, wanted: object) -> list[str]:
    """A connector requiring a protocol this host does not speak cannot be loaded."""

    def parts(version: str) -> tuple[int, int]:
        major, _, minor = version.partition(".")
        return int(major), int(minor or 0)

    if not (
        isinstance(wanted, str)
        and re.fullmatch(r"\d+(\.\d+)?", wanted)
        and is_supported_version(wanted)
        and parts(wanted) <= parts(PROTOCOL_VERSION)
    ):
        return [
            f"connector {cid!r} requires protocol {wanted!r}; this host speaks "
            f"{PROTOCOL_VERSION}: upgrade erpsync-host or install a matching version of the app"
        ]
    return []


def validate_field(item: Field) -> list[str]:
    """Problems with one field declaration (shared by config and actor fields)."""
    problems: list[str] = []
    if not item.key or not isinstance(item.key, str):
        problems.append("a field has an empty key")
        return problems
    if item.type is FieldType.LIST and not item.list_name:
        problems.append(f"list field {item.key!r} names no list (list_name)")
    if item.type is not FieldType.PASSWORD and SECRET_KEY_PATTERN.search(item.key):
        problems.append(
            f"field {item.key!r} looks like a secret but is type {item.type.value!r}; "
            "declare it as type 'password'"
        )
    if not isinstance(item.max_length, int) or item.max_length < 0:
        problems.append(f"field {item.key!r}: max_length must be an integer >= 0")
    if item.default is not None and item.type not in (
        FieldType.INTEGER,
        FieldType.DOUBLE,
        FieldType.LABEL,
    ):
        # Integer/double defaults that do not parse mean 0 (domain rule), so only others fail.
        try:
            coerce_value(item, item.default)
        except FieldValueError as exc:
            problems.append(f"field {item.key!r}: default {item.default!r} is invalid: {exc}")
    return problems
