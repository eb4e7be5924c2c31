"""Every operation of protocol v1, once: method, path, request and answer models, retry policy.

The connector host builds its routes from this table, `ConnectorClient` its requests and its
retry policy, and the conformance suite its raw requests, so no path is written out twice.
Paths are relative to a connector's base URL plus `BASE_PATH` (`<connector URL>/v1`).
"""

from __future__ import annotations

import enum
import functools
import string
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from host.protocol import models as m

BASE_PATH = "/v1"
"""Prefix of every operation path under a connector's URL (the protocol's major version)."""


class Guid(enum.Enum):
    """How an operation uses the connection GUID in its path."""

    NONE = "none"
    """No GUID: the operation is about the connector itself."""
    SAVE = "save"
    """The GUID being saved: the connector need not know it yet."""
    KNOWN = "known"
    """A saved connection; when the connector forgot it, the client re-sends its config."""
    KNOWN_OR_ZERO = "known_or_zero"
    """As KNOWN, and the all-zero GUID is answered too (lists, before any save)."""
    FORGET = "forget"
    """A saved connection about to be forgotten: its config is never re-sent for that."""


@dataclass(frozen=True)
class QueryParam:
    """One query parameter; `annotation` is its Python type (a list repeats the parameter)."""

    name: str
    annotation: Any
    default: Any
    description: str = ""
    ge: int | None = None
    le: int | None = None


