"""The mock ERP's data: per company, per actor type, in memory, optionally persisted to SQLite.

Each ERP company (1-3) is its own database, as in a real ERP: its own actors, its own numbers
and its own last_modified counter (one counter across all actor types of the company, so
stamps are comparable across the whole connection). Connections that name the same company
share its data, which is what lets two connections see each other's writes.

Per actor type a `Table` holds the generated actors (`Base`: in a list up to `LAZY_ABOVE`
customers, made on demand above it) under the actors created or changed since, by ERP key
and in a list of (last_modified, erp_key) kept sorted. The generated actors' stamps follow
from their position, so `changed_since` finds a page with `bisect` in both, never scanning.
A modified actor gets the newest stamp, so it moves to the end.

With a SQLite file, every write takes the file's lock and first catches up with what other
processes wrote (`erpsync mock-server --workers N` shares one file), and every read catches
up first (one indexed query when nothing changed). The connector holds `MockStore.lock`
around every operation.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erpsync_mock_erp.dataset import generate, stamp
from erpsync_mock_erp.lazy import LazyDataset
from erpsync_mock_erp.schema import SCHEMAS, ActorSchema
from host import Actor, ConnectorError

LAZY_ABOVE = 100_000
"""Companies with more customers are generated on demand (erpsync_mock_erp.lazy), not held."""

BLOCK = 1024
"""Actors made at a time when a search walks a lazily generated table."""


class Base:
    """The generated actors of one type, positions 0..size-1 holding ERP keys "1".."size" with
    the consecutive stamps offset+1..offset+size (generation order)."""

    def __init__(self, size: int, offset: int) -> None:
        self.size, self.offset = size, offset

    def slice(self, start: int, stop: int) -> list[Actor]:
        raise NotImplementedError


class EagerBase(Base):
    """Generated actors held in a list: reads are free, memory grows with the data."""

    def __init__(self, actors: list[Actor]) -> None:
        offset = int(actors[0].last_modified) - 1 if actors else 0
        super().__init__(len(actors), offset)
        self.actors = actors

    def slice(self, start: int, stop: int) -> list[Actor]:
        return self.actors[start:stop]


class LazyBase(Base):
    """Generated actors made on each read (erpsync_mock_erp.lazy): memory stays flat."""

    def __init__(self, dataset: LazyDataset, actor_type: str) -> None:
        super().__init__(dataset.sizes[actor_type], dataset.offsets[actor_type])
        self.dataset, self.actor_type = dataset, actor_type

    def slice(self, start: int, stop: int) -> list[Actor]:
        return self.dataset.actors(self.actor_type, start, stop)


class _BaseEntries(Sequence[tuple[str, str]]):
    """The (last_modified, erp_key) entries of a base, computed, for `bisect`."""

    def __init__(self, base: Base) -> None:
        self.base = base

    def __len__(self) -> int:
        return self.base.size

    def __getitem__(self, index: Any) -> Any:
        return (stamp(self.base.offset + index + 1), str(index + 1))


class Table:
    """The actors of one type in one company: the generated ones (`base`) under the ones
    created or changed since (`over`), indexed for lookup, text search and paging."""

    def __init__(self, schema: ActorSchema, base: Base) -> None:
        self.schema = schema
        self.base = base
        self.over: dict[str, Actor] = {}
        self.over_order: list[tuple[str, str]] = []  # (last_modified, erp_key), sorted
        self._extra = 0  # keys in `over` that are not generated ones
        self.next_number = base.size + 1
        self._eager = isinstance(base, EagerBase)
        self._haystacks: dict[str, str] = {}
        self._search_keys = schema.text_search_keys  # a property: computed once here

    def _base_index(self, key: str) -> int | None:
        if key.isascii() and key.isdigit() and key[0] != "0" and int(key) <= self.base.size:
            return int(key) - 1
        return None

    def get(self, key: str) -> Actor | None:
        found = self.over.get(key)
        if found is not None:
            return found
        index = self._base_index(key)
        return None if index is None else self.base.slice(index, index + 1)[0]

    def count(self) -> int:
        return self.base.size + self._extra

    def __iter__(self) -> Iterator[Actor]:
        """Every actor in ERP-number order (generated first, made on the way when lazy)."""
        over = self.over
        for start in range(0, self.base.size, BLOCK):
            for actor in self.base.slice(start, start + BLOCK):
                yield over.get(actor.erp_key, actor)
        extra = [k for k in over if self._base_index(k) is None]
        extra.sort(key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
        for key in extra:
            yield over[key]

    def page(
        self, since: str, after: tuple[str, str] | None, limit: int
    ) -> tuple[list[Actor], tuple[str, str] | None, bool]:
        """Up to `limit` actors with last_modified >= since (and after the cursor entry),
        oldest first: (actors, entry of the last one, whether more follow)."""
        entries = _BaseEntries(self.base)
        order = self.over_order
        b = bisect_left(entries, (since, "")) if since else 0
        o = bisect_left(order, (since, "")) if since else 0
        if after is not None:
            # the cursor's entry may be gone (the actor changed since): bisect finds its place
            b = max(b, bisect_right(entries, after))
            o = max(o, bisect_right(order, after))
        size, over = self.base.size, self.over
        if not over and not order:  # nothing created or changed: a slice of the generated
            stop = min(b + limit, size)
            if stop <= b:
                return [], None, False
            return self.base.slice(b, stop), entries[stop - 1], stop < size
        chosen: list[tuple[tuple[str, str], int]] = []  # (entry, base index or -1)
        while len(chosen) <= limit:
            while b < size and str(b + 1) in over:
                b += 1
            base_entry = entries[b] if b < size else None
            over_entry = order[o] if o < len(order) else None
            if base_entry is None and over_entry is None:
                break
            if over_entry is None or (base_entry is not None and base_entry < over_entry):
                chosen.append((base_entry, b))  # type: ignore[arg-type]
                b += 1
            else:
                chosen.append((over_entry, -1))
                o += 1
        more = len(chosen) > limit
        chosen = chosen[:limit]
        indices = [i for _, i in chosen if i >= 0]
        made = self.base.slice(indices[0], indices[-1] + 1) if indices else []
        first = indices[0] if indices else 0
        actors = [made[i - first] if i >= 0 else over[entry[1]] for entry, i in chosen]
        return actors, (chosen[-1][0] if chosen else None), more

    def haystack(self, actor: Actor) -> str:
        """The casefolded text the simple search looks in (kept per actor when eager)."""
        text = self._haystacks.get(actor.erp_key) if self._eager else None
        if text is None:
            values = actor.field_values
            text = "\x1f".join(
                "" if values.get(k) is None else str(values[k]) for k in self._search_keys
            ).casefold()
            if self._eager:
                self._haystacks[actor.erp_key] = text
        return text

    def put(self, actor: Actor) -> None:
        """Store `actor`, new or replacing one; its stamp need not be the newest."""
        key = actor.erp_key
        previous = self.over.get(key)
        if previous is not None:
            entry = (previous.last_modified, key)
            index = bisect_left(self.over_order, entry)
            if index < len(self.over_order) and self.over_order[index] == entry:
                del self.over_order[index]
        elif self._base_index(key) is None:
            self._extra += 1
        self.over[key] = actor
        self._haystacks.pop(key, None)
        entry = (actor.last_modified, key)
        if self.over_order and self.over_order[-1] > entry:
            insort(self.over_order, entry)
        else:
            self.over_order.append(entry)
        if key.isascii() and key.isdigit():
            self.next_number = max(self.next_number, int(key) + 1)


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
    """A SQLite file holding companies' settings and every actor created or changed, so
    the data survives a restart and worker processes see each other's writes.

    The generated actors are not stored: the company's seed and size are, and the same
    seed makes the same actors. The file wins over the dataset options: a company found in
    it keeps its seed and size even if ERPSYNC_MOCK_CUSTOMERS or ERPSYNC_MOCK_SEED changed
    since. (Files written before held every actor: they load as they are, only slower.)
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
        CREATE INDEX IF NOT EXISTS actors_by_stamp ON actors (company, last_modified);
    """

    def __init__(self, path: str) -> None:
        self.path = path
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # One connection, used only under MockStore.lock, from whichever worker thread;
        # transactions are explicit (BEGIN IMMEDIATE around each write).
        self._db = sqlite3.connect(
            str(Path(path).expanduser()), check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(self.SCHEMA)

    def company(self, company: int) -> tuple[int, int, int] | None:
        """(counter, seed, customers) of a company in the file, or None."""
        row = self._db.execute(
            "SELECT counter, seed, customers FROM companies WHERE company = ?", (company,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def add_company(self, company: int, counter: int, seed: int, customers: int) -> None:
        """Record a newly generated company (another process may have done it first)."""
        self._db.execute(
            "INSERT OR IGNORE INTO companies VALUES (?, ?, ?, ?)",
            (company, counter, seed, customers),
        )

    def counter(self, company: int) -> int:
        row = self._db.execute(
            "SELECT counter FROM companies WHERE company = ?", (company,)
        ).fetchone()
        return int(row[0]) if row else 0

    def actors_after(self, company: int, after: str) -> Iterator[Actor]:
        """The stored actors stamped later than `after` ('' for all), oldest first."""
        rows = self._db.execute(
            "SELECT actor_type, erp_key, last_modified, parent_actor_type, parent_erp_key, "
            "field_values FROM actors WHERE company = ? AND last_modified > ? "
            "ORDER BY last_modified",
            (company, after),
        )
        for actor_type, key, modified, parent_type, parent_key, values in rows:
            yield Actor(actor_type, key, modified, parent_type, parent_key, json.loads(values))

    def begin(self) -> None:
        """Take the file's write lock: other processes wait until `commit` or `rollback`."""
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def save_actors(self, company: int, actors: Iterable[Actor], counter: int) -> None:
        """Write actors and the company's counter (inside `begin` ... `commit`)."""
        self._db.executemany(
            "INSERT OR REPLACE INTO actors VALUES (?, ?, ?, ?, ?, ?, ?)",
            (_row(company, a) for a in actors),
        )
        self._db.execute("UPDATE companies SET counter = ? WHERE company = ?", (counter, company))

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


