"""The connector: the host's operations answered from the CSV export (read through csvstore).

The connector is read-only (the ERP imports nothing back from CSV), so create and save are
left to the base class, which answers `not_supported`. Nothing is cached between calls: each
call reads the files it needs, so a fresh export is seen at once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

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
    Page,
    Response,
    Restriction,
    filter_actors,
)

from erpsync_example_csv.csvstore import (
    DECIMAL_SEPARATORS,
    DEFAULT_DECIMAL_SEPARATOR,
    DEFAULT_DELIMITER,
    DEFAULT_ENCODING,
    DELIMITERS,
    SPECS,
    Column,
    CsvStore,
    CsvStoreError,
    Record,
    Table,
    normalize_stamp,
)

VERSION = "0.1.0"  # keep equal to pyproject.toml; a test checks it

LISTS: dict[str, dict[str, str]] = {
    "delimiters": {key: text for key, (_, text) in DELIMITERS.items()},
    "decimal_separators": dict(DECIMAL_SEPARATORS),
}
"""The lists the config dialog offers; they do not depend on the connection."""

_FIELD_TYPES = {"text": FieldType.TEXT, "number": FieldType.DOUBLE, "date": FieldType.DATETIME}


class CsvErpConnector(Connector):
    """An ERP that exports customers, persons and projects as CSV files into one directory."""

    id = "example-csv"
    name = "CSV export ERP"
    vendor = "erpsync examples"
    version = VERSION
    description = "Reads customers, persons and projects from the CSV files an ERP exports"
    config_fields = (
        ConfigField(
            "directory",
            "Export directory",
            FieldType.TEXT,
            access=Access.MANDATORY,
            description="Directory the ERP writes its CSV files to, inside the export root "
            "the connector's operator set (ERPSYNC_CSV_ROOT); absolute or relative to it",
            max_length=500,
            rank=10,
            placeholder="/srv/erp/export",
        ),
        ConfigField(
            "delimiter",
            "Delimiter",
            FieldType.LIST,
            description="Character between the columns of a row",
            default=DEFAULT_DELIMITER,
            list_name="delimiters",
            rank=20,
            group="File format",
        ),
        ConfigField(
            "decimal_separator",
            "Decimal separator",
            FieldType.LIST,
            description="How the export writes decimal numbers (CREDIT_LIMIT)",
            default=DEFAULT_DECIMAL_SEPARATOR,
            list_name="decimal_separators",
            rank=30,
            group="File format",
        ),
        ConfigField(
            "encoding",
            "Encoding",
            FieldType.TEXT,
            description="Character encoding of the files, e.g. utf-8, cp1252 or latin-1",
            default=DEFAULT_ENCODING,
            max_length=40,
            rank=40,
            group="File format",
            help="Open one of the files in an editor that shows its encoding if unsure; "
            "exports from Windows ERPs are often cp1252.",
            placeholder="utf-8",
            # v1.1 field metadata: the host checks the shape before the connector looks the
            # name up (an unknown but well-formed name is the connector's unknown_encoding).
            pattern=r"[A-Za-z][A-Za-z0-9_.:-]*",
            pattern_message="an encoding name such as utf-8, cp1252 or latin-1",
        ),
        ConfigField(
            "expected_files",
            "The directory must hold customers.csv; persons.csv and projects.csv are optional. "
            "Each file starts with a header row naming its columns.",
            FieldType.LABEL,
            description="Columns: customers.csv ERP_KEY, NAME, LAST_MODIFIED; persons.csv "
            "ERP_KEY, CUSTOMER_KEY, FIRSTNAME, LASTNAME, LAST_MODIFIED; projects.csv ERP_KEY, "
            "NAME, LAST_MODIFIED. LAST_MODIFIED is UTC, like 2025-01-31T12:00:00Z. "
            "See the app's README for the optional columns.",
            rank=50,
        ),
    )

    # --- configuration -------------------------------------------------------------------

    def test_config(self, config: Mapping[str, Any]) -> Response:
        """Read every file the way sync would, so a passing test means sync can run."""
        try:
            store = CsvStore.from_config(config)
            store.check_directory()
            tables = {t: store.load(t) for t in store.actor_types()}
        except CsvStoreError as exc:
            return exc.response
        counts = [_plural(len(t.records), t.spec.actor_type) for t in tables.values()]
        summary = f"Read {_and(counts)} from {store.directory}."
        problems = _orphans(tables)
        if problems:
            shown = problems[:3] + ([f"({len(problems) - 3} more)"] if len(problems) > 3 else [])
            return Response.warning(f"{summary} {' '.join(shown)}", "\n".join(problems))
        absent = [spec.filename for t, spec in SPECS.items() if t not in tables]
        if absent:
            verb = "is" if len(absent) == 1 else "are"
            offered = _and([f"{t}s" for t in tables])
            return Response.success(
                f"{summary} {_and(absent)} {verb} not there, so only {offered} can be synced.",
                info=True,
            )
        return Response.success(summary)

    def get_list(self, connection: Connection, list_name: str) -> dict[str, str]:
        """Answered without the config: the dialog asks before anything is saved."""
        try:
            return dict(LISTS[list_name])
        except KeyError:
            raise ConnectorError(
                f"The CSV export ERP has no list {list_name!r}; it has {', '.join(LISTS)}.",
                error_code="unknown_list",
            ) from None

    # --- actor types and fields ---------------------------------------------------------

    def actor_types(self, connection: Connection) -> list[str]:
        store = CsvStore.from_config(connection.config)
        store.check_directory()
        return store.actor_types()

    def actor_fields(self, connection: Connection, actor_type: str) -> list[Field]:
        """The columns this export has; ERP_KEY, LAST_MODIFIED and the parent key are not fields."""
        table = self._table(connection, actor_type)
        return [_field(column, rank) for rank, column in enumerate(table.columns, start=1)]

    def searchable_fields(self, connection: Connection, actor_type: str) -> list[str]:
        table = self._table(connection, actor_type)
        return [column.key for column in _text_columns(table)]

    # --- reading actors -------------------------------------------------------------------

    def get_actors(
        self, connection: Connection, actor_type: str, erp_keys: list[str], field_keys: list[str]
    ) -> list[Actor]:
        """In the order asked; keys the export does not have are left out."""
        table = self._table(connection, actor_type)
        keys = _field_keys(table, field_keys)
        records = table.by_key()
        return [_actor(table, records[k], keys) for k in erp_keys if k in records]

    def search_actors(
        self, connection: Connection, actor_type: str, text: str, field_keys: list[str]
    ) -> list[Actor]:
        """Case-insensitive substring over ERP_KEY and the text fields; blank text = all."""
        table = self._table(connection, actor_type)
        keys = _field_keys(table, field_keys)
        return [_actor(table, r, keys) for r in _matching(table, table.records, text)]

    def search_by_parent(
        self,
        connection: Connection,
        actor_type: str,
        text: str,
        parent_actor_type: str,
        parent_erp_key: str,
        field_keys: list[str],
    ) -> list[Actor]:
        """E.g. the persons of one customer; a type without parents has none to match."""
        table = self._table(connection, actor_type)
        keys = _field_keys(table, field_keys)
        if parent_actor_type != table.spec.parent_actor_type:
            return []
        children = [r for r in table.records if r.parent_key == parent_erp_key]
        return [_actor(table, r, keys) for r in _matching(table, children, text)]

    def search_advanced(
        self,
        connection: Connection,
        actor_type: str,
        restrictions: list[Restriction],
        field_keys: list[str],
    ) -> list[Actor]:
        """Restrictions ANDed over the searchable (text) fields and the parent key, in memory
        with the host's operators; the host pages the answer."""
        table = self._table(connection, actor_type)
        keys = _field_keys(table, field_keys)
        searchable = {c.key: _field(c, 0) for c in _text_columns(table)}
        for restriction in restrictions:
            if restriction.field_key not in searchable and restriction.field_key not in (
                "parent_erp_key",
                "parent_actor_type",
            ):
                raise ConnectorError(
                    f"{restriction.field_key!r} is not a searchable field of {actor_type}; "
                    f"searchable: {', '.join(searchable)}.",
                    error_code=ErrorCode.INVALID_RESTRICTION,
                )
        every_key = [c.key for c in table.columns]
        found = filter_actors(
            [_actor(table, r, every_key) for r in table.records], searchable, restrictions
        )
        return [replace(a, field_values={k: a.field_values.get(k) for k in keys}) for a in found]

    def changed_since(
        self,
        connection: Connection,
        actor_type: str,
        since: str,
        field_keys: list[str],
        cursor: str,
        limit: int,
    ) -> Page:
        """Actors with LAST_MODIFIED >= since, in (LAST_MODIFIED, ERP_KEY) order, one page.

        The cursor holds the last (LAST_MODIFIED, ERP_KEY) handed out, so the next page starts
        strictly after it: no gaps and no repeats, even when many rows share a stamp.
        """
        if limit < 1:
            raise ConnectorError(
                f"limit must be at least 1, got {limit}.", error_code="invalid_request"
            )
        table = self._table(connection, actor_type)
        keys = _field_keys(table, field_keys)
        stamp = normalize_stamp(since)
        rows = sorted(
            (r for r in table.records if r.last_modified >= stamp), key=lambda r: r.sort_key
        )
        if cursor:
            after = decode_cursor(cursor)
            rows = [r for r in rows if r.sort_key > after]
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1].sort_key) if len(rows) > limit else ""
        return Page([_actor(table, r, keys) for r in page], next_cursor)

    # --- helpers ----------------------------------------------------------------------------

    def _table(self, connection: Connection, actor_type: str) -> Table:
        if actor_type not in SPECS:
            raise ConnectorError(
                f"The CSV export ERP has no {actor_type!r} actors; it offers {', '.join(SPECS)}.",
                error_code="unknown_actor_type",
            )
        return CsvStore.from_config(connection.config).load(actor_type)