@dataclass(frozen=True)
class Operation:
    """One protocol operation; `name` is also the connector method and the route's name."""

    name: str
    method: str
    path: str
    summary: str
    answer: Any
    """The payload model under the envelope's `data` (None when there is none)."""
    request: type[BaseModel] | None = None
    """The JSON body model, or None for no body."""
    query: tuple[QueryParam, ...] = ()
    guid: Guid = Guid.NONE
    idempotent: bool = True
    """Safe to send again after a transient failure (the client retries only these)."""
    optional: bool = False
    """A connector may leave it out; v1.1 connectors list the ones they offer in info's
    `capabilities.operations`, and answer `not_supported` to the rest."""
    paged: bool = False
    """A search: the body takes `limit`/`cursor`, the answer may carry `next_cursor` (v1.1)."""
    streamed: bool = False
    """The answer is NDJSON (`STREAM_MEDIA_TYPE`), one `answer` per line, not an envelope;
    an error before the first line is an ordinary error envelope (v1.1)."""

    @property
    def takes_guid(self) -> bool:
        return self.guid is not Guid.NONE

    @property
    def resends_config(self) -> bool:
        """The client re-sends a forgotten connection's config, then asks once more."""
        return self.guid in (Guid.KNOWN, Guid.KNOWN_OR_ZERO)

    @functools.cached_property
    def path_params(self) -> tuple[str, ...]:
        """The names of the path's `{placeholders}`, in order (parsed once)."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.path) if name)

    def url(self, *values: str, **params: str) -> str:
        """The path with its placeholders filled in (in order, or by name), relative to
        `<connector URL>/v1`; the GUID, when there is one, always comes first."""
        if values:
            params = {**dict(zip(self.path_params, values, strict=True)), **params}
        return self.path.format(**params)


ACTORS = "/connections/{guid}/actors/{actor_type}"
ACTOR_TYPE = "/connections/{guid}/actor-types/{actor_type}"


INFO = Operation("info", "GET", "/info", "Identify the connector", m.InfoModel)
CONFIG_FIELDS = Operation(
    "config_fields", "GET", "/config-fields", "Config fields the admin fills in", list[m.FieldModel]
)
TEST_CONFIG = Operation(
    "test_config", "POST", "/config/test", "Test config values unsaved", None, m.ConfigBody
)
SAVE_CONNECTION = Operation(
    "save_connection",
    "PUT",
    "/connections/{guid}",
    "Create or update",
    None,
    m.ConfigBody,
    guid=Guid.SAVE,
)
TEST_CONNECTION = Operation(
    "test_connection",
    "POST",
    "/connections/{guid}/test",
    "Test a saved one",
    None,
    guid=Guid.KNOWN,
)
HELD_CONNECTIONS = Operation(
    "held_connections",
    "GET",
    "/connections",
    "GUIDs this host holds config for (ours: lets `erpsync doctor` compare)",
    list[str],
    optional=True,
)
DELETE_CONNECTION = Operation(
    "delete_connection", "DELETE", "/connections/{guid}", "Forget it", None, guid=Guid.FORGET
)
ACTOR_TYPES = Operation(
    "actor_types",
    "GET",
    "/connections/{guid}/actor-types",
    "Supported actor types",
    list[str],
    guid=Guid.KNOWN,
)
ACTOR_FIELDS = Operation(
    "actor_fields",
    "GET",
    ACTOR_TYPE + "/fields",
    "Fields of an actor type",
    list[m.FieldModel],
    guid=Guid.KNOWN,
)
SEARCHABLE_FIELDS = Operation(
    "searchable_fields",
    "GET",
    ACTOR_TYPE + "/searchable-fields",
    "Field keys usable as search criteria",
    list[str],
    guid=Guid.KNOWN,
    optional=True,
)


def _finding(
    name: str,
    suffix: str,
    summary: str,
    request: type[BaseModel],
    *,
    optional: bool = False,
    paged: bool = True,
) -> Operation:
    """The four ways to find actors of a type: POST a body, get a list of actors."""
    return Operation(
        name,
        "POST",
        ACTORS + suffix,
        summary,
        list[m.ActorModel],
        request,
        guid=Guid.KNOWN,
        optional=optional,
        paged=paged,
    )


GET_ACTORS = _finding(
    "get_actors",
    "/get",
    "Get actors by ERP key (unknown keys are left out)",
    m.GetActorsBody,
    paged=False,
)
SEARCH_ACTORS = _finding(
    "search_actors", "/search", "Simple text search; blank text means all", m.SearchBody
)
SEARCH_BY_PARENT = _finding(
    "search_by_parent",
    "/search-by-parent",
    "Search the children of one parent actor",
    m.SearchByParentBody,
    optional=True,
)
SEARCH_ADVANCED = _finding(
    "search_advanced",
    "/search-advanced",
    "Criteria search; restrictions are ANDed",
    m.SearchAdvancedBody,
    optional=True,
)

CREATE_ACTOR = Operation(
    "create_actor",
    "POST",
    ACTORS,
    "Create an actor; the connector assigns erp_key and last_modified",
    m.ActorModel,
    m.CreateActorBody,
    guid=Guid.KNOWN,
    idempotent=False,  # a retry could create the actor twice
    optional=True,
)
SAVE_ACTORS = Operation(
    "save_actors",
    "PUT",
    "/connections/{guid}/actors",
    "Update existing actors (partially) and return them refreshed",
    list[m.ActorModel],
    m.SaveActorsBody,
    guid=Guid.KNOWN,
    optional=True,
)
CHANGED_SINCE = Operation(
    "changed_since",
    "GET",
    ACTORS + "/changes",
    "Actors modified on or after a stamp, paged with a cursor",
    m.ChangesPage,
    query=(
        QueryParam("since", str, "", "last_modified stamp; empty = all"),
        QueryParam("cursor", str, "", "from the previous page"),
        QueryParam("limit", int, 100, ge=1, le=1000),
        QueryParam("fields", list[str] | None, None, "field keys to return; repeat; none = all"),
    ),
    guid=Guid.KNOWN,
)
CHANGES_STREAM = Operation(
    "changes_stream",
    "GET",
    ACTORS + "/changes/stream",
    "Every actor modified on or after a stamp in one NDJSON stream (v1.1): actor lines, a "
    "position line after each page (resume with it as cursor), and a last line with "
    "next_since; the host provides it for every Python connector that pages its changes",
    m.ChangesStreamLine,
    query=(
        QueryParam("since", str, "", "last_modified stamp; empty = all"),
        QueryParam("cursor", str, "", "a position line's value: resume after it"),
        QueryParam("limit", int, 1000, "actors the host asks the connector for at a time", 1, 1000),
        QueryParam("fields", list[str] | None, None, "field keys to return; repeat; none = all"),
    ),
    guid=Guid.KNOWN,
    optional=True,
    streamed=True,
)
GET_LIST = Operation(
    "get_list",
    "GET",
    "/connections/{guid}/lists/{list_name}",
    "A list's items (also for the all-zero GUID)",
    list[m.ListItem],
    query=(
        QueryParam("keys", list[str] | None, None, "only these item keys; repeat the parameter"),
    ),
    guid=Guid.KNOWN_OR_ZERO,
)

OPERATIONS: tuple[Operation, ...] = (
    INFO,
    CONFIG_FIELDS,
    TEST_CONFIG,
    SAVE_CONNECTION,
    TEST_CONNECTION,
    HELD_CONNECTIONS,
    DELETE_CONNECTION,
    ACTOR_TYPES,
    ACTOR_FIELDS,
    SEARCHABLE_FIELDS,
    GET_ACTORS,
    SEARCH_ACTORS,
    SEARCH_BY_PARENT,
    SEARCH_ADVANCED,
    CREATE_ACTOR,
    SAVE_ACTORS,
    CHANGED_SINCE,
    CHANGES_STREAM,
    GET_LIST,
)
"""Every operation, in the order the connector host declares its routes."""

BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}

OPTIONAL_OPERATIONS: tuple[str, ...] = tuple(op.name for op in OPERATIONS if op.optional)
"""What info's `capabilities.operations` may list; every other operation is required."""

STREAM_MEDIA_TYPE = "application/x-ndjson"
"""The media type of a streamed answer: one JSON object per line, each line ending in \\n."""

MAX_PAGE_SIZE = 1000
"""The largest `limit` the protocol allows; a connector may declare a smaller one."""
