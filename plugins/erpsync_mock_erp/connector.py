"""The mock ERP connector: a believable ERP that every feature and test of erpsync can lean on.

Config: server (any host name or path without spaces), username ``demo``, password
``mock-erp-secret``, company 1, 2 or 3. Every operation on a saved connection checks that
login, as a real ERP would; lists also answer for the all-zero GUID.

Data: actor types customer, supplier, person (child of a customer) and project, with field
keys named after CRM fields (see `schema.py`). Each company holds its own deterministic,
seeded dataset (see `dataset.py`), generated on first use and kept in memory, or in a SQLite
file. Connections naming the same company share its data.

last_modified is a 14-digit zero-padded counter ("00000000000123"), one per company, bumped
for every actor created or saved; `changed_since` accepts such a stamp (or its unpadded
digits, or nothing for everything) and pages in (last_modified, erp_key) order with an opaque
cursor, so nothing is skipped or repeated when actors change between pages.

Simple searches (`search_actors`, `search_by_parent`) and `search_advanced` return every
match, in ERP-number order; the connector host pages them for the client (protocol v1.1).
Field values must be native JSON of the field's type (strict, as the wire is); `save_actors`
honours `check_last_modified` atomically, under the store's lock.

Environment variables, read when the connector is created (so `erpsync mock-server` and
`erpsync serve` both honour them):

    ERPSYNC_MOCK_CUSTOMERS  customers per company (default 200, at most 1,000,000); persons
                            are 1-3 per customer for the first 2,000 customers, suppliers a
                            tenth and projects a twentieth of the customers
    ERPSYNC_MOCK_SEED       seed of the generated data (default 42)
    ERPSYNC_MOCK_DB         SQLite file to persist the data to (default: memory only); a
                            company already in the file is loaded as it is
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from erpsync_mock_erp.schema import ACTOR_TYPES, LISTS, SCHEMAS, ActorSchema
from erpsync_mock_erp.store import Company, MockStore, Table
from host import (
    Access,
    Actor,
    ConfigField,
    Connection,
    Connector,
    ConnectorError,
    ErrorCode,
    Field,
    FieldType,
    FieldValueError,
    Page,
    Response,
    Restriction,
    coerce_value,
    default_value,
    filter_actors,
)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "mock-erp-secret"
DEMO_SERVER = "erp.mock.local"
COMPANIES = {1: "Mock Trading AS", 2: "Mock Services AS", 3: "Mock Holding AS"}
DEMO_LOGIN: dict[str, Any] = {
    "server": DEMO_SERVER,
    "username": DEMO_USERNAME,
    "password": DEMO_PASSWORD,
    "company": 1,
}
"""The demo login this ERP accepts (any of COMPANIES): the one place it is written. The
host reads it through the app's entry point for `erpsync demo`, the web demo and
`erpsync apps check mock`; tests and benchmarks log in with it too."""

DECIMAL_SEPARATORS = LISTS["decimal_separators"]

ENV_CUSTOMERS = "ERPSYNC_MOCK_CUSTOMERS"
ENV_SEED = "ERPSYNC_MOCK_SEED"
ENV_DB = "ERPSYNC_MOCK_DB"
DEFAULT_CUSTOMERS = 200
DEFAULT_SEED = 42
MAX_CUSTOMERS = 1_000_000


def _int_setting(name: str, given: int | None, default: int, low: int, high: int) -> int:
    if given is None:
        raw = os.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            given = int(raw)
        except ValueError:
            raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if not low <= given <= high:
        raise ValueError(f"{name} must be between {low} and {high}; got {given}")
    return given


class MockErpConnector(Connector):
    """A pretend ERP with three companies; the demo login is documented in the README.

    Keyword arguments override the environment variables (handy in tests):
    `customers`, `seed`, `db_path`.
    """

    id = "mock"
    name = "Mock ERP"
    vendor = "erpsync"
    version = "0.1.0"
    description = "Bundled mock ERP for demos and tests"
    blocking = False  # reads and writes its own memory or SQLite file: no worker thread
    config_fields = (
        ConfigField(
            "server",
            "Server or file path",
            FieldType.TEXT,
            access=Access.MANDATORY,
            description="Host name of the ERP server, or the path of its data file",
            default=DEMO_SERVER,
            max_length=500,
            rank=10,
            placeholder="erp.example.com",
            pattern=r"\S+",
            pattern_message="a host name or file path, without spaces",
        ),
        ConfigField(
            "username",
            "Username",
            FieldType.TEXT,
            access=Access.MANDATORY,
            description="ERP user the sync logs in as",
            max_length=100,
            rank=20,
        ),
        ConfigField(
            "password",
            "Password",
            FieldType.PASSWORD,
            access=Access.MANDATORY,
            description="Password of the ERP user",
            rank=30,
        ),
        ConfigField(
            "company",
            "Company number",
            FieldType.INTEGER,
            description="ERP company (client) to sync with: 1, 2 or 3",
            default=1,
            rank=40,
        ),
        ConfigField(
            "decimal_separator",
            "Decimal separator",
            FieldType.LIST,
            description="How the ERP writes decimal numbers",
            default=".",
            list_name="decimal_separators",
            rank=50,
            group="Advanced",
        ),
        ConfigField(
            "read_only",
            "Read only",
            FieldType.CHECKBOX,
            description="Never write to the ERP",
            default=False,
            rank=60,
            group="Advanced",
        ),
        ConfigField(
            "read_only_reason",
            "Why writes are refused",
            FieldType.TEXT,
            description="Told to whoever tries to write",
            help="Shown in the error a write gets while this connection is read only, "
            "for example who to ask to change it.",
            placeholder="Month-end closing: ask finance",
            max_length=200,
            rank=65,
            group="Advanced",
            visible_when={"field": "read_only", "equals": True},
        ),
        ConfigField(
            "note",
            "Demo login: see the erpsync README",
            FieldType.LABEL,
            rank=70,
        ),
    )

    def __init__(
        self,
        *,
        customers: int | None = None,
        seed: int | None = None,
        db_path: str | None = None,
    ) -> None:
        customers = _int_setting(ENV_CUSTOMERS, customers, DEFAULT_CUSTOMERS, 0, MAX_CUSTOMERS)
        seed = _int_setting(ENV_SEED, seed, DEFAULT_SEED, -(2**63), 2**63 - 1)
        if db_path is None:
            db_path = os.environ.get(ENV_DB, "").strip() or None
        # Nothing is generated or opened here: `erpsync apps list` creates connectors too.
        self.store = MockStore(customers=customers, seed=seed, db_path=db_path)

    # --- config ----------------------------------------------------------------------------

    def test_config(self, config: Mapping[str, Any]) -> Response:
        server = str(config.get("server") or "").strip()
        if not server or any(ch.isspace() for ch in server):
            return Response.error(
                f"Server {server!r} is not a host name or file path.",
                "server must be non-empty without spaces",
                ErrorCode.INVALID_CONFIG,
            )
        if config.get("username") != DEMO_USERNAME or config.get("password") != DEMO_PASSWORD:
            return Response.error(
                f"Login to {server} failed: wrong username or password.",
                "credentials rejected by the mock ERP",
                ErrorCode.LOGIN_FAILED,
            )
        company = config.get("company") or 1
        if company not in COMPANIES:
            known = ", ".join(str(n) for n in COMPANIES)
            return Response.error(
                f"Company {company} does not exist; this ERP has companies {known}.",
                "unknown company number",
                "unknown_company",
            )
        return Response.success(f"Connected to {server} as {DEMO_USERNAME}, {COMPANIES[company]}.")

    def test_connection(self, connection: Connection) -> Response:
        """The config test plus a real read: the company's data is loaded (or generated)."""
        response = self.test_config(connection.config)
        if not response.ok:
            return response
        with self.store.lock:
            company = self._company(connection)
            counts = {t: company.tables[t].count() for t in ACTOR_TYPES}
        summary = ", ".join(f"{n} {t}{'' if n == 1 else 's'}" for t, n in counts.items())
        return Response.success(f"{response.user_explanation} The company has {summary}.")

    def _company(self, connection: Connection) -> Company:
        """The company of a saved connection, after checking its login (caller holds lock)."""
        self._check_login(connection)
        return self.store.company(int(connection.config.get("company") or 1))

    # --- metadata --------------------------------------------------------------------------

    def actor_types(self, connection: Connection) -> list[str]:
        self._check_login(connection)
        return list(ACTOR_TYPES)

    def actor_fields(self, connection: Connection, actor_type: str) -> list[Field]:
        self._check_login(connection)
        return list(_schema(actor_type).fields)

    def searchable_fields(self, connection: Connection, actor_type: str) -> list[str]:
        self._check_login(connection)
        return list(_schema(actor_type).searchable)

    def _check_login(self, connection: Connection) -> None:
        response = self.test_config(connection.config)
        if not response.ok:
            raise ConnectorError(
                response.user_explanation, response.tech_explanation, response.error_code
            )

    # --- lists -----------------------------------------------------------------------------

    def get_list(self, connection: Connection, list_name: str) -> dict[str, str]:
        """Lists are the same for every company, and answered for the all-zero GUID."""
        items = LISTS.get(list_name)
        if items is None:
            raise ConnectorError(
                f"The mock ERP has no list {list_name!r}.",
                f"lists: {', '.join(sorted(LISTS))}",
                "unknown_list",
            )
        return dict(items)

    # --- reading ---------------------------------------------------------------------------

    def get_actors(
        self, connection: Connection, actor_type: str, erp_keys: list[str], field_keys: list[str]
    ) -> list[Actor]:
        """The actors with these keys, in the order asked; unknown keys are left out."""
        schema = _schema(actor_type)
        keys = _field_keys(schema, field_keys)
        with self.store.lock:
            table = self._company(connection).tables[actor_type]
            found = (table.get(k) for k in erp_keys)
            return [_project(a, keys) for a in found if a is not None]

    def search_actors(
        self,
        connection: Connection,
        actor_type: str,
        text: str,
        field_keys: list[str],
        limit: int | None = None,
    ) -> list[Actor]:
        """Case-insensitive substring of the searchable text fields or the number; at most
        `limit` (the host's hint: the matches it can use for the page asked for)."""
        schema = _schema(actor_type)
        keys = _field_keys(schema, field_keys)
        with self.store.lock:
            table = self._company(connection).tables[actor_type]
            return [_project(a, keys) for a in _text_search(table, table, text, limit)]

    def search_by_parent(
        self,
        connection: Connection,
        actor_type: str,
        text: str,
        parent_actor_type: str,
        parent_erp_key: str,
        field_keys: list[str],
        limit: int | None = None,
    ) -> list[Actor]:
        """Children of one parent (an empty parent type means the type's usual parent)."""
        schema = _schema(actor_type)
        keys = _field_keys(schema, field_keys)
        parent_type = parent_actor_type or schema.parent_type
        with self.store.lock:
            table = self._company(connection).tables[actor_type]
            children = (
                a
                for a in table
                if a.parent_erp_key == parent_erp_key and a.parent_actor_type == parent_type
            )
            return [_project(a, keys) for a in _text_search(table, children, text, limit)]

    def search_advanced(
        self,
        connection: Connection,
        actor_type: str,
        restrictions: list[Restriction],
        field_keys: list[str],
        limit: int | None = None,
    ) -> list[Actor]:
        """Restrictions ANDed, on any field of the type (see host.search for the operators)."""
        schema = _schema(actor_type)
        keys = _field_keys(schema, field_keys)
        with self.store.lock:
            table = self._company(connection).tables[actor_type]
            found = filter_actors(table, schema.by_key, restrictions, limit=limit)
            return [_project(a, keys) for a in found]

    def changed_since(
        self,
        connection: Connection,
        actor_type: str,
        since: str,
        field_keys: list[str],
        cursor: str,
        limit: int,
    ) -> Page:
        """Actors with last_modified >= since, oldest first, `limit` per page."""
        schema = _schema(actor_type)
        keys = _field_keys(schema, field_keys)
        since_stamp = _normalise_stamp(since)
        after = _decode_cursor(cursor, actor_type) if cursor else None
        limit = max(1, int(limit))
        with self.store.lock:
            table = self._company(connection).tables[actor_type]
            found, last, more = table.page(since_stamp, after, limit)
            actors = [_project(a, keys) for a in found]
        next_cursor = _encode_cursor(actor_type, last) if more and last else ""
        return Page(actors, next_cursor)

    # --- writing ---------------------------------------------------------------------------

    def create_actor(self, connection: Connection, actor: Actor) -> Actor:
        """A new actor: the ERP assigns erp_key, the read-only number and last_modified."""
        schema = _schema(actor.actor_type)
        if actor.erp_key:
            raise ConnectorError(
                "A new actor cannot bring its own ERP key; the ERP assigns it.",
                f"erp_key {actor.erp_key!r} given to create_actor; use save_actors to update",
                "invalid_actor",
            )
        with self.store.writing(self._company_number(connection)) as company:
            self._check_writable(connection)
            table = company.tables[schema.actor_type]
            values = _checked_values(schema, actor.field_values, current=None)
            for item in schema.fields:
                if item.key not in values and item.access is not Access.READONLY:
                    values[item.key] = _empty_value(item)
            if "CREATED" in values and not values["CREATED"]:
                values["CREATED"] = (
                    datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
                )
            _check_mandatory(schema, values)
            parent_type, parent_key = _checked_parent(company, schema, actor, None)
            number = table.next_number
            table.next_number += 1
            values[schema.number_key] = schema.number_value(number)
            ordered = {f.key: values.get(f.key) for f in schema.fields}
            created = Actor(
                schema.actor_type,
                str(number),
                company.next_stamp(),
                parent_type,
                parent_key,
                ordered,
            )
            table.put(created)
            self.store.saved(company, [created])
            return _project(created, [])

    def save_actors(
        self, connection: Connection, actors: list[Actor], *, check_last_modified: bool = False
    ) -> list[Actor]:
        """Update existing actors (only the fields given); all or nothing; return them fresh.
        `check_last_modified`: refuse with `conflict` when one was changed since it was read."""
        with self.store.writing(self._company_number(connection)) as company:
            self._check_writable(connection)
            planned: list[tuple[Table, Actor]] = []
            for actor in actors:
                schema = _schema(actor.actor_type)
                table = company.tables[schema.actor_type]
                current = table.get(actor.erp_key)
                if current is None:
                    raise ConnectorError(
                        f"There is no {schema.actor_type} with ERP key {actor.erp_key!r}.",
                        "save_actors only updates existing actors; use create_actor",
                        ErrorCode.UNKNOWN_ACTOR,
                    )
                if check_last_modified and actor.last_modified != current.last_modified:
                    raise ConnectorError(
                        f"{schema.actor_type} {actor.erp_key} changed since it was read; read "
                        "it again and re-apply the change.",
                        f"last_modified sent {actor.last_modified!r}, current "
                        f"{current.last_modified!r}",
                        ErrorCode.CONFLICT,
                    )
                values = {
                    **current.field_values,
                    **_checked_values(schema, actor.field_values, current=current.field_values),
                }
                _check_mandatory(schema, values)
                parent_type, parent_key = _checked_parent(company, schema, actor, current)
                updated = replace(
                    current,
                    parent_actor_type=parent_type,
                    parent_erp_key=parent_key,
                    field_values=values,
                )
                planned.append((table, updated))
            keys = [(a.actor_type, a.erp_key) for _, a in planned]
            if len(set(keys)) != len(keys):
                raise ConnectorError(
                    "The same actor is listed twice in one save.",
                    f"duplicates in {keys}",
                    "invalid_actor",
                )
            saved: list[Actor] = []
            for table, updated in planned:
                updated.last_modified = company.next_stamp()
                table.put(updated)
                saved.append(updated)
            self.store.saved(company, saved)
            return [_project(a, []) for a in saved]

    def _company_number(self, connection: Connection) -> int:
        """The company of a saved connection, after checking its login."""
        self._check_login(connection)
        return int(connection.config.get("company") or 1)

    def _check_writable(self, connection: Connection) -> None:
        if connection.config.get("read_only"):
            reason = str(connection.config.get("read_only_reason") or "").strip()
            raise ConnectorError(
                "This ERP connection is read only; nothing was written."
                + (f" {reason}" if reason else ""),
                "config read_only is set",
                "read_only",
            )


