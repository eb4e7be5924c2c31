"""The bundled mock ERP: schema, dataset, reads, writes, change paging, persistence, faults."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from helpers import MOCK_CONFIG
from helpers.mock_server import env_without_erpsync, stop_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync_mock_erp import MockErpConnector
from erpsync_mock_erp.faults import FAIL_KINDS, FaultInjector
from erpsync_mock_erp.schema import LISTS, SCHEMAS
from host.apps import validate_field
from host.client import (
    CallFailed,
    ConnectorClient,
    ConnectorUnreachable,
    ProtocolError,
    Unauthorized,
)
from host.connector import (
    ALL_ZERO_GUID,
    Access,
    Actor,
    Connection,
    ConnectorError,
    FieldType,
    Restriction,
)
from host.search import matches

MANDATORY = {"customer": "NAME", "supplier": "NAME", "person": "FIRSTNAME", "project": "NAME"}
NUMBER = {"customer": "CustNo", "supplier": "SuppNo", "person": "PersNo", "project": "ProjNo"}


def conn(company: int = 1, **extra: Any) -> Connection:
    return Connection(str(uuid.uuid4()), {**MOCK_CONFIG, "company": company, **extra})


@pytest.fixture
def mock() -> MockErpConnector:
    return MockErpConnector(customers=60, seed=7)


def error_code(call: Any) -> str:
    with pytest.raises(ConnectorError) as caught:
        call()
    return caught.value.response.error_code


def everything(mock: MockErpConnector, c: Connection, actor_type: str) -> list[Actor]:
    return mock.changed_since(c, actor_type, "", [], "", 100_000).actors


# --- schema --------------------------------------------------------------------------------


def test_actor_types_and_their_fields(mock: MockErpConnector) -> None:
    c = conn()
    assert mock.actor_types(c) == ["customer", "supplier", "person", "project"]
    for actor_type in mock.actor_types(c):
        fields = mock.actor_fields(c, actor_type)
        by_key = {f.key: f for f in fields}
        assert [f.key for f in fields if f.access is Access.MANDATORY] == [MANDATORY[actor_type]]
        assert [f.key for f in fields if f.access is Access.READONLY] == [NUMBER[actor_type]]
        assert all(validate_field(f) == [] for f in fields), actor_type
        for f in fields:
            if f.type is FieldType.LIST:
                assert f.list_name in LISTS and f.default in LISTS[f.list_name]
        searchable = mock.searchable_fields(c, actor_type)
        assert searchable and set(searchable) <= set(by_key)
    customer = {f.key: f for f in mock.actor_fields(c, "customer")}
    crm_names = {"NAME", "DEPARTMENT", "PHONE", "EMAIL", "URL", "POSTALAD1", "POSTALAD2"}
    assert crm_names | {"POSTALZIP", "POSTALCITY", "COUNTRY", "VATNO"} <= set(customer)
    assert {f.type for f in customer.values()} >= {
        FieldType.TEXT,
        FieldType.INTEGER,
        FieldType.DOUBLE,
        FieldType.CHECKBOX,
        FieldType.LIST,
        FieldType.DATETIME,
    }
    project = {f.key: f for f in mock.actor_fields(c, "project")}
    assert project["TEXT"].max_length == 5000 and project["ENDDATE"].type is FieldType.DATETIME
    person = {f.key for f in mock.actor_fields(c, "person")}
    assert {"FIRSTNAME", "MIDDLENAME", "LASTNAME", "PHONE_MOBILE", "BIRTHDATE"} <= person


def test_every_operation_on_a_connection_checks_the_login(mock: MockErpConnector) -> None:
    wrong = conn(password="guess")
    assert error_code(lambda: mock.actor_types(wrong)) == "login_failed"
    assert error_code(lambda: mock.get_actors(wrong, "customer", ["1"], [])) == "login_failed"
    assert error_code(lambda: mock.actor_types(conn(company=4))) == "unknown_company"
    assert error_code(lambda: mock.actor_fields(conn(), "partner")) == "unknown_actor_type"


# --- lists ---------------------------------------------------------------------------------


def test_lists_answer_for_the_all_zero_guid_and_any_connection(mock: MockErpConnector) -> None:
    zero = Connection(ALL_ZERO_GUID, {})
    assert len(LISTS) >= 7
    for name, items in LISTS.items():
        assert mock.get_list(zero, name) == items and len(items) >= 2
        assert mock.get_list(conn(company=3), name) == items
        first = next(iter(items))
        assert mock.get_list_items(zero, name, [first, "no-such-key"]) == {first: items[first]}
    assert mock.get_list(zero, "currencies")["NOK"] == "Norwegian krone"
    assert error_code(lambda: mock.get_list(zero, "colours")) == "unknown_list"


# --- dataset -------------------------------------------------------------------------------


def test_the_dataset_is_deterministic_per_seed_and_company() -> None:
    c1, c2 = conn(1), conn(2)
    a = MockErpConnector(customers=50, seed=1)
    b = MockErpConnector(customers=50, seed=1)
    other_seed = MockErpConnector(customers=50, seed=2)
    assert everything(a, c1, "customer") == everything(b, c1, "customer")
    assert everything(a, c1, "person") == everything(b, c1, "person")
    names = [x.field_values["NAME"] for x in everything(a, c1, "customer")]
    assert names != [x.field_values["NAME"] for x in everything(other_seed, c1, "customer")]
    assert names != [x.field_values["NAME"] for x in everything(a, c2, "customer")]
    assert len(set(names)) > 40  # plausible variety, not one name repeated


def test_the_dataset_is_plausible_and_consistent(mock: MockErpConnector) -> None:
    c = conn()
    customers = {a.erp_key: a for a in everything(mock, c, "customer")}
    persons = everything(mock, c, "person")
    assert len(customers) == 60
    assert len(everything(mock, c, "supplier")) == 6
    assert len(everything(mock, c, "project")) == 3
    assert 60 <= len(persons) <= 180
    for key, customer in customers.items():
        values = customer.field_values
        assert values["CustNo"] == int(key)
        assert values["NAME"].strip() and values["COUNTRY"] in LISTS["countries"]
        assert values["CUSTGROUP"] in LISTS["customer_groups"]
        assert values["PAYTERMS"] in LISTS["payment_terms"]
        assert values["CURRENCY"] in LISTS["currencies"]
        assert isinstance(values["CREDITLIMIT"], float) and isinstance(values["ACTIVE"], bool)
        assert values["EMAIL"].count("@") == 1 and values["URL"].startswith("https://")
    for person in persons:
        assert person.parent_actor_type == "customer" and person.parent_erp_key in customers
        assert person.field_values["FIRSTNAME"] and person.field_values["PersNo"] == int(
            person.erp_key
        )
    for project in everything(mock, c, "project"):
        assert project.field_values["ProjNo"] == f"PROJ{project.erp_key}"
    stamps = [a.last_modified for t in SCHEMAS for a in everything(mock, c, t)]
    assert len(set(stamps)) == len(stamps)  # one counter across all types
    assert all(len(s) == 14 and s.isdigit() for s in stamps)


def test_companies_hold_separate_data_and_connections_share_a_company(
    mock: MockErpConnector,
) -> None:
    first, again, second = conn(1), conn(1), conn(2)
    created = mock.create_actor(first, Actor("customer", field_values={"NAME": "Shared AS"}))
    assert mock.get_actors(again, "customer", [created.erp_key], ["NAME"])[0].field_values == {
        "NAME": "Shared AS"
    }
    in_second = mock.get_actors(second, "customer", [created.erp_key], ["NAME"])
    assert in_second == []  # company 2 has only 60 customers; key 61 is company 1's


def test_a_hundred_thousand_customers_are_generated_fast_and_paged_without_scanning() -> None:
    big = MockErpConnector(customers=100_000, seed=1)
    c = conn()
    started = time.perf_counter()
    assert "100000 customers" in big.test_connection(c).user_explanation
    generated = time.perf_counter() - started
    assert generated < 20, generated  # about 2-3 s on a laptop; generous for slow CI
    tail = big.get_actors(c, "customer", ["99991"], [])[0].last_modified
    started = time.perf_counter()
    for _ in range(50):
        page = big.changed_since(c, "customer", tail, ["NAME"], "", 100)
    per_page = (time.perf_counter() - started) / 50
    assert [a.erp_key for a in page.actors] == [str(n) for n in range(99_991, 100_001)]
    assert page.cursor == "" and per_page < 0.05, per_page
    assert len(big.search_actors(c, "customer", "", ["NAME"])) == 100_000  # the host pages


# --- reading -------------------------------------------------------------------------------


def test_get_actors_keeps_the_order_asked_and_only_the_fields_asked(mock: MockErpConnector) -> None:
    c = conn()
    found = mock.get_actors(c, "customer", ["3", "nope", "1"], ["NAME", "CustNo"])
    assert [a.erp_key for a in found] == ["3", "1"]
    assert all(set(a.field_values) == {"NAME", "CustNo"} for a in found)
    full = mock.get_actors(c, "customer", ["1"], [])[0]
    assert set(full.field_values) == {f.key for f in SCHEMAS["customer"].fields}
    assert error_code(lambda: mock.get_actors(c, "customer", ["1"], ["NOPE"])) == "unknown_field"
    # Returned actors are copies: changing one does not change the ERP.
    full.field_values["NAME"] = "Hacked"
    assert mock.get_actors(c, "customer", ["1"], ["NAME"])[0].field_values["NAME"] != "Hacked"


def test_search_actors_is_a_case_insensitive_substring_search(mock: MockErpConnector) -> None:
    c = conn()
    customers = everything(mock, c, "customer")
    target = customers[17].field_values["NAME"]
    needle = target.split()[0][1:].upper()  # a piece of a word, in another case
    expected = [
        a.erp_key
        for a in customers
        if any(
            needle.casefold() in str(a.field_values[k]).casefold()
            for k in SCHEMAS["customer"].text_search_keys
        )
    ]
    found = mock.search_actors(c, "customer", needle, ["NAME"])
    assert "18" in expected and [a.erp_key for a in found] == expected
    assert [a.erp_key for a in mock.search_actors(c, "customer", "  ", [])] == [
        a.erp_key for a in customers
    ]
    by_number = mock.search_actors(c, "customer", "42", ["CustNo"])
    assert "42" in [a.erp_key for a in by_number]
    assert mock.search_actors(c, "customer", "no such text anywhere", []) == []


def test_blank_search_answers_every_actor_for_the_host_to_page() -> None:
    many = MockErpConnector(customers=520, seed=3)
    found = many.search_actors(conn(), "customer", "", ["NAME"])
    assert len(found) == 520 and found[0].erp_key == "1"


def test_search_by_parent_finds_exactly_the_children(mock: MockErpConnector) -> None:
    c = conn()
    persons = everything(mock, c, "person")
    parent = persons[-1].parent_erp_key
    expected = [p.erp_key for p in persons if p.parent_erp_key == parent]
    found = mock.search_by_parent(c, "person", "", "customer", parent, ["FIRSTNAME"])
    assert [p.erp_key for p in found] == expected and expected
    first_name = persons[-1].field_values["FIRSTNAME"]
    narrowed = mock.search_by_parent(c, "person", first_name.lower(), "customer", parent, [])
    assert persons[-1].erp_key in [p.erp_key for p in narrowed]
    assert mock.search_by_parent(c, "person", "", "supplier", parent, []) == []
    assert mock.search_by_parent(c, "person", "", "", parent, ["FIRSTNAME"]) == found


@settings(max_examples=40, deadline=None)
@given(
    city=st.sampled_from(["oslo", "BERGEN", "Stock", "ø"]),
    limit=st.sampled_from([0.0, 25000.0, 100000.0]),
    groups=st.sets(st.sampled_from(sorted(LISTS["customer_groups"])), min_size=1),
    active=st.booleans(),
)
def test_search_advanced_equals_filtering_every_actor_by_hand(
    city: str, limit: float, groups: set[str], active: bool
) -> None:
    mock = MockErpConnector(customers=120, seed=5)
    c = conn()
    restrictions = [
        Restriction("POSTALCITY", "contains", (city,)),
        Restriction("CREDITLIMIT", ">=", (str(limit),)),
        Restriction("CUSTGROUP", "oneof", tuple(sorted(groups))),
        Restriction("ACTIVE", "=", (active,)),
    ]
    fields = SCHEMAS["customer"].by_key
    expected = [
        a.erp_key
        for a in everything(mock, c, "customer")
        if all(
            matches(x, fields[x.field_key].type, a.field_values[x.field_key]) for x in restrictions
        )
    ]
    found = mock.search_advanced(c, "customer", restrictions, ["NAME"])
    assert [a.erp_key for a in found] == expected


def test_search_advanced_by_parent_and_bad_restrictions(mock: MockErpConnector) -> None:
    c = conn()
    by_parent = [Restriction("parent_erp_key", "=", ("1",))]
    children = mock.search_advanced(c, "person", by_parent, [])
    assert children and all(p.parent_erp_key == "1" for p in children)
    bad = [Restriction("CREDITLIMIT", "contains", ("1",))]
    assert error_code(lambda: mock.search_advanced(c, "customer", bad, [])) == "invalid_restriction"


# --- writing -------------------------------------------------------------------------------


def test_create_assigns_number_key_and_the_newest_stamp(mock: MockErpConnector) -> None:
    c = conn()
    newest = max(a.last_modified for t in SCHEMAS for a in everything(mock, c, t))
    created = mock.create_actor(
        c, Actor("customer", field_values={"NAME": "Ny Kunde AS", "CREDITLIMIT": 12.5})
    )
    assert created.erp_key == "61" and created.field_values["CustNo"] == 61
    assert created.last_modified > newest and len(created.last_modified) == 14
    assert created.field_values["CREDITLIMIT"] == 12.5  # coerced to the field's type
    assert created.field_values["COUNTRY"] == "NO" and created.field_values["ACTIVE"] is True
    assert created.field_values["CREATED"]  # the ERP stamps the registration time
    project = mock.create_actor(c, Actor("project", field_values={"NAME": "Pilot"}))
    assert project.erp_key == "4" and project.field_values["ProjNo"] == "PROJ4"
    assert project.last_modified > created.last_modified
    person = mock.create_actor(
        c, Actor("person", parent_erp_key="61", field_values={"FIRSTNAME": "Kari"})
    )
    assert (person.parent_actor_type, person.parent_erp_key) == ("customer", "61")
    assert mock.search_by_parent(c, "person", "", "customer", "61", []) == [person]
    assert mock.get_actors(c, "customer", ["61"], []) == [created]


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (Actor("customer", field_values={}), "mandatory_field"),
        (Actor("customer", field_values={"NAME": "   "}), "mandatory_field"),
        (Actor("customer", field_values={"NAME": "X", "CustNo": 5}), "readonly_field"),
        (Actor("customer", field_values={"NAME": "X", "COLOUR": "red"}), "unknown_field"),
        (Actor("customer", field_values={"NAME": "X", "COUNTRY": "XX"}), "invalid_value"),
        (Actor("customer", field_values={"NAME": "X", "CREDITLIMIT": "lots"}), "invalid_value"),
        (Actor("customer", field_values={"NAME": "X" * 101}), "invalid_value"),
        (Actor("customer", erp_key="7", field_values={"NAME": "X"}), "invalid_actor"),
        (Actor("person", parent_erp_key="999", field_values={"FIRSTNAME": "X"}), "unknown_parent"),
        (Actor("project", parent_erp_key="1", field_values={"NAME": "X"}), "invalid_actor"),
        (Actor("partner", field_values={"NAME": "X"}), "unknown_actor_type"),
    ],
)
def test_create_refuses_bad_actors_and_writes_nothing(
    mock: MockErpConnector, actor: Actor, code: str
) -> None:
    c = conn()
    before = {t: everything(mock, c, t) for t in SCHEMAS}
    assert error_code(lambda: mock.create_actor(c, actor)) == code
    assert {t: everything(mock, c, t) for t in SCHEMAS} == before


def test_save_updates_only_the_fields_given_and_restamps(mock: MockErpConnector) -> None:
    c = conn()
    old = mock.get_actors(c, "customer", ["5"], [])[0]
    saved = mock.save_actors(
        c, [Actor("customer", "5", field_values={"PHONE": "+47 22 00 00 00", "CustNo": 5})]
    )
    assert len(saved) == 1 and saved[0].erp_key == "5"
    assert saved[0].last_modified > old.last_modified
    assert saved[0].field_values == {**old.field_values, "PHONE": "+47 22 00 00 00"}
    assert mock.get_actors(c, "customer", ["5"], []) == saved
    # It is now the newest change of its type.
    assert everything(mock, c, "customer")[-1] == saved[0]


def test_save_moves_a_person_to_another_customer_only_when_asked(mock: MockErpConnector) -> None:
    c = conn()
    person = everything(mock, c, "person")[0]
    kept = mock.save_actors(c, [Actor("person", person.erp_key, field_values={"TITLE": "Dr."})])[0]
    assert kept.parent_erp_key == person.parent_erp_key
    moved = mock.save_actors(c, [Actor("person", person.erp_key, parent_erp_key="60")])[0]
    assert moved.parent_erp_key == "60"
    assert person.erp_key in [
        p.erp_key for p in mock.search_by_parent(c, "person", "", "customer", "60", [])
    ]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (Actor("customer", "999", field_values={"PHONE": "1"}), "unknown_actor"),
        (Actor("customer", "", field_values={"PHONE": "1"}), "unknown_actor"),
        (Actor("customer", "2", field_values={"CustNo": 3}), "readonly_field"),
        (Actor("customer", "2", field_values={"NAME": ""}), "mandatory_field"),
        (Actor("customer", "2", field_values={"NAME": None}), "mandatory_field"),
        (Actor("customer", "2", field_values={"ACTIVE": "perhaps"}), "invalid_value"),
        (Actor("project", "1", field_values={"ProjNo": "PROJ9"}), "readonly_field"),
        (Actor("person", "1", parent_erp_key="9999"), "unknown_parent"),
    ],
)
def test_save_is_all_or_nothing(mock: MockErpConnector, bad: Actor, code: str) -> None:
    c = conn()
    before = {t: everything(mock, c, t) for t in SCHEMAS}
    good = Actor("customer", "1", field_values={"PHONE": "123"})
    assert error_code(lambda: mock.save_actors(c, [good, bad])) == code
    assert {t: everything(mock, c, t) for t in SCHEMAS} == before


def test_a_read_only_connection_writes_nothing(mock: MockErpConnector) -> None:
    c = conn(read_only=True)
    new = Actor("customer", field_values={"NAME": "X"})
    assert error_code(lambda: mock.create_actor(c, new)) == "read_only"
    assert error_code(lambda: mock.save_actors(c, [Actor("customer", "1")])) == "read_only"


def test_concurrent_creates_get_distinct_numbers_and_stamps(mock: MockErpConnector) -> None:
    c = conn()
    created: list[Actor] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(25):
            actor = mock.create_actor(c, Actor("customer", field_values={"NAME": f"T{n}-{i}"}))
            with lock:
                created.append(actor)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({a.erp_key for a in created}) == 200
    assert len({a.last_modified for a in created}) == 200
    listed = everything(mock, c, "customer")
    assert len(listed) == 260
    assert [a.last_modified for a in listed] == sorted(a.last_modified for a in listed)


# --- changed since -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_changed_since_paging_skips_and_repeats_nothing(data: st.DataObject) -> None:
    mock = MockErpConnector(customers=30, seed=data.draw(st.integers(0, 3)))
    c = conn()
    actor_type = data.draw(st.sampled_from(["customer", "person", "project"]))
    initial = everything(mock, c, actor_type)
    keys = [a.erp_key for a in initial]
    since = data.draw(st.sampled_from(["", *[a.last_modified for a in initial[::7]]]))
    expected = {a.erp_key for a in initial if a.last_modified >= since}
    touched: set[str] = set()
    seen: list[Actor] = []
    cursor = ""
    for page_number in range(1000):
        limit = data.draw(st.integers(1, 12), label="limit")
        page = mock.changed_since(c, actor_type, since, [MANDATORY[actor_type]], cursor, limit)
        assert len(page.actors) <= limit
        assert all(set(a.field_values) == {MANDATORY[actor_type]} for a in page.actors)
        for actor in page.actors:  # checked as we go, so a stuck cursor fails fast
            assert not seen or (actor.last_modified, actor.erp_key) > (
                seen[-1].last_modified,
                seen[-1].erp_key,
            )
            seen.append(actor)
        if not page.cursor:
            break
        cursor = page.cursor
        if page_number >= 10:
            continue  # stop changing things, so paging ends
        # Between pages, other users change actors (seen or not yet seen) and create new ones.
        for key in data.draw(st.lists(st.sampled_from(keys), max_size=3), label="modify"):
            value = {MANDATORY[actor_type]: f"changed {len(seen)}"}
            mock.save_actors(c, [Actor(actor_type, key, field_values=value)])
            touched.add(key)
        if data.draw(st.booleans(), label="create"):
            value = {MANDATORY[actor_type]: "brand new"}
            touched.add(mock.create_actor(c, Actor(actor_type, field_values=value)).erp_key)
    else:
        pytest.fail("paging did not end")

    order = [(a.last_modified, a.erp_key) for a in seen]
    assert order == sorted(order) and len(set(order)) == len(order)  # strictly increasing
    assert all(a.last_modified >= since for a in seen)
    counts = Counter(a.erp_key for a in seen)
    for key in expected - touched:
        assert counts[key] == 1, key  # an actor nobody changed: exactly once
    final = {a.erp_key: a for a in everything(mock, c, actor_type)}
    last_seen = {a.erp_key: a for a in seen}  # later pages overwrite earlier versions
    for key in touched:
        assert last_seen[key].last_modified == final[key].last_modified  # newest version seen
        assert (
            last_seen[key].field_values[MANDATORY[actor_type]]
            == (final[key].field_values[MANDATORY[actor_type]])
        )
    assert set(counts) == expected | touched


def test_changed_since_stamps_and_cursors(mock: MockErpConnector) -> None:
    c = conn()
    fifth = mock.changed_since(c, "customer", "5", [], "", 1).actors
    assert [a.erp_key for a in fifth] == ["5"] and fifth[0].last_modified == "00000000000005"
    assert mock.changed_since(c, "customer", "00000000000005", [], "", 1).actors == fifth
    assert error_code(lambda: mock.changed_since(c, "customer", "2024-01-01", [], "", 5)) == (
        "invalid_stamp"
    )
    page = mock.changed_since(c, "customer", "", [], "", 10)
    assert page.cursor and len(page.actors) == 10
    assert error_code(lambda: mock.changed_since(c, "person", "", [], page.cursor, 10)) == (
        "invalid_cursor"
    )
    assert error_code(lambda: mock.changed_since(c, "customer", "", [], "!!nonsense", 10)) == (
        "invalid_cursor"
    )
    last = mock.changed_since(c, "customer", "", [], "", 60)
    assert len(last.actors) == 60 and last.cursor == ""
    future = mock.changed_since(c, "customer", "99999999999999", [], "", 10)
    assert future.actors == [] and future.cursor == ""


# --- persistence and settings ----------------------------------------------------------------


def test_sqlite_persistence_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "mock.sqlite"
    c = conn()
    first = MockErpConnector(customers=20, seed=9, db_path=str(db))
    created = first.create_actor(c, Actor("customer", field_values={"NAME": "Kept AS"}))
    saved = first.save_actors(c, [Actor("customer", "3", field_values={"PHONE": "999"})])[0]
    assert db.exists()
    # The file wins over the dataset options: a different size and seed load the same data.
    second = MockErpConnector(customers=5, seed=1, db_path=str(db))
    assert second.get_actors(c, "customer", ["21", "3"], []) == [created, saved]
    assert len(everything(second, c, "customer")) == 21
    newer = second.create_actor(c, Actor("customer", field_values={"NAME": "Next AS"}))
    assert newer.erp_key == "22" and newer.last_modified > saved.last_modified
    # A company not in the file yet is generated and written on first use.
    assert len(everything(second, conn(2), "customer")) == 5


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ERPSYNC_MOCK_CUSTOMERS", "12")
    monkeypatch.setenv("ERPSYNC_MOCK_SEED", "5")
    monkeypatch.setenv("ERPSYNC_MOCK_DB", str(tmp_path / "env.sqlite"))
    from_env = MockErpConnector()
    assert len(everything(from_env, conn(), "customer")) == 12
    assert (tmp_path / "env.sqlite").exists()
    explicit = MockErpConnector(customers=12, seed=5)
    assert everything(explicit, conn(), "customer") == everything(from_env, conn(), "customer")
    monkeypatch.setenv("ERPSYNC_MOCK_CUSTOMERS", "lots")
    with pytest.raises(ValueError, match="ERPSYNC_MOCK_CUSTOMERS"):
        MockErpConnector()
    monkeypatch.setenv("ERPSYNC_MOCK_CUSTOMERS", "-1")
    with pytest.raises(ValueError, match="between"):
        MockErpConnector()


def test_mock_server_reports_bad_settings_as_one_line(invoke: Any) -> None:
    result = invoke(
        "mock-server", "--no-auth", "--port", "0", env={"ERPSYNC_MOCK_SEED": "forty-two"}
    )
    assert result.exit_code != 0
    assert "ERPSYNC_MOCK_SEED" in result.stderr and "Traceback" not in result.stderr


# --- over HTTP, in process -------------------------------------------------------------------


def in_process_client(app: Any, **kwargs: Any) -> ConnectorClient:
    transport = httpx.ASGITransport(app=app)
    return ConnectorClient("http://mock.test/connectors/mock", transport=transport, **kwargs)


def test_the_whole_contract_over_http() -> None:
    from host.server import create_app

    app = create_app({"mock": MockErpConnector(customers=25, seed=4)}, token=None)
    guid = str(uuid.uuid4())

    async def go() -> None:
        async with in_process_client(app, retries=0) as client:
            for name, items in LISTS.items():
                assert await client.get_list(ALL_ZERO_GUID, name) == items
            assert (await client.save_connection(guid, MOCK_CONFIG)).ok
            assert (await client.test_connection(guid)).ok
            assert await client.actor_types(guid) == list(SCHEMAS)
            created = await client.create_actor(
                guid, Actor("customer", field_values={"NAME": "Via HTTP AS", "ACTIVE": False})
            )
            assert created.erp_key == "26" and created.field_values["ACTIVE"] is False
            streamed = [
                a
                async for a in client.changed_since(
                    guid, "customer", page_size=7, field_keys=["NAME"]
                )
            ]
            assert [a.erp_key for a in streamed] == [str(n) for n in range(1, 27)]
            with pytest.raises(CallFailed) as caught:
                await client.save_actors(guid, [Actor("customer", "404", field_values={})])
            assert caught.value.response.error_code == "unknown_actor"
            found = await client.search_advanced(
                guid, "customer", [Restriction("ACTIVE", "=", ("false",))], ["NAME"]
            )
            assert "26" in [a.erp_key for a in found]

    asyncio.run(go())


# --- fault injection -----------------------------------------------------------------------


async def _tiny_app(scope: Any, receive: Any, send: Any) -> None:
    body = json.dumps({"ok": True, "state": "ok", "data": {"n": list(range(50))}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _statuses(app: Any, count: int) -> list[int]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        return [(await c.get("/")).status_code for _ in range(count)]


def test_error_rate_is_seeded_and_answers_html_500() -> None:
    first = asyncio.run(_statuses(FaultInjector(_tiny_app, error_rate=0.3, seed=11), 60))
    again = asyncio.run(_statuses(FaultInjector(_tiny_app, error_rate=0.3, seed=11), 60))
    other = asyncio.run(_statuses(FaultInjector(_tiny_app, error_rate=0.3, seed=12), 60))
    assert first == again and first != other
    assert set(first) == {200, 500} and 5 <= first.count(500) <= 35
    assert set(asyncio.run(_statuses(FaultInjector(_tiny_app, error_rate=1.0), 5))) == {500}
    assert set(asyncio.run(_statuses(FaultInjector(_tiny_app, error_rate=0.0), 5))) == {200}

    async def one() -> httpx.Response:
        app = FaultInjector(_tiny_app, error_rate=1.0)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://x"
        ) as c:
            return await c.get("/")

    answer = asyncio.run(one())
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["x-erpsync-fault"] == "mock_fault" and "mock_fault" in answer.text


def test_latency_delays_every_request() -> None:
    started = time.perf_counter()
    assert asyncio.run(_statuses(FaultInjector(_tiny_app, latency=0.15), 2)) == [200, 200]
    assert time.perf_counter() - started >= 0.3


def test_slow_body_trickles_the_real_body() -> None:
    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append({**message, "at": time.perf_counter()})

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    app = FaultInjector(_tiny_app, fail=["slow-body"], slow_body_seconds=0.3)
    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    asyncio.run(app(scope, receive, send))
    start, *bodies = messages
    assert start["type"] == "http.response.start" and len(bodies) >= 5
    assert [m["more_body"] for m in bodies] == [True] * (len(bodies) - 1) + [False]
    assert bodies[-1]["at"] - start["at"] >= 0.25  # headers first, the body later
    body = b"".join(m["body"] for m in bodies)
    assert json.loads(body)["data"]["n"] == list(range(50))
    assert dict(start["headers"])[b"content-length"] == str(len(body)).encode()


def test_malformed_json_and_wrong_version_in_process() -> None:
    from host.server import create_app

    inner = create_app({"mock": MockErpConnector(customers=5)}, token=None)

    async def go(kind: str) -> None:
        app = FaultInjector(inner, fail=[kind])
        async with in_process_client(app, retries=0) as client:
            if kind == "wrong-version":
                with pytest.raises(ProtocolError, match=r"'9\.0'"):
                    await client.info()
                assert await client.get_list(ALL_ZERO_GUID, "currencies") == LISTS["currencies"]
            else:
                with pytest.raises(ProtocolError, match="without a JSON body"):
                    await client.get_list(ALL_ZERO_GUID, "currencies")

    asyncio.run(go("wrong-version"))
    asyncio.run(go("malformed-json"))


def test_unknown_fault_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="explode"):
        FaultInjector(_tiny_app, fail=["explode"])


def test_mock_server_wraps_the_app_only_when_asked() -> None:
    from host.cli.serve import _fault_wrapper, mock_server

    fail = next(p for p in mock_server.params if p.name == "fail_kinds")
    assert isinstance(fail.type, click.Choice) and tuple(fail.type.choices) == FAIL_KINDS
    assert _fault_wrapper(0.0, 0.0, (), 42) is None
    wrap = _fault_wrapper(0.0, 0.0, ("drop",), 42)
    assert wrap is not None and isinstance(wrap(_tiny_app), FaultInjector)


def _erpsync() -> list[str]:
    script = Path(sys.executable).with_name("erpsync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "host.cli"]


def _first_line(process: subprocess.Popen[str], timeout: float = 30) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stream = process.stdout
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout).strip()
    except queue.Empty:
        return ""


def _wait_until_answering(url: str) -> None:
    """Until uvicorn answers at all: headers, or (for drop) a closed connection."""
    with httpx.Client(timeout=30) as http:
        try:
            with http.stream("GET", url + "/v1/info"):
                pass  # headers arrived; the (maybe trickling) body is not waited for
        except httpx.RemoteProtocolError:
            pass  # --fail drop: the server answered by hanging up


@pytest.fixture(scope="module")
def faulty_servers() -> Iterator[dict[str, str]]:
    """One real `erpsync mock-server --port 0 --no-auth --fail KIND` per kind, started at once."""
    processes = {
        kind: subprocess.Popen(
            [*_erpsync(), "mock-server", "--port", "0", "--no-auth", "--fail", kind],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env_without_erpsync(),
        )
        for kind in FAIL_KINDS
    }
    try:
        urls = {}
        for kind, process in processes.items():
            line = _first_line(process)
            prefix = "serving connector mock at http://127.0.0.1:"
            assert line.startswith(prefix) and line.endswith("/connectors/mock"), line
            urls[kind] = line.removeprefix("serving connector mock at ")
        for url in urls.values():
            _wait_until_answering(url)
        yield urls
    finally:
        for process in processes.values():
            stop_process(process)


@pytest.mark.slow  # seven real server processes; the slow-body one takes ~5 s to stop
@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("http500", ProtocolError),
        ("malformed-json", ProtocolError),
        ("slow-body", ConnectorUnreachable),
        ("drop", ConnectorUnreachable),
        ("wrong-version", ProtocolError),
        ("reject-token", Unauthorized),
    ],
)
def test_the_client_classifies_each_fault_of_a_real_mock_server(
    faulty_servers: dict[str, str], kind: str, expected: type[Exception]
) -> None:
    # For slow-body, a timeout shorter than its pauses (0.5 s); no retries keep this quick.
    timeout = 0.3 if kind == "slow-body" else 10

    async def go() -> BaseException:
        async with ConnectorClient(faulty_servers[kind], timeout=timeout, retries=0) as client:
            with pytest.raises(expected) as caught:
                await client.info()
            return caught.value

    error = asyncio.run(go())
    assert type(error) is expected
    if kind == "drop":  # closed with no response at all, not a 500 from uvicorn
        assert isinstance(error.__cause__, httpx.RemoteProtocolError)
        assert "without sending a response" in str(error.__cause__)
    if kind == "http500":
        assert "HTTP 500" in str(error)


@pytest.mark.slow
def test_slow_body_arrives_whole_for_a_patient_client(faulty_servers: dict[str, str]) -> None:
    async def go() -> dict[str, Any]:
        async with ConnectorClient(faulty_servers["slow-body"], timeout=10, retries=0) as client:
            return await client.info()

    started = time.perf_counter()
    assert asyncio.run(go())["id"] == "mock"
    assert time.perf_counter() - started >= 4  # trickled over about five seconds
