"""The SDK a partner writes a connector against: metadata, fields, actors and responses.

Everything here is plain dataclasses and enums so that importing the SDK (and so listing
apps) never pulls in the web stack.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

ACTOR_TYPES: tuple[str, ...] = ("customer", "supplier", "partner", "person", "project")
"""The fixed set of actor types a connector may offer (employee and sale are reserved)."""

ALL_ZERO_GUID = "00000000-0000-0000-0000-000000000000"
"""Lists are also answered for this GUID, so a config dialog can offer them before any save."""

SECRET_KEY_PATTERN = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential)", re.IGNORECASE
)
"""Field keys that look like secrets must be declared as password fields."""

CONNECTOR_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class FieldType(enum.StrEnum):
    """The eight field types of the domain; they fix the JSON value type on the wire."""

    CHECKBOX = "checkbox"
    TEXT = "text"
    PASSWORD = "password"
    INTEGER = "integer"
    DOUBLE = "double"
    LIST = "list"
    DATETIME = "datetime"
    LABEL = "label"


class Access(enum.StrEnum):
    """Whether a field may be left empty, must be filled, or cannot be set."""

    NORMAL = "normal"
    MANDATORY = "mandatory"
    READONLY = "readonly"


class State(enum.StrEnum):
    """Outcome of a connector call; anything but ERROR counts as success."""

    OK = "ok"
    OK_WITH_INFO = "ok_with_info"
    WARNING = "warning"
    ERROR = "error"


CONDITION_SCALARS = (bool, int, float, str)
"""The JSON values a condition may compare with (never null, never a list or an object)."""


@dataclass(frozen=True)
class Condition:
    """A condition on another config field's value (protocol v1.1 field metadata).

    Declarative JSON, no expressions: ``{"field": "source", "equals": "file"}`` holds when the
    field `source` has the value "file"; ``{"field": "source", "in": ["file", "ftp"]}`` when it
    has one of these. Values are the native JSON of that field's type (true/false for a
    checkbox). A field that is hidden, empty or invalid has no value: no condition on it holds.
    """

    field: str
    values: tuple[Any, ...]
    op: str = "equals"  # "equals" (one value) or "in" (any of the values)

    @classmethod
    def from_dict(cls, data: Any) -> Condition:
        """A condition from its JSON shape; ValueError saying what is wrong otherwise."""
        if isinstance(data, Condition):
            return data
        if not isinstance(data, Mapping):
            raise ValueError(
                f"a condition must be an object like {{'field': KEY, 'equals': VALUE}}, "
                f"got {type(data).__name__}"
            )
        # A null equals/in counts as left out (a peer serialising both keys of a model).
        data = {k: v for k, v in data.items() if not (k in ("equals", "in") and v is None)}
        extra = sorted(str(k) for k in data if k not in ("field", "equals", "in"))
        if extra:
            raise ValueError(f"a condition has unknown keys {extra}; use field and equals or in")
        name = data.get("field")
        if not isinstance(name, str) or not name:
            raise ValueError("a condition names no field (field: KEY)")
        if ("equals" in data) == ("in" in data):
            raise ValueError(f"a condition on {name!r} needs exactly one of equals or in")
        if "equals" in data:
            values: tuple[Any, ...] = (data["equals"],)
            op = "equals"
        else:
            given = data["in"]
            if not isinstance(given, list | tuple) or not given:
                raise ValueError(f"a condition on {name!r}: in must be a non-empty list")
            values, op = tuple(given), "in"
        for value in values:
            if not isinstance(value, CONDITION_SCALARS):
                raise ValueError(
                    f"a condition on {name!r} compares with {value!r}: use true/false, a "
                    "number or a string"
                )
        return cls(name, values, op)

    def to_dict(self) -> dict[str, Any]:
        if self.op == "equals":
            return {"field": self.field, "equals": self.values[0]}
        return {"field": self.field, "in": list(self.values)}

    def holds(self, value: Any) -> bool:
        """Whether the other field's typed value (None: no value) meets the condition."""
        return value is not None and any(_same(value, v) for v in self.values)

    def describe(self) -> str:
        """For messages: `source is 'file'`, `source is one of 'a', 'b'`."""
        shown = ", ".join(_json_text(v) for v in self.values)
        return f"{self.field} is {'one of ' if self.op == 'in' else ''}{shown}"