# --- helpers -------------------------------------------------------------------------------


def _schema(actor_type: str) -> ActorSchema:
    schema = SCHEMAS.get(actor_type)
    if schema is None:
        raise ConnectorError(
            f"The mock ERP has no actor type {actor_type!r}.",
            f"actor types: {', '.join(ACTOR_TYPES)}",
            "unknown_actor_type",
        )
    return schema


def _field_keys(schema: ActorSchema, field_keys: Iterable[str]) -> list[str]:
    """The requested field keys, checked; empty means all fields."""
    keys = list(field_keys)
    unknown = [k for k in keys if k not in schema.by_key]
    if unknown:
        raise ConnectorError(
            f"The {schema.actor_type} type has no field {unknown[0]!r}.",
            f"fields: {', '.join(f.key for f in schema.fields)}",
            "unknown_field",
        )
    return keys


def _project(actor: Actor, keys: list[str]) -> Actor:
    """A copy holding only the requested fields (all when `keys` is empty)."""
    values = actor.field_values
    chosen = dict(values) if not keys else {k: values.get(k) for k in keys}
    # The constructor, not dataclasses.replace: a sixth of the cost, and every page copies
    # each of its actors through here.
    return Actor(
        actor.actor_type,
        actor.erp_key,
        actor.last_modified,
        actor.parent_actor_type,
        actor.parent_erp_key,
        chosen,
    )


