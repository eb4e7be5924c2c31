"""The seeded dataset made on demand: the same actors as `dataset.generate`, without holding them.

`generate` draws every actor from one `random.Random` stream, in order, so actor n depends on
all the draws before it. `LazyDataset` walks that stream once without building anything: it
knows how many draws each customer or supplier takes (18, plus one for a post box and one
for a department, decided by draws it reads) and skips the rest with `getrandbits`, a C loop
over the same Mersenne Twister words that `random()` consumes two at a time. On the way it
keeps the generator's state every `CHUNK` actors and each actor's draw offset from that
state; actor n is then made by restoring its chunk's state, skipping its offset and running
the ordinary generator code for one actor. Persons (a few thousand at most) are made whole.

A million customers cost one pass (about a second) and some 15 MB of states and offsets,
instead of some 20 s and 1.6 GiB; reading an actor costs a generation (about 10 µs) each
time. tests/test_mock_lazy.py checks every actor against `generate` for several seeds.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Sequence
from typing import overload

from erpsync_mock_erp.dataset import PERSON_CUSTOMERS, _Generator
from host import Actor

CHUNK = 256
"""Actors per saved generator state: a seek skips at most this many actors' draws."""

WORDS_PER_DRAW = 64
"""`random()` consumes two 32-bit words: `getrandbits(64 * n)` skips n draws."""

Snapshot = tuple[array, int]


def _snapshot(rng: random.Random) -> Snapshot:
    _, internal, _ = rng.getstate()
    return array("I", internal[:-1]), internal[-1]


def _restore(rng: random.Random, snapshot: Snapshot) -> None:
    words, position = snapshot
    rng.setstate((3, (*words, position), None))


def _skip_company(rng: random.Random) -> int:
    """Advance `rng` past one `_Generator.company` call; return the draws it took."""
    skip, draw = rng.getrandbits, rng.random
    skip(8 * WORDS_PER_DRAW)  # name (4), country, city, street, VAT or number
    draws = 18
    box = draw()
    if 0.75 <= box < 0.9:  # "Postboks N": one more draw
        skip(WORDS_PER_DRAW)
        draws += 1
    if draw() < 0.2:  # a department: one more draw
        skip(WORDS_PER_DRAW)
        draws += 1
    skip(8 * WORDS_PER_DRAW)  # phone, street number, group, terms, limit, active, created (2)
    return draws


class _Stream:
    """One actor type's stretch of the random stream, seekable to any of its actors."""

    def __init__(self, rng: random.Random, count: int, skip: Callable[[random.Random], int]):
        self.count = count
        self.snapshots: list[Snapshot] = []
        self.offsets = array("H")  # draws from the chunk's snapshot (< CHUNK * 20 < 65536)
        offset = 0
        for index in range(count):
            if index % CHUNK == 0:
                self.snapshots.append(_snapshot(rng))
                offset = 0
            self.offsets.append(offset)
            offset += skip(rng)

    def seek(self, rng: random.Random, index: int) -> None:
        """Put `rng` where the actor at `index` (0-based) starts drawing."""
        _restore(rng, self.snapshots[index // CHUNK])
        offset = self.offsets[index]
        if offset:
            rng.getrandbits(offset * WORDS_PER_DRAW)


class LazyDataset:
    """One company's dataset as `generate(seed, company, customers)` makes it, made on demand.

    `actors(type, start, stop)` is the slice `generate(...).actors[type][start:stop]`.
    """

    def __init__(self, seed: int, company: int, customers: int) -> None:
        self._seed, self._company = seed, company
        walker = _Generator(seed, company)
        rng = walker.rng
        self._access = _Generator(seed, company)  # makes the actors asked for
        self._names = _Generator(seed, company)  # makes the customers projects name
        self.sizes = {
            "customer": customers,
            "person": 0,
            "supplier": -(-customers // 10),
            "project": -(-customers // 20),
        }
        self.offsets = {"customer": 0}
        self._customers = _Stream(rng, customers, _skip_company)
        # Persons are few: made whole, from where the customers' draws end.
        walker.counter = customers
        self._persons: list[Actor] = []
        for customer in self.actors("customer", 0, min(customers, PERSON_CUSTOMERS)):
            for _ in range(1 + walker.below(3)):
                self._persons.append(walker.person(len(self._persons) + 1, customer))
        self.sizes["person"] = len(self._persons)
        self._suppliers = _Stream(rng, self.sizes["supplier"], _skip_company)
        project_draws = 7 if customers else 6  # no customer to name: one draw fewer
        self._projects = _Stream(
            rng,
            self.sizes["project"],
            lambda r: (r.getrandbits(project_draws * WORDS_PER_DRAW), project_draws)[1],
        )
        self.offsets |= {
            "person": customers,
            "supplier": customers + len(self._persons),
            "project": customers + len(self._persons) + self.sizes["supplier"],
        }
        self.counter = self.offsets["project"] + self.sizes["project"]
        self._customer_list = _CustomerSequence(self)

    def actors(self, actor_type: str, start: int, stop: int) -> list[Actor]:
        """The actors of `actor_type` at 0-based positions start..stop-1 (in ERP-number order)."""
        stop = min(stop, self.sizes[actor_type])
        if start >= stop:
            return []
        if actor_type == "person":
            return self._persons[start:stop]
        gen = self._access
        gen.counter = self.offsets[actor_type] + start
        if actor_type == "project":
            self._projects.seek(gen.rng, start)
            return [gen.project(n, self._customer_list) for n in range(start + 1, stop + 1)]
        supplier = actor_type == "supplier"
        stream = self._suppliers if supplier else self._customers
        stream.seek(gen.rng, start)
        number_key = "SuppNo" if supplier else "CustNo"
        return [gen.company(number_key, n, supplier) for n in range(start + 1, stop + 1)]

    def customer(self, index: int) -> Actor:
        """One customer, made with a generator of its own (projects name customers while
        their own generator is mid-project)."""
        gen = self._names
        gen.counter = index
        self._customers.seek(gen.rng, index)
        return gen.company("CustNo", index + 1, supplier=False)


class _CustomerSequence(Sequence[Actor]):
    """The customers as the list `_Generator.project` picks a client from."""

    def __init__(self, dataset: LazyDataset) -> None:
        self._dataset = dataset

    def __len__(self) -> int:
        return self._dataset.sizes["customer"]

    @overload
    def __getitem__(self, index: int) -> Actor: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Actor]: ...
    def __getitem__(self, index: int | slice) -> Actor | Sequence[Actor]:
        if isinstance(index, slice):
            raise TypeError("one customer at a time")
        return self._dataset.customer(index)
