"""The home as a file: its format (TOML or YAML), its parts, and secret references.

One file holds connectors, connections, users, groups and sync settings. It never holds a
secret: a connector token or a password field is a reference, `{ env = "NAME" }` or
`{ file = "PATH" }`, resolved only when the file is applied. Reading checks the whole
structure and collects one problem per mistake, each naming its path in the file
(`connections.sales.config.port: expected an integer`), so the admin fixes all at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "erpsync-home/1"
"""The value of the file's `format` key: a later format can be told from this one."""

HOME_FILE_LIMIT = 32 * 1024 * 1024
"""Bytes `apply` reads at most: a home of thousands of connections with their sync settings."""

FORMATS = ("toml", "yaml")
MASTER_KEY_ENV = "ERPSYNC_SECRET_KEY"

HEADER = (
    "# erpsync home: connectors, connections, users, groups and sync settings.\n"
    "# Apply with: erpsync apply FILE --dry-run, then erpsync apply FILE.\n"
    "# No secret is written here: tokens and passwords are references to environment\n"
    "# variables ({ env = ... }) or files ({ file = ... }) that apply reads.\n"
)


class FileProblems(ValueError):
    """The file cannot be applied: one line per problem, each naming its path."""

    def __init__(self, problems: list[str]) -> None:
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the file")
        self.problems = problems


@dataclass(frozen=True)
class SecretRef:
    """Where a secret's value is found when the file is applied: an environment variable or a
    file (a relative path is relative to the applied file's folder)."""

    env: str | None = None
    file: str | None = None

    def to_document(self) -> dict[str, str]:
        return {"env": self.env} if self.env is not None else {"file": str(self.file)}

    def describe(self) -> str:
        return f"${self.env}" if self.env is not None else f"file {self.file!r}"


@dataclass
class ConnectorSpec:
    name: str
    url: str
    token: SecretRef | None = None
    ca_bundle: str | None = None


@dataclass
class ConnectionSpec:
    name: str
    connector: str
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    description: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    """Values as written; a secret field's value is a SecretRef."""
    active: bool = False
    sync: dict[str, Any] | None = None
    """The connection's sync settings (host.sync.settings_file's document), or None: left as
    they are."""

    @property
    def scope(self) -> str:
        return "restricted" if self.users or self.groups else "everyone"


@dataclass
class Desired:
    """What a file says the home should hold."""

    users: list[str] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    connectors: dict[str, ConnectorSpec] = field(default_factory=dict)
    connections: dict[str, ConnectionSpec] = field(default_factory=dict)
    sync_priority: list[str] | None = None


# --- paths and names --------------------------------------------------------------------------


def path_of(*parts: str) -> str:
    """A dotted path as TOML writes keys: bare where it can, else quoted."""
    from host.admin.ascode.tomlwrite import key

    return ".".join(key(p) for p in parts)


def env_name(*parts: str) -> str:
    """An environment variable name from names: upper case, A-Z 0-9 and single underscores."""
    words = []
    for part in parts:
        ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        words.append(re.sub(r"[^A-Z0-9]+", "_", ascii_part.upper()).strip("_") or "X")
    return "_".join(words)


def connector_token_env(name: str) -> str:
    return "ERPSYNC_TOKEN_" + env_name(name)


def connection_secret_env(connection: str, key: str) -> str:
    return "ERPSYNC_SECRET_" + env_name(connection, key)


# --- writing ----------------------------------------------------------------------------------


def without_none(value: Any) -> Any:
    """`value` without None entries in mappings (TOML has no null; absent reads as None)."""
    if isinstance(value, Mapping):
        return {str(k): without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [without_none(v) for v in value]
    return value


def dumps(document: Mapping[str, Any], fmt: str = "toml") -> str:
    """The document as file text; the same document always gives the same bytes."""
    data = without_none(document)
    if fmt == "toml":
        from host.admin.ascode.tomlwrite import dumps as toml_dumps

        return HEADER + "\n" + toml_dumps(data)
    if fmt == "yaml":
        yaml = _yaml()
        text = yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
        )
        return HEADER + "\n" + str(text)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        from host.admin.errors import InvalidInput

        raise InvalidInput(
            "YAML needs PyYAML: pip install 'erpsync-host[yaml]' (or use TOML, the default)"
        ) from None
    return yaml