# --- cursors --------------------------------------------------------------------------------


def encode_cursor(position: tuple[str, str]) -> str:
    """Opaque to the host; URL-safe so it travels in a query string unescaped."""
    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        value = None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise ConnectorError(
            "The paging cursor is not one this connector handed out; start again without it.",
            f"undecodable cursor {cursor!r}",
            "invalid_cursor",
        )
    return value[0], value[1]


# --- building answers -----------------------------------------------------------------------


def _field(column: Column, rank: int) -> Field:
    return Field(
        column.key,
        column.display_name,
        _FIELD_TYPES[column.kind],
        access=Access.MANDATORY if column.mandatory else Access.NORMAL,
        description=column.description,
        rank=rank * 10,
    )


def _text_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.kind == "text"]


def _field_keys(table: Table, requested: list[str]) -> list[str]:
    """The requested field keys, checked; none requested means every field."""
    present = [c.key for c in table.columns]
    if not requested:
        return present
    unknown = [k for k in requested if k not in present]
    if unknown:
        raise ConnectorError(
            f"{table.spec.filename} has no field {', '.join(unknown)}; "
            f"its fields are {', '.join(present)}.",
            error_code="unknown_field",
        )
    return list(requested)


def _matching(table: Table, records: Iterable[Record], text: str) -> list[Record]:
    needle = text.strip().casefold()
    if not needle:
        return list(records)
    columns = [c.key for c in _text_columns(table)]
    return [
        r
        for r in records
        if needle in r.erp_key.casefold()
        or any(needle in str(r.values.get(k) or "").casefold() for k in columns)
    ]


def _actor(table: Table, record: Record, keys: list[str]) -> Actor:
    spec = table.spec
    has_parent = bool(spec.parent_actor_type and record.parent_key)
    return Actor(
        actor_type=spec.actor_type,
        erp_key=record.erp_key,
        last_modified=record.last_modified,
        parent_actor_type=spec.parent_actor_type if has_parent else "",
        parent_erp_key=record.parent_key if has_parent else "",
        field_values={k: record.values.get(k) for k in keys},
    )


def _orphans(tables: Mapping[str, Table]) -> list[str]:
    """Children whose parent is not in the export: sync would link them to nothing."""
    problems = []
    for table in tables.values():
        parent_type = table.spec.parent_actor_type
        if not parent_type or parent_type not in tables:
            continue
        parents = tables[parent_type].by_key()
        for r in table.records:
            if r.parent_key and r.parent_key not in parents:
                problems.append(
                    f"{table.spec.filename} line {r.line}: {table.spec.parent_column} "
                    f"{r.parent_key} is not in {tables[parent_type].spec.filename}."
                )
    return problems


def _plural(count: int, actor_type: str) -> str:
    return f"{count} {actor_type}" + ("" if count == 1 else "s")


def _and(items: list[str]) -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
