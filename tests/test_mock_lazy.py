"""The mock's generated-on-demand data equals the generated-at-once data, write for write.

`LazyDataset` must give exactly the actors `generate` gives (the seeded content other tests
pin), and a connector whose companies are lazy (store.LAZY_ABOVE lowered) must answer every
operation as an eager one does, after the same creates and saves. Two connectors on one
SQLite file stand for two worker processes: each sees the other's writes.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
from helpers import MOCK_CONFIG

from erpsync_mock_erp import MockErpConnector, store
from erpsync_mock_erp.dataset import generate
from erpsync_mock_erp.lazy import LazyDataset
from host import Actor, Connection, Restriction

CONFIG = MOCK_CONFIG


def conn(company: int = 1) -> Connection:
    return Connection(f"guid-{company}", {**CONFIG, "company": company})


@pytest.mark.parametrize(
    ("seed", "company", "customers"),
    [(42, 1, 0), (42, 1, 1), (7, 2, 60), (1, 3, 2500), (-5, 1, 700)],
)
def test_lazy_actors_equal_the_generated_ones(seed: int, company: int, customers: int) -> None:
    eager = generate(seed, company, customers)
    lazy = LazyDataset(seed, company, customers)
    assert lazy.counter == eager.counter
    for actor_type, actors in eager.actors.items():
        assert lazy.sizes[actor_type] == len(actors)
        assert lazy.actors(actor_type, 0, len(actors)) == actors
        for index in range(0, len(actors), 23):  # seeking alone, not walking from 0
            assert lazy.actors(actor_type, index, index + 2) == actors[index : index + 2]
        assert lazy.actors(actor_type, len(actors), len(actors) + 5) == []


def everything(mock: MockErpConnector, c: Connection, actor_type: str) -> list[Actor]:
    found: list[Actor] = []
    cursor = ""
    while True:
        page = mock.changed_since(c, actor_type, "", [], cursor, 7)
        found += page.actors
        cursor = page.cursor
        if not cursor:
            return found


def _script(mock: MockErpConnector) -> list[object]:
    """The same writes and reads on a connector; every answer, for comparison."""
    c = conn()
    answers: list[object] = []
    first = mock.create_actor(c, Actor("customer", field_values={"NAME": "Lazy Check AS"}))
    answers.append(first.erp_key)
    saved = mock.save_actors(
        c,
        [
            Actor("customer", "5", field_values={"PHONE": "+47 5"}),
            Actor("person", "2", parent_erp_key="3", field_values={"LASTNAME": "Moved"}),
        ],
    )
    answers.append([(a.erp_key, a.parent_erp_key) for a in saved])
    for actor_type in ("customer", "person", "supplier", "project"):
        every = everything(mock, c, actor_type)
        answers.append([(a.erp_key, a.last_modified, a.field_values) for a in every])
        middle = every[len(every) // 2].last_modified if every else ""
        answers.append(
            mock.changed_since(
                c, actor_type, middle, ["NAME"] if actor_type != "person" else [], "", 3
            )
        )
        answers.append(mock.search_actors(c, actor_type, "as", []))
        answers.append(mock.search_actors(c, actor_type, "Lazy Check", []))
    answers.append(mock.get_actors(c, "customer", ["5", "61", "1", "999", "x"], []))
    answers.append(mock.search_by_parent(c, "person", "", "customer", "3", []))
    answers.append(
        mock.search_advanced(
            c, "customer", [Restriction("POSTALCITY", "contains", ("o",))], ["NAME"]
        )
    )
    answers.append(mock.test_connection(c).user_explanation)
    return answers


def test_a_lazy_company_answers_as_an_eager_one(monkeypatch: pytest.MonkeyPatch) -> None:
    eager = _script(MockErpConnector(customers=60, seed=11))
    monkeypatch.setattr(store, "LAZY_ABOVE", 0)
    lazy_mock = MockErpConnector(customers=60, seed=11)
    lazy = _script(lazy_mock)
    assert isinstance(lazy_mock.store.company(1).tables["customer"].base, store.LazyBase)
    assert lazy == eager


@pytest.mark.parametrize("lazy", [False, True])
def test_two_connectors_on_one_file_see_each_others_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lazy: bool
) -> None:
    if lazy:
        monkeypatch.setattr(store, "LAZY_ABOVE", 0)
    db = str(tmp_path / "mock.sqlite")
    one = MockErpConnector(customers=40, seed=3, db_path=db)
    two = MockErpConnector(customers=40, seed=3, db_path=db)
    c = conn()
    assert len(everything(two, c, "customer")) == 40  # two has loaded the company
    made = one.create_actor(c, Actor("customer", field_values={"NAME": "From One AS"}))
    assert two.get_actors(c, "customer", [made.erp_key], ["NAME"])[0].field_values == {
        "NAME": "From One AS"
    }
    again = two.create_actor(c, Actor("customer", field_values={"NAME": "From Two AS"}))
    assert (made.erp_key, again.erp_key) == ("41", "42")
    assert again.last_modified > made.last_modified
    changed = two.save_actors(c, [Actor("customer", "7", field_values={"PHONE": "+47 7"})])[0]
    tail = one.changed_since(c, "customer", made.last_modified, ["PHONE"], "", 10).actors
    assert [a.erp_key for a in tail] == ["41", "42", "7"]
    assert tail[-1].field_values["PHONE"] == "+47 7"
    assert everything(one, c, "customer") == everything(two, c, "customer")
    assert changed.last_modified == tail[-1].last_modified


@pytest.mark.slow
def test_a_million_customers_start_small() -> None:
    """Start-up and memory of 1M customers (the bench measures them in a fresh process)."""
    started = time.perf_counter()
    big = MockErpConnector(customers=1_000_000, seed=42)
    c = conn()
    assert "1000000 customers" in big.test_connection(c).user_explanation
    seconds = time.perf_counter() - started
    page = big.changed_since(c, "customer", "999990", ["CustNo"], "", 100)
    assert [a.field_values["CustNo"] for a in page.actors] == list(range(999_990, 1_000_001))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"1M customers: {seconds:.1f} s, max RSS of this test process {rss_mib:.0f} MiB")