def _same(value: Any, wanted: Any) -> bool:
    """Equality of JSON values without Python's True == 1."""
    if isinstance(value, bool) or isinstance(wanted, bool):
        return isinstance(value, bool) and isinstance(wanted, bool) and value is wanted
    if isinstance(value, int | float) and isinstance(wanted, int | float):
        return bool(value == wanted)
    return type(value) is type(wanted) and bool(value == wanted)


def _json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _condition(value: Any) -> Condition | None:
    return None if value is None else Condition.from_dict(value)


@dataclass(frozen=True)
class Field:
    """Metadata of one field: a config field of a connector or a field of an actor type.

    The v1.1 keys (visible_when ... pattern_message) are optional: left out, a field
    behaves as in 1.0. See docs/protocol.md, "Field metadata (v1.1)".
    """

    key: str
    display_name: str
    type: FieldType = FieldType.TEXT
    access: Access = Access.NORMAL
    description: str = ""
    default: Any = None
    max_length: int = 0
    list_name: str = ""
    rank: int = 0
    visible_when: Condition | None = None
    """Shown (and its value kept) only while this condition on another field holds."""
    required_when: Condition | None = None
    """Mandatory while this condition holds (and the field is shown)."""
    group: str = ""
    """The title of the group of a long form this field is shown in ("": no group)."""
    placeholder: str = ""
    """An example shown in the empty input, never a value."""
    help: str = ""
    """Longer help than `description`, shown beside or below the input."""
    pattern: str = ""
    """A regular expression (Python syntax) a non-empty text value must match in full."""
    pattern_message: str = ""
    """What a value must look like, shown when it does not match `pattern`."""

    def __post_init__(self) -> None:
        # Accept plain strings so partners can write type="integer", and conditions as the
        # JSON they travel as ({"field": "source", "equals": "file"}).
        object.__setattr__(self, "type", FieldType(self.type))
        object.__setattr__(self, "access", Access(self.access))
        object.__setattr__(self, "visible_when", _condition(self.visible_when))
        object.__setattr__(self, "required_when", _condition(self.required_when))
        for name in ("group", "placeholder", "help", "pattern", "pattern_message"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"field {self.key!r}: {name} must be a string")

    @property
    def is_secret(self) -> bool:
        return self.type is FieldType.PASSWORD

    @property
    def settable(self) -> bool:
        """Label and read-only fields are shown, never given a value by the admin."""
        return self.type is not FieldType.LABEL and self.access is not Access.READONLY

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "display_name": self.display_name,
            "description": self.description,
            "type": self.type.value,
            "access": self.access.value,
            "default": self.default,
            "max_length": self.max_length,
            "list_name": self.list_name,
            "rank": self.rank,
            **self.metadata_dict(),
        }

    def metadata_dict(self) -> dict[str, Any]:
        """The v1.1 keys this field declares; none for a field that declares none (a 1.0
        field's JSON is unchanged)."""
        extra: dict[str, Any] = {}
        for name in ("visible_when", "required_when"):
            condition = getattr(self, name)
            if condition is not None:
                extra[name] = condition.to_dict()
        for name in ("group", "placeholder", "help", "pattern", "pattern_message"):
            if getattr(self, name):
                extra[name] = getattr(self, name)
        return extra

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Field:
        """A field from its JSON; keys left out (1.0) mean 1.0 behaviour."""
        return cls(
            key=data["key"],
            display_name=data.get("display_name") or data["key"],
            type=FieldType(data.get("type", "text")),
            access=Access(data.get("access", "normal")),
            description=data.get("description") or "",
            default=data.get("default"),
            max_length=int(data.get("max_length") or 0),
            list_name=data.get("list_name") or "",
            rank=int(data.get("rank") or 0),
            visible_when=data.get("visible_when"),
            required_when=data.get("required_when"),
            group=data.get("group") or "",
            placeholder=data.get("placeholder") or "",
            help=data.get("help") or "",
            pattern=data.get("pattern") or "",
            pattern_message=data.get("pattern_message") or "",
        )


