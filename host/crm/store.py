"""`SqliteCrm`: the host's own CRM in `crm.db` (SQLite through sqlite-utils migrations).

Every write runs in one `BEGIN IMMEDIATE` transaction and takes its `updated` stamps from one
counter (table `clock`), so stamps grow across all entities and a reader that saw stamp N has
seen every change up to N that had committed: the CRM -> ERP side of sync pages by it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from host.crm import CrmError, Link
from host.crm.schema import CHECKBOX, DATETIME, DOUBLE, ENTITIES, INTEGER, LIST, LISTS, fields_of
from host.sqlite import immediate


def _migrations() -> Any:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    migrations = Migrations("erpsync-crm")

    @migrations()
    def m001_records_lists_links(db: Database) -> None:
        db.execute("CREATE TABLE clock (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        db.execute("INSERT INTO clock VALUES ('crm', 0)")
        for entity, fields in ENTITIES.items():
            columns = ", ".join(f"[{f.name}] {_sql_type(f.type)}" for f in fields)
            db.execute(
                f"CREATE TABLE [{entity}] (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                f"updated INTEGER NOT NULL, created_at TEXT NOT NULL, {columns})"
            )
            db.execute(f"CREATE INDEX [{entity}_updated] ON [{entity}] (updated)")
        db.execute("CREATE INDEX person_company ON person (company_id)")
        db.execute(
            "CREATE TABLE crm_lists (list_name TEXT NOT NULL, key TEXT NOT NULL, "
            "text TEXT NOT NULL, rank INTEGER NOT NULL, PRIMARY KEY (list_name, key))"
        )
        db.execute(
            "CREATE TABLE links (id INTEGER PRIMARY KEY AUTOINCREMENT, connection TEXT NOT NULL, "
            "actor_type TEXT NOT NULL, erp_key TEXT NOT NULL, entity TEXT NOT NULL, "
            "crm_id INTEGER NOT NULL, last_modified TEXT NOT NULL DEFAULT '', "
            "synced TEXT NOT NULL DEFAULT '{}', UNIQUE (connection, actor_type, erp_key))"
        )
        db.execute("CREATE INDEX links_record ON links (entity, crm_id, connection)")
        rows = [
            (name, key, text, rank)
            for name, items in LISTS.items()
            for rank, (key, text) in enumerate(items.items())
        ]
        db.conn.executemany("INSERT INTO crm_lists VALUES (?, ?, ?, ?)", rows)

    return migrations


def _sql_type(kind: str) -> str:
    return {INTEGER: "INTEGER", DOUBLE: "REAL", CHECKBOX: "INTEGER"}.get(kind, "TEXT")


_link_encoder = msgspec.json.Encoder(order="sorted", enc_hook=str)
_decode = msgspec.json.Decoder().decode


def _encode(values: Mapping[str, Any]) -> str:
    """Link values as compact JSON text with sorted keys (msgspec: about 7x cheaper than the
    standard library's encoder, which was the largest Python cost of applying a page)."""
    return _link_encoder.encode(values).decode()


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class SqliteCrm:
    """The CRM store; implements `host.crm.CrmStore`. Open with `host.crm.open_crm()`."""

    def __init__(self, path: Path, *, in_memory: bool = False) -> None:
        """`in_memory`: an empty store that stands in for `path`, which is not created."""
        from sqlite_utils import Database

        self.path = path
        self.in_memory = in_memory
        if not in_memory:
            path.parent.mkdir(parents=True, exist_ok=True)
        if not in_memory and not path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE) and never implicit.
        self.conn = sqlite3.connect(
            ":memory:" if in_memory else str(path),
            timeout=60.0,
            isolation_level=None,
            check_same_thread=False,
        )
        self.conn.execute("PRAGMA busy_timeout=60000")
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.db = Database(self.conn)
        migrations = _migrations()
        if migrations.pending(self.db):
            with self.transaction():
                migrations.apply(self.db)
        from host.sync.state import ensure_schema

        ensure_schema(self)

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction (see host.sqlite.immediate)."""
        return immediate(self.conn)

    @contextlib.contextmanager
    def durable_transaction(self) -> Iterator[None]:
        """A write transaction on disk when it returns, even across a power loss.

        crm.db commits with `synchronous=NORMAL` (WAL): safe against a killed process, but a
        machine crash can roll back the last commits. That is harmless for a page and its
        resume position (read again), not for what must be on disk before a call outside:
        the intent to create an actor in the ERP (docs/sync.md, "Durability")."""
        if self.conn.in_transaction:  # part of an open one: that one decides
            yield
            return
        self.conn.execute("PRAGMA synchronous=FULL")
        try:
            with immediate(self.conn):
                yield
        finally:
            self.conn.execute("PRAGMA synchronous=NORMAL")

    def tick(self, count: int = 1) -> int:
        """Reserve `count` stamps; returns the first. Call inside a transaction."""
        row = self.conn.execute(
            "UPDATE clock SET value = value + ? WHERE name = 'crm' RETURNING value", (count,)
        ).fetchone()
        return int(row[0]) - count + 1

    def stamp(self) -> int:
        """The newest `updated` stamp handed out."""
        return int(self.conn.execute("SELECT value FROM clock WHERE name = 'crm'").fetchone()[0])

    # --- records -------------------------------------------------------------------------

    @staticmethod
    def _entity(entity: str) -> str:
        if entity not in ENTITIES:
            raise CrmError(f"no CRM entity {entity!r}; expected one of {', '.join(ENTITIES)}")
        return entity

    def _row(self, entity: str, row: sqlite3.Row | tuple[Any, ...], names: list[str]) -> dict:
        record = dict(zip(names, row, strict=True))
        for f in ENTITIES[entity]:
            if f.type == CHECKBOX and record.get(f.name) is not None:
                record[f.name] = bool(record[f.name])
        return record

    def _select(self, entity: str, where: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        cursor = self.conn.execute(f"SELECT * FROM [{entity}] {where}", params)
        names = [d[0] for d in cursor.description]
        return [self._row(entity, row, names) for row in cursor.fetchall()]

    def get(self, entity: str, record_id: int) -> dict[str, Any] | None:
        found = self._select(self._entity(entity), "WHERE id = ?", [record_id])
        return found[0] if found else None

    def get_many(self, entity: str, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))
        result: dict[int, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for record in self._select(self._entity(entity), f"WHERE id IN ({marks})", chunk):
                result[record["id"]] = record
        return result

    def records(
        self, entity: str, *, search: str = "", limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        self._entity(entity)
        where, params = "", []
        if search:
            text_fields = [f.name for f in ENTITIES[entity] if f.type == "text"]
            where = "WHERE " + " OR ".join(f"[{n}] LIKE ?" for n in text_fields)
            params = [f"%{search}%"] * len(text_fields)
        return self._select(
            entity, f"{where} ORDER BY id LIMIT ? OFFSET ?", [*params, limit, offset]
        )

    def count(self, entity: str) -> int:
        return int(
            self.conn.execute(f"SELECT count(*) FROM [{self._entity(entity)}]").fetchone()[0]
        )

    def check_values(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values coerced to the entity's field types; a bad one is a CrmError naming it."""
        fields = fields_of(self._entity(entity))
        checked: dict[str, Any] = {}
        for name, value in values.items():
            item = fields.get(name)
            if item is None:
                raise CrmError(f"{entity} has no field {name!r}; fields: {', '.join(fields)}")
            checked[name] = self._coerce(entity, item.name, item.type, item.list_name, value)
        return checked

    def _coerce(self, entity: str, name: str, kind: str, list_name: str, value: Any) -> Any:
        if value is None or value == "":
            return None if kind != "text" else value
        try:
            if kind == INTEGER:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                return int(value)
            if kind == DOUBLE:
                if isinstance(value, bool):
                    raise ValueError
                return float(value)
            if kind == CHECKBOX:
                if isinstance(value, bool):
                    return value
                text = str(value).strip().lower()
                if text in ("1", "true", "yes", "on"):
                    return True
                if text in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if kind == DATETIME:
                text = str(value).strip()
                datetime.fromisoformat(text.replace("Z", "+00:00"))
                return text
        except (TypeError, ValueError):
            raise CrmError(f"{entity}.{name}: {value!r} is not a valid {kind} value") from None
        if kind == LIST:
            items = self.list_items(list_name)
            if str(value) not in items:
                raise CrmError(
                    f"{entity}.{name}: {value!r} is not an item of the CRM list {list_name} "
                    f"(items: {', '.join(items)})"
                )
            return str(value)
        return str(value)

    def _write(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (int(v) if isinstance(v, bool) else v) for k, v in values.items()}

    def add(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        checked = self.check_values(entity, values)
        with self.transaction():
            record_id = self.insert_checked(entity, [checked])[0]
        found = self.get(entity, record_id)
        assert found is not None
        return found

    def insert_checked(self, entity: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert already-checked rows (inside a transaction); returns their ids in order.

        The ids are handed out here (after the table's AUTOINCREMENT sequence; the caller's
        BEGIN IMMEDIATE makes this the only writer), so rows with the same fields go in one
        `executemany`: an import page costs one statement, not one per row.
        """
        if not rows:
            return []
        first = self.tick(len(rows))
        created = now()
        row = self.conn.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "
            f"coalesce((SELECT max(id) FROM [{entity}]), 0))",
            (entity,),
        ).fetchone()
        first_id = int(row[0]) + 1
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        for offset, values in enumerate(rows):
            groups.setdefault(tuple(values), []).append(
                [first_id + offset, first + offset, created, *values.values()]
            )
        checkboxes = {f.name for f in ENTITIES[entity] if f.type == CHECKBOX}
        for names, batch in groups.items():
            for index, name in enumerate(names, start=3):
                if name in checkboxes:  # stored as 0/1
                    for params in batch:
                        if params[index] is not None:
                            params[index] = int(params[index])
            columns = "".join(f", [{k}]" for k in names)
            marks = ", ?" * len(names)
            self.conn.executemany(
                f"INSERT INTO [{entity}] (id, updated, created_at{columns}) "
                f"VALUES (?, ?, ?{marks})",
                batch,
            )
        return list(range(first_id, first_id + len(rows)))

    def update(self, entity: str, record_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
        checked = self.check_values(entity, values)
        with self.transaction():
            if self.get(entity, record_id) is None:
                raise CrmError(f"no {entity} with id {record_id}")
            self.update_checked(entity, [(record_id, checked)])
        found = self.get(entity, record_id)
        assert found is not None
        return found

    def update_checked(self, entity: str, changes: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        """Apply already-checked changes (inside a transaction), each with a new stamp."""
        if not changes:
            return
        first = self.tick(len(changes))
        for offset, (record_id, values) in enumerate(changes):
            data = {**self._write(entity, values), "updated": first + offset}
            sets = ", ".join(f"[{k}] = ?" for k in data)
            self.conn.execute(
                f"UPDATE [{entity}] SET {sets} WHERE id = ?", [*data.values(), record_id]
            )

    def changed_since(self, entity: str, stamp: int, limit: int) -> list[dict[str, Any]]:
        return self._select(
            self._entity(entity), "WHERE updated > ? ORDER BY updated LIMIT ?", [stamp, limit]
        )

    # --- lists ---------------------------------------------------------------------------

    def list_items(self, list_name: str) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT key, text FROM crm_lists WHERE list_name = ? ORDER BY rank", (list_name,)
        )
        return {key: text for key, text in rows}

    def lists(self) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = {}
        for name, key, text in self.conn.execute(
            "SELECT list_name, key, text FROM crm_lists ORDER BY list_name, rank"
        ):
            result.setdefault(name, {})[key] = text
        return result

    # --- links ---------------------------------------------------------------------------

    _LINK_COLUMNS = "id, connection, actor_type, erp_key, entity, crm_id, last_modified, synced"

    @staticmethod
    def _link(row: Sequence[Any]) -> Link:
        return Link(
            id=row[0],
            connection=row[1],
            actor_type=row[2],
            erp_key=row[3],
            entity=row[4],
            crm_id=row[5],
            last_modified=row[6],
            synced=_decode(row[7]),
        )

    def links_for_keys(
        self, connection: str, actor_type: str, erp_keys: Sequence[str]
    ) -> dict[str, Link]:
        result: dict[str, Link] = {}
        keys = list(erp_keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT {self._LINK_COLUMNS} FROM links WHERE connection = ? AND actor_type = ? "
                f"AND erp_key IN ({marks})",
                [connection, actor_type, *chunk],
            )
            for row in rows:
                result[row[3]] = self._link(row)
        return result

    def links_for_records(
        self, connection: str, entity: str, ids: Iterable[int]
    ) -> dict[int, list[Link]]:
        result: dict[int, list[Link]] = {}
        wanted = list(ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT {self._LINK_COLUMNS} FROM links WHERE entity = ? AND crm_id IN ({marks}) "
                "AND connection = ? ORDER BY id",
                [entity, *chunk, connection],
            )
            for row in rows:
                result.setdefault(row[5], []).append(self._link(row))
        return result

    def links_of(self, entity: str, record_id: int) -> list[Link]:
        rows = self.conn.execute(
            f"SELECT {self._LINK_COLUMNS} FROM links WHERE entity = ? AND crm_id = ? ORDER BY id",
            (entity, record_id),
        )
        return [self._link(r) for r in rows]

    def link_count(self, connection: str | None = None) -> int:
        if connection is None:
            return int(self.conn.execute("SELECT count(*) FROM links").fetchone()[0])
        return int(
            self.conn.execute(
                "SELECT count(*) FROM links WHERE connection = ?", (connection,)
            ).fetchone()[0]
        )

    _SAVE_LINK = (
        "INSERT INTO links (connection, actor_type, erp_key, entity, crm_id, last_modified, "
        "synced) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connection, actor_type, erp_key) "
        "DO UPDATE SET entity = excluded.entity, crm_id = excluded.crm_id, "
        "last_modified = excluded.last_modified, synced = excluded.synced"
    )

    @staticmethod
    def _link_params(link: Link) -> tuple[Any, ...]:
        return (
            link.connection,
            link.actor_type,
            link.erp_key,
            link.entity,
            link.crm_id,
            link.last_modified,
            _encode(link.synced),
        )

    def save_link(self, link: Link) -> Link:
        row = self.conn.execute(
            self._SAVE_LINK + " RETURNING id", self._link_params(link)
        ).fetchone()
        link.id = int(row[0])
        return link

    def save_links(self, links: Iterable[Link]) -> None:
        """Insert or update many links in one statement (their `id` is not read back)."""
        encode = _link_encoder.encode  # `_encode` inlined: a call less per link
        self.conn.executemany(
            self._SAVE_LINK,
            [
                (k.connection, k.actor_type, k.erp_key, k.entity, k.crm_id, k.last_modified,
                 encode(k.synced).decode())
                for k in links
            ],
        )  # fmt: skip

    def forget_connection(self, connection: str) -> int:
        """Drop the links of a removed connection (the CRM records stay)."""
        with self.transaction():
            cursor = self.conn.execute("DELETE FROM links WHERE connection = ?", (connection,))
        return cursor.rowcount