# --- reading ----------------------------------------------------------------------------------


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The format given, else by the file name: .yaml/.yml is YAML, anything else TOML."""
    if fmt:
        return fmt
    return "yaml" if Path(path).suffix.lower() in (".yaml", ".yml") else "toml"


def loads(text: str, fmt: str) -> Any:
    """The raw data of the file's text; a syntax error is one problem (the caller names the
    file in front of every problem)."""
    if fmt == "yaml":
        yaml = _yaml()
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise FileProblems([f"not valid YAML: {problem}{at}"]) from None
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileProblems([f"not valid TOML: {exc}"]) from None


def parse(data: Any) -> Desired:
    """The file's data as a Desired home, or FileProblems listing every structural mistake."""
    desired, problems = read(data)
    if problems:
        raise FileProblems(problems)
    return desired


def read(data: Any) -> tuple[Desired, list[str]]:
    """The file's data as a Desired home (what could be read of it) and every structural
    mistake, so the references of the rest can still be checked and all reported at once.

    Names are checked by the one rule for names; references between parts (a connection's
    connector, users and groups) are checked later against the file and the home together."""
    reader = _Reader()
    desired = reader.document(data)
    return desired, reader.problems


class _Reader:
    """Walks the raw data, collecting problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}" if path else message)

    def table(self, value: Any, path: str, allowed: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(path, f"expected a table, got {_kind(value)}")
            return {}
        for key in value:
            if allowed and key not in allowed:
                self.problem(
                    f"{path}.{path_of(str(key))}" if path else path_of(str(key)),
                    f"unknown key (expected one of: {', '.join(allowed)})",
                )
        return value

    def name(self, value: Any, path: str, what: str) -> str | None:
        from host.admin.errors import InvalidInput
        from host.admin.names import check_name

        if not isinstance(value, str):
            self.problem(path, f"expected a {what} name, got {_kind(value)}")
            return None
        try:
            checked = check_name(value, what)
        except InvalidInput as exc:
            self.problem(path, str(exc))
            return None
        if checked != value:
            self.problem(path, f"{what} name {value!r} is not as stored; write it as {checked!r}")
            return None
        return checked

    def names(self, value: Any, path: str, what: str) -> list[str]:
        if not isinstance(value, list):
            self.problem(path, f"expected a list of {what} names, got {_kind(value)}")
            return []
        found = []
        for index, item in enumerate(value):
            checked = self.name(item, f"{path}[{index}]", what)
            if checked is not None:
                if checked in found:
                    self.problem(f"{path}[{index}]", f"{what} {checked!r} is named twice")
                found.append(checked)
        return found

    def string(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str):
            self.problem(path, f"expected a string, got {_kind(value)}")
            return None
        return value

    def secret(self, value: Any, path: str) -> SecretRef | None:
        if not isinstance(value, dict) or len(value) != 1 or not ({"env", "file"} & set(value)):
            self.problem(path, 'expected a secret reference: { env = "NAME" } or { file = "PATH" }')
            return None
        ((kind, target),) = value.items()
        if not isinstance(target, str) or not target:
            self.problem(f"{path}.{kind}", f"expected a non-empty string, got {_kind(target)}")
            return None
        if kind == "env":
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", target):
                self.problem(f"{path}.env", f"{target!r} is not an environment variable name")
                return None
            if target == MASTER_KEY_ENV:
                self.problem(
                    f"{path}.env",
                    f"{MASTER_KEY_ENV} is the key that encrypts the registry, "
                    "not a secret to store",
                )
                return None
            return SecretRef(env=target)
        return SecretRef(file=target)

    # --- the parts ----------------------------------------------------------------------------

    def document(self, data: Any) -> Desired:
        top = self.table(
            data,
            "",
            ("format", "users", "groups", "connectors", "connections", "sync_priority"),
        )
        if not isinstance(data, dict):
            return Desired()
        if top.get("format") != FORMAT:
            self.problem("format", f'expected "{FORMAT}" (the file of erpsync export)')
        desired = Desired()
        if "users" in top:
            desired.users = self.names(top["users"], "users", "user")
        for group, members in self.table(top.get("groups", {}), "groups").items():
            path = path_of("groups", str(group))
            name = self.name(group, path, "group")
            checked = self.names(members, path, "user")
            if name is not None:
                desired.groups[name] = checked
        for name, body in self.table(top.get("connectors", {}), "connectors").items():
            spec = self.connector(name, body)
            if spec is not None:
                desired.connectors[spec.name] = spec
        for name, body in self.table(top.get("connections", {}), "connections").items():
            conn = self.connection(name, body)
            if conn is not None:
                desired.connections[conn.name] = conn
        if "sync_priority" in top:
            desired.sync_priority = self.names(top["sync_priority"], "sync_priority", "connection")
        return desired

    def connector(self, key: Any, body: Any) -> ConnectorSpec | None:
        path = path_of("connectors", str(key))
        name = self.name(key, path, "connector")
        body = self.table(body, path, ("url", "token", "ca_bundle"))
        url = self.string(body.get("url"), f"{path}.url") if "url" in body else None
        if "url" not in body:
            self.problem(f"{path}.url", "missing: the URL the connector answers at")
        token = self.secret(body["token"], f"{path}.token") if "token" in body else None
        bundle = (
            self.string(body["ca_bundle"], f"{path}.ca_bundle") if "ca_bundle" in body else None
        )
        if name is None or url is None:
            return None
        return ConnectorSpec(name, url, token, bundle)

    def connection(self, key: Any, body: Any) -> ConnectionSpec | None:
        path = path_of("connections", str(key))
        name = self.name(key, path, "connection")
        allowed = ("connector", "scope", "users", "groups", "description", "config", "active")
        body = self.table(body, path, (*allowed, "sync"))
        connector = None
        if "connector" in body:
            connector = self.name(body["connector"], f"{path}.connector", "connector")
        else:
            self.problem(f"{path}.connector", "missing: the connector this connection uses")
        users = self.names(body.get("users", []), f"{path}.users", "user")
        groups = self.names(body.get("groups", []), f"{path}.groups", "group")
        scope = body.get("scope", "restricted" if users or groups else "everyone")
        if scope not in ("everyone", "restricted"):
            self.problem(f"{path}.scope", 'expected "everyone" or "restricted"')
        elif scope == "everyone" and (users or groups):
            self.problem(f"{path}.scope", '"everyone" cannot be combined with users or groups')
        elif scope == "restricted" and not (users or groups):
            self.problem(f"{path}.scope", '"restricted" needs at least one user or group')
        description = self.string(body.get("description", ""), f"{path}.description") or ""
        active = body.get("active", False)
        if not isinstance(active, bool):
            self.problem(f"{path}.active", f"expected true or false, got {_kind(active)}")
        config: dict[str, Any] = {}
        for field_key, value in self.table(body.get("config", {}), f"{path}.config").items():
            field_path = f"{path}.config.{path_of(str(field_key))}"
            if isinstance(value, dict):
                ref = self.secret(value, field_path)
                if ref is not None:
                    config[str(field_key)] = ref
            elif isinstance(value, list):
                self.problem(field_path, "expected a single value, got a list")
            else:
                config[str(field_key)] = _plain(value)
        sync = None
        if "sync" in body:
            sync = self.table(body["sync"], f"{path}.sync", ("interval_seconds", "types", "lists"))
        if name is None or connector is None:
            return None
        return ConnectionSpec(
            name, connector, users, groups, description, config, active is True, sync
        )


def _plain(value: Any) -> Any:
    """TOML and YAML dates and times as ISO text, as the config file of `connections add`."""
    import datetime

    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def _kind(value: Any) -> str:
    """What a value is, in the file's words (never the value itself: it may be a secret)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, bytes):
        return "binary data"
    return "a date or time"