def _tables(seed: int, company: int, customers: int) -> tuple[dict[str, Table], int]:
    """A company's tables of generated actors, and the counter of the newest stamp."""
    if customers > LAZY_ABOVE:
        lazy = LazyDataset(seed, company, customers)
        bases: dict[str, Base] = {t: LazyBase(lazy, t) for t in SCHEMAS}
        counter = lazy.counter
    else:
        dataset = generate(seed, company, customers)
        bases = {t: EagerBase(dataset.actors.get(t, [])) for t in SCHEMAS}
        counter = dataset.counter
    return {t: Table(schema, bases[t]) for t, schema in SCHEMAS.items()}, counter


class MockStore:
    """Companies generated (or loaded) lazily on first use, kept in memory, and kept in step
    with the SQLite file (when there is one) before every operation."""

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
        """The company's data, with every write to the file so far; the caller holds `lock`."""
        persistence = self.persistence
        found = self._companies.get(number)
        if found is not None:
            if persistence is not None:
                self._catch_up(found, persistence)
            return found
        seed, customers = self.seed, self.customers
        stored = persistence.company(number) if persistence is not None else None
        if stored is not None:
            _, seed, customers = stored
        tables, counter = _tables(seed, number, customers)
        company = Company(number, tables, counter)
        if persistence is not None:
            if stored is None:
                persistence.add_company(number, counter, seed, customers)
            company.counter = 0  # catch up with every stored actor
            self._catch_up(company, persistence, after="")
        self._companies[number] = company
        return company

    def _catch_up(
        self, company: Company, persistence: Persistence, after: str | None = None
    ) -> None:
        """Apply what other processes (or an earlier run) wrote since we last looked."""
        counter = persistence.counter(company.number)
        if after is None:
            if counter == company.counter:
                return
            after = stamp(company.counter)
        for actor in persistence.actors_after(company.number, after):
            table = company.tables.get(actor.actor_type)
            if table is not None:
                table.put(actor)
        company.counter = counter

    @contextmanager
    def writing(self, number: int) -> Iterator[Company]:
        """The company, up to date and locked against other processes until the block ends;
        `saved` inside it writes to the file, which commits at the end (or rolls back)."""
        with self.lock:
            persistence = self.persistence
            if persistence is None:
                yield self.company(number)
                return
            persistence.begin()
            try:
                company = self.company(number)
                yield company
                persistence.commit()
            except ConnectorError:
                persistence.rollback()  # refused before anything changed
                raise
            except BaseException:
                persistence.rollback()
                self._companies.pop(number, None)  # memory may be ahead of the file: reload
                raise

    def saved(self, company: Company, actors: Iterable[Actor]) -> None:
        """Persist actors just created or changed (no-op when the data lives in memory only)."""
        if self.persistence is not None:
            self.persistence.save_actors(company.number, actors, company.counter)
