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


@dataclass(frozen=True)
class Field:
    """Metadata of one field: a config field of a connector or a field of an actor type."""

    key: str
    display_name: str
    type: FieldType = FieldType.TEXT
    access: Access = Access.NORMAL
    description: str = ""
    default: Any = None
    max_length: int = 0
    list_name: str = ""
    rank: int = 0

    def __post_init__(self) -> None:
        # Accept plain strings so partners can write type="integer".
        object.__setattr__(self, "type", FieldType(self.type))
        object.__setattr__(self, "access", Access(self.access))

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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Field:
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