ConfigField = Field
"""Config fields and actor fields share one shape; the alias reads better in declarations."""


@dataclass
class Response:
    """The envelope of every connector answer (the payload travels beside it on the wire)."""

    state: State = State.OK
    user_explanation: str = ""
    tech_explanation: str = ""
    error_code: str = ""

    def __post_init__(self) -> None:
        self.state = State(self.state)

    @property
    def ok(self) -> bool:
        return self.state is not State.ERROR

    @classmethod
    def success(cls, user_explanation: str = "", *, info: bool = False) -> Response:
        return cls(State.OK_WITH_INFO if info else State.OK, user_explanation)

    @classmethod
    def warning(cls, user_explanation: str, tech_explanation: str = "") -> Response:
        return cls(State.WARNING, user_explanation, tech_explanation)

    @classmethod
    def error(
        cls, user_explanation: str, tech_explanation: str = "", error_code: str = "error"
    ) -> Response:
        return cls(State.ERROR, user_explanation, tech_explanation, error_code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "state": self.state.value,
            "user_explanation": self.user_explanation,
            "tech_explanation": self.tech_explanation,
            "error_code": self.error_code,
        }


@dataclass
class Actor:
    """One ERP record, identified by (actor_type, erp_key)."""

    actor_type: str
    erp_key: str = ""
    last_modified: str = ""
    parent_actor_type: str = ""
    parent_erp_key: str = ""
    field_values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor_type": self.actor_type,
            "erp_key": self.erp_key,
            "last_modified": self.last_modified,
            "parent_actor_type": self.parent_actor_type,
            "parent_erp_key": self.parent_erp_key,
            "field_values": dict(self.field_values),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Actor:
        return cls(
            actor_type=data["actor_type"],
            erp_key=data.get("erp_key") or "",
            last_modified=data.get("last_modified") or "",
            parent_actor_type=data.get("parent_actor_type") or "",
            parent_erp_key=data.get("parent_erp_key") or "",
            field_values=dict(data.get("field_values") or {}),
        )


@dataclass(frozen=True)
class Restriction:
    """One criterion of an advanced search; restrictions are ANDed."""

    field_key: str
    operator: str
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Connection:
    """What a connector sees of an ERP connection: the host's GUID and the saved config."""

    guid: str
    config: Mapping[str, Any]


@dataclass
class Page:
    """One page of actors changed since a stamp; `cursor` is empty on the last page."""

    actors: list[Actor]
    cursor: str = ""


class NotSupported(Exception):
    """Raised (by default) for operations a connector does not implement."""


class ConnectorError(Exception):
    """Raise from a connector to answer an error with a chosen code and explanation."""

    def __init__(
        self, user_explanation: str, tech_explanation: str = "", error_code: str = "error"
    ):
        super().__init__(user_explanation)
        self.response = Response.error(user_explanation, tech_explanation, error_code)