def _text_search(
    table: Table, actors: Iterable[Actor], text: str, limit: int | None = None
) -> list[Actor]:
    needle = text.strip().casefold()
    matching = (a for a in actors if not needle or needle in table.haystack(a))
    return list(itertools.islice(matching, limit))


def _empty_value(item: Field) -> Any:
    value = default_value(item)
    if value is None and item.type in (FieldType.TEXT, FieldType.LIST):
        return ""
    return value


def _checked_values(
    schema: ActorSchema, given: Mapping[str, Any], *, current: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Given values coerced to their field types; read-only fields may only repeat themselves."""
    by_key = schema.by_key
    checked: dict[str, Any] = {}
    for key, raw in given.items():
        item = by_key.get(key)
        if item is None:
            raise ConnectorError(
                f"The {schema.actor_type} type has no field {key!r}.",
                f"fields: {', '.join(by_key)}",
                "unknown_field",
            )
        try:
            value = coerce_value(item, raw, strict=True)
        except FieldValueError as exc:
            raise ConnectorError(
                f"{item.display_name} ({key}) {exc}.", f"value {raw!r}", "invalid_value"
            ) from None
        if item.access is Access.READONLY:
            unchanged = current is not None and value == current.get(key)
            if not unchanged and not (current is None and value in (None, "")):
                raise ConnectorError(
                    f"{item.display_name} ({key}) is assigned by the ERP and cannot be set.",
                    f"read-only field {key} given {raw!r}",
                    "readonly_field",
                )
            continue
        if item.type is FieldType.LIST and value not in (None, ""):
            items = LISTS[item.list_name]
            if str(value) not in items:
                raise ConnectorError(
                    f"{item.display_name} ({key}): {value!r} is not an item of the list "
                    f"{item.list_name}.",
                    f"items: {', '.join(items)}",
                    "invalid_value",
                )
            value = str(value)
        checked[key] = value
    return checked


def _check_mandatory(schema: ActorSchema, values: Mapping[str, Any]) -> None:
    for item in schema.fields:
        if item.access is not Access.MANDATORY:
            continue
        value = values.get(item.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ConnectorError(
                f"{item.display_name} ({item.key}) is mandatory.",
                f"mandatory field {item.key} is empty",
                "mandatory_field",
            )


def _checked_parent(
    company: Company, schema: ActorSchema, actor: Actor, current: Actor | None
) -> tuple[str, str]:
    """The (parent type, parent key) to store: given ones are checked, none keeps the old."""
    if not actor.parent_erp_key:
        if current is not None:
            return current.parent_actor_type, current.parent_erp_key
        return "", ""
    parent_type = actor.parent_actor_type or schema.parent_type
    if not schema.parent_type or parent_type != schema.parent_type:
        allowed = f"a {schema.parent_type}" if schema.parent_type else "no parent"
        raise ConnectorError(
            f"A {schema.actor_type} takes {allowed}, not a {parent_type or 'parent'}.",
            f"parent {parent_type}/{actor.parent_erp_key}",
            "invalid_actor",
        )
    if company.tables[parent_type].get(actor.parent_erp_key) is None:
        raise ConnectorError(
            f"There is no {parent_type} with ERP key {actor.parent_erp_key!r} to attach to.",
            "",
            "unknown_parent",
        )
    return parent_type, actor.parent_erp_key


# --- stamps and cursors --------------------------------------------------------------------

_DIGITS = re.compile(r"\d{1,14}")


def _normalise_stamp(since: str) -> str:
    """'' (everything) or a 14-digit stamp; shorter digit strings are zero-padded."""
    since = (since or "").strip()
    if not since:
        return ""
    if not _DIGITS.fullmatch(since):
        raise ConnectorError(
            f"{since!r} is not a last_modified stamp of this ERP.",
            "stamps are up to 14 digits, e.g. 00000000000123",
            "invalid_stamp",
        )
    return since.zfill(14)


def _encode_cursor(actor_type: str, entry: tuple[str, str]) -> str:
    raw = json.dumps([actor_type, entry[0], entry[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, actor_type: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, modified, key = json.loads(raw)
        if not (isinstance(modified, str) and isinstance(key, str)):
            raise ValueError("cursor fields are not strings")
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConnectorError(
            "The paging cursor is not one this ERP handed out; start again without it.",
            f"bad cursor: {exc}",
            "invalid_cursor",
        ) from None
    if kind != actor_type:
        raise ConnectorError(
            f"The paging cursor belongs to {kind!r}, not {actor_type!r}.",
            "",
            "invalid_cursor",
        )
    return modified, key
