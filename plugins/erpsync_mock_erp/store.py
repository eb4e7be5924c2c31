"""The mock ERP's data: per company, per actor type, in memory, optionally persisted to SQLite.

Each ERP company (1-3) is its own database, as in a real ERP: its own actors, its own numbers
and its own last_modified counter (one counter across all actor types of the company, so
stamps are comparable across the whole connection). Connections that name the same company
share its data, which is what lets two connections see each other's writes.

Per actor type a `Table` keeps the actors by ERP key (in ERP-number order) and a list of
(last_modified, erp_key) kept sorted, so `changed_since` finds a page with `bisect` instead of
scanning. A modified actor gets the newest stamp, so it moves to the end of that list.

Nothing here locks: the connector holds `MockStore.lock` around every operation.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from erpsync_mock_erp.dataset import Dataset, generate, stamp
from erpsync_mock_erp.schema import SCHEMAS, ActorSchema
from host import Actor


class Table:
    """The actors of one type in one company, indexed for lookup, text search and paging."""

    def __init__(self, schema: ActorSchema, actors: Iterable[Actor]) -> None:
        self.schema = schema
        self.actors: dict[str, Actor] = {a.erp_key: a for a in actors}
        self.order: list[tuple[str, str]] = sorted(
            (a.last_modified, a.erp_key) for a in self.actors.values()
        )
        self.next_number = 1 + max((int(k) for k in self.actors if k.isdigit()), default=0)
        self._haystacks: dict[str, str] = {}

    def haystack(self, actor: Actor) -> str:
        """The casefolded text the simple search looks in, built once per actor version."""
        text = self._haystacks.get(actor.erp_key)
        if text is None:
            values = actor.field_values
            text = "\x1f".join(
                "" if values.get(k) is None else str(values[k])
                for k in self.schema.text_search_keys
            ).casefold()
            self._haystacks[actor.erp_key] = text
        return text

    def put(self, actor: Actor, previous_stamp: str | None) -> None:
        """Store `actor` (new or replacing one stamped `previous_stamp`); its stamp is newest."""
        if previous_stamp is not None:
            entry = (previous_stamp, actor.erp_key)
            index = bisect_left(self.order, entry)
            if index < len(self.order) and self.order[index] == entry:
                del self.order[index]
        self.actors[actor.erp_key] = actor
        self._haystacks.pop(actor.erp_key, None)
        entry = (actor.last_modified, actor.erp_key)
        if self.order and self.order[-1] > entry:  # not newest (only when loading odd data)
            self.order.insert(bisect_left(self.order, entry), entry)
        else:
            self.order.append(entry)


@dataclass
class Company:
    """One ERP company: its tables and the counter behind every last_modified stamp."""

    number: int
    tables: dict[str, Table]
    counter: int

    def next_stamp(self) -> str:
        self.counter += 1
        return stamp(self.counter)


class Persistence:
    """A SQLite file holding companies' actors, so data survives a restart of the mock.

    The file wins over the dataset options: a company found in it is loaded as it is, even if
    ERPSYNC_MOCK_CUSTOMERS or ERPSYNC_MOCK_SEED changed since it was written.
    """

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS companies (
            company INTEGER PRIMARY KEY,
            counter INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            customers INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS actors (
            company INTEGER NOT NULL,
            actor_type TEXT NOT NULL,
            erp_key TEXT NOT NULL,
            last_modified TEXT NOT NULL,
            parent_actor_type TEXT NOT NULL,
            parent_erp_key TEXT NOT NULL,
            field_values TEXT NOT NULL,
            PRIMARY KEY (company, actor_type, erp_key)
        );
    """

    def __init__(self, path: str) -> None:
        self.path = path
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # One connection, used only under MockStore.lock, from whichever worker thread.
        self._db = sqlite3.connect(str(Path(path).expanduser()), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(self.SCHEMA)

    def load(self, company: int) -> Dataset | None:
        row = self._db.execute(
            "SELECT counter FROM companies WHERE company = ?", (company,)
        ).fetchone()
        if row is None:
            return None
        dataset = Dataset({t: [] for t in SCHEMAS}, int(row[0]))
        rows = self._db.execute(
            "SELECT actor_type, erp_key, last_modified, parent_actor_type, parent_erp_key, "
            "field_values FROM actors WHERE company = ? ORDER BY actor_type, CAST(erp_key AS "
            "INTEGER)",
            (company,),
        )
        for actor_type, key, modified, parent_type, parent_key, values in rows:
            if actor_type in dataset.actors:
                dataset.actors[actor_type].append(
                    Actor(actor_type, key, modified, parent_type, parent_key, json.loads(values))
                )
        return dataset

    def save_company(self, company: int, dataset: Dataset, seed: int, customers: int) -> None:
        with self._db:
            self._db.execute("DELETE FROM actors WHERE company = ?", (company,))
            self._db.execute(
                "INSERT OR REPLACE INTO companies VALUES (?, ?, ?, ?)",
                (company, dataset.counter, seed, customers),
            )
            self._db.executemany(
                "INSERT INTO actors VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_row(company, a) for actors in dataset.actors.values() for a in actors),
            )

    def save_actors(self, company: int, actors: Iterable[Actor], counter: int) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO actors VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_row(company, a) for a in actors),
            )
            self._db.execute(
                "UPDATE companies SET counter = ? WHERE company = ?", (counter, company)
            )

    def close(self) -> None:
        self._db.close()


def _row(company: int, actor: Actor) -> tuple[object, ...]:
    return (
        company,
        actor.actor_type,
        actor.erp_key,
        actor.last_modified,
        actor.parent_actor_type,
        actor.parent_erp_key,
        json.dumps(actor.field_values, ensure_ascii=False),
    )


class MockStore:
    """Companies generated (or loaded) lazily on first use, then kept in memory."""

    def __init__(self, *, customers: int, seed: int, db_path: str | None) -> None:
        self.customers = customers
        self.seed = seed
        self.db_path = db_path
        self.lock = threading.RLock()
        self._companies: dict[int, Company] = {}
        self._persistence: Persistence | None = None

    @property
    def persistence(self) -> Persistence | None:
        if self.db_path and self._persistence is None:
            self._persistence = Persistence(self.db_path)
        return self._persistence

    def company(self, number: int) -> Company:
        """The company's data; the caller holds `lock`."""
        found = self._companies.get(number)
        if found is not None:
            return found
        persistence = self.persistence
        dataset = persistence.load(number) if persistence is not None else None
        if dataset is None:
            dataset = generate(self.seed, number, self.customers)
            if persistence is not None:
                persistence.save_company(number, dataset, self.seed, self.customers)
        tables = {t: Table(schema, dataset.actors.get(t, ())) for t, schema in SCHEMAS.items()}
        company = Company(number, tables, dataset.counter)
        self._companies[number] = company
        return company

    def saved(self, company: Company, actors: Iterable[Actor]) -> None:
        """Persist actors just created or changed (no-op when the data lives in memory only)."""
        if self.persistence is not None:
            self.persistence.save_actors(company.number, actors, company.counter)