class Connector:
    """Base class of every connector; override the operations your ERP supports.

    Operations left alone answer `not_supported`. Operations may be plain or async methods;
    the connector host runs plain ones in a worker thread (inline when `blocking` is False).
    """

    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    vendor: ClassVar[str] = ""
    version: ClassVar[str] = "0.0.0"
    description: ClassVar[str] = ""
    config_fields: ClassVar[Sequence[Field]] = ()
    max_page_size: ClassVar[int] = 1000
    """The largest `limit` a page of changes or of search results may ask for (<= 1000)."""
    search_page_size: ClassVar[int] = 500
    """Actors per search page when the request names no limit (protocol v1.1 pages searches)."""
    blocking: ClassVar[bool] = True
    """False declares that the plain (non-async) operations never wait on I/O (an in-memory
    or local store): the host then calls them inline on its event loop, saving the hop to a
    worker thread (about a third of a small request's server time). Leave True for anything
    that talks to a network or a slow disk."""
    requires_protocol: ClassVar[str] = "1.0"
    """The protocol version this connector is written for ("MAJOR.MINOR"); a host that does
    not speak that major version, or speaks an older minor, refuses to load it."""

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "vendor": self.vendor,
            "version": self.version,
            "description": self.description,
        }

    def get_config_fields(self) -> list[Field]:
        return sorted(self.config_fields, key=lambda f: f.rank)

    def migrate_config(self, from_version: str, values: dict[str, Any]) -> dict[str, Any]:
        """Move a saved connection's config values from `from_version` of this connector
        to this one (a renamed key, a text port that is now an integer ...); return the new
        values. The host calls it once per version step when it finds this app upgraded (or
        downgraded: `from_version` may be newer than `version`), before it checks what the
        upgrade breaks, and audits which keys changed (never their values). Values include
        secrets. Default: unchanged. Runs only for connectors installed on the host that
        checks (connector URL `app:<id>`)."""
        return values

    def test_config(self, config: Mapping[str, Any]) -> Response:
        raise NotSupported("test_config")

    def save_connection(self, connection: Connection) -> Response:
        """The host already stores GUID -> config; override to prepare ERP-side state."""
        return Response.success()

    def test_connection(self, connection: Connection) -> Response:
        """Default: the same checks as the config test, on the saved config."""
        return self.test_config(connection.config)

    def delete_connection(self, connection: Connection) -> Response:
        return Response.success()

    def actor_types(self, connection: Connection) -> list[str]:
        raise NotSupported("actor_types")

    def actor_fields(self, connection: Connection, actor_type: str) -> list[Field]:
        raise NotSupported("actor_fields")

    def searchable_fields(self, connection: Connection, actor_type: str) -> list[str]:
        raise NotSupported("searchable_fields")

    def get_actors(
        self, connection: Connection, actor_type: str, erp_keys: list[str], field_keys: list[str]
    ) -> list[Actor]:
        raise NotSupported("get_actors")

    def search_actors(
        self, connection: Connection, actor_type: str, text: str, field_keys: list[str]
    ) -> list[Actor]:
        raise NotSupported("search_actors")

    def search_by_parent(
        self,
        connection: Connection,
        actor_type: str,
        text: str,
        parent_actor_type: str,
        parent_erp_key: str,
        field_keys: list[str],
    ) -> list[Actor]:
        raise NotSupported("search_by_parent")

    def search_advanced(
        self,
        connection: Connection,
        actor_type: str,
        restrictions: list[Restriction],
        field_keys: list[str],
    ) -> list[Actor]:
        raise NotSupported("search_advanced")

    def create_actor(self, connection: Connection, actor: Actor) -> Actor:
        raise NotSupported("create_actor")

    def save_actors(self, connection: Connection, actors: list[Actor]) -> list[Actor]:
        raise NotSupported("save_actors")

    def get_list(self, connection: Connection, list_name: str) -> dict[str, str]:
        raise NotSupported("get_list")

    def get_list_items(
        self, connection: Connection, list_name: str, keys: list[str]
    ) -> dict[str, str]:
        """Default: filter the whole list."""
        items = self.get_list(connection, list_name)
        return {k: items[k] for k in keys if k in items}

    def changed_since(
        self,
        connection: Connection,
        actor_type: str,
        since: str,
        field_keys: list[str],
        cursor: str,
        limit: int,
    ) -> Page:
        raise NotSupported("changed_since")
