"""Actor types, fields, get and search, against the sample export."""

from __future__ import annotations

from pathlib import Path

import pytest
from csv_support import WriteExport, connection
from host import Access, ConnectorError, FieldType

from erpsync_example_csv import CsvErpConnector

CUSTOMER_FIELDS = [
    "NAME",
    "POSTALAD1",
    "POSTALZIP",
    "POSTALCITY",
    "COUNTRY",
    "EMAIL",
    "PHONE",
    "VATNO",
    "CREDIT_LIMIT",
]


@pytest.fixture
def sample(sample_config: dict):
    return connection(sample_config)


def keys(actors) -> list[str]:
    return [a.erp_key for a in actors]


def test_actor_types_follow_the_files(
    connector: CsvErpConnector, sample, sample_copy: Path
) -> None:
    assert connector.actor_types(sample) == ["customer", "person", "project"]
    (sample_copy / "persons.csv").unlink()
    assert connector.actor_types(connection({"directory": str(sample_copy)})) == [
        "customer",
        "project",
    ]


def test_actor_types_of_a_missing_directory(connector: CsvErpConnector, tmp_path: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        connector.actor_types(connection({"directory": str(tmp_path / "gone")}))
    assert caught.value.response.error_code == "directory_missing"


def test_customer_fields(connector: CsvErpConnector, sample) -> None:
    fields = connector.actor_fields(sample, "customer")
    assert [f.key for f in fields] == CUSTOMER_FIELDS
    by_key = {f.key: f for f in fields}
    assert by_key["NAME"].access is Access.MANDATORY
    assert by_key["EMAIL"].access is Access.NORMAL
    assert by_key["CREDIT_LIMIT"].type is FieldType.DOUBLE
    assert [f.rank for f in fields] == sorted(f.rank for f in fields)


def test_person_and_project_fields(connector: CsvErpConnector, sample) -> None:
    persons = {f.key: f for f in connector.actor_fields(sample, "person")}
    assert list(persons) == ["FIRSTNAME", "LASTNAME", "EMAIL", "PHONE_MOBILE", "POSITION"]
    assert persons["LASTNAME"].access is Access.MANDATORY
    projects = {f.key: f for f in connector.actor_fields(sample, "project")}
    assert list(projects) == ["NAME", "ENDDATE", "TEXT"]
    assert projects["ENDDATE"].type is FieldType.DATETIME


def test_fields_are_only_the_columns_the_export_has(
    connector: CsvErpConnector, write_export: WriteExport
) -> None:
    directory = write_export(
        {"customers.csv": "LAST_MODIFIED,NAME,ERP_KEY,EXTRA\n2025-01-01T00:00:00Z,Acme,C1,x\n"}
    )
    conn = connection({"directory": str(directory)})
    assert [f.key for f in connector.actor_fields(conn, "customer")] == ["NAME"]
    [actor] = connector.get_actors(conn, "customer", ["C1"], [])
    assert actor.field_values == {"NAME": "Acme"}


def test_searchable_fields_are_the_text_fields(connector: CsvErpConnector, sample) -> None:
    assert connector.searchable_fields(sample, "customer") == CUSTOMER_FIELDS[:-1]
    assert connector.searchable_fields(sample, "project") == ["NAME", "TEXT"]


def test_unknown_actor_type(connector: CsvErpConnector, sample) -> None:
    with pytest.raises(ConnectorError) as caught:
        connector.actor_fields(sample, "supplier")
    assert caught.value.response.error_code == "unknown_actor_type"


def test_type_whose_file_is_absent(connector: CsvErpConnector, sample_copy: Path) -> None:
    (sample_copy / "projects.csv").unlink()
    with pytest.raises(ConnectorError) as caught:
        connector.get_actors(connection({"directory": str(sample_copy)}), "project", ["PR3001"], [])
    assert caught.value.response.error_code == "file_missing"


def test_get_actors_in_the_order_asked(connector: CsvErpConnector, sample) -> None:
    actors = connector.get_actors(
        sample, "customer", ["C1005", "NOPE", "C1002"], ["NAME", "CREDIT_LIMIT"]
    )
    assert keys(actors) == ["C1005", "C1002"]
    assert actors[0].field_values == {"NAME": "Société Générale de Test", "CREDIT_LIMIT": 7500.75}
    assert actors[1].last_modified == "2025-01-10T08:00:00Z"
    assert actors[1].parent_actor_type == ""


def test_values_keep_quoted_delimiters_and_empty_cells(connector: CsvErpConnector, sample) -> None:
    [acme] = connector.get_actors(sample, "customer", ["C1004"], [])
    assert acme.field_values["POSTALAD1"] == "Unit 4, Riverside Park"
    assert acme.field_values["CREDIT_LIMIT"] is None
    [vinter] = connector.get_actors(sample, "customer", ["C1006"], ["EMAIL", "CREDIT_LIMIT"])
    assert vinter.field_values == {"EMAIL": "", "CREDIT_LIMIT": 0.0}


def test_unknown_field_key(connector: CsvErpConnector, sample) -> None:
    with pytest.raises(ConnectorError) as caught:
        connector.get_actors(sample, "customer", ["C1001"], ["NAME", "FAX"])
    assert caught.value.response.error_code == "unknown_field"
    assert "FAX" in caught.value.response.user_explanation


def test_persons_carry_their_customer(connector: CsvErpConnector, sample) -> None:
    [person] = connector.get_actors(sample, "person", ["P2003"], [])
    assert (person.parent_actor_type, person.parent_erp_key) == ("customer", "C1002")
    assert person.field_values["LASTNAME"] == "Ødegård"
    assert "CUSTOMER_KEY" not in person.field_values


def test_project_end_date(connector: CsvErpConnector, sample) -> None:
    actors = connector.get_actors(sample, "project", ["PR3001", "PR3003"], ["ENDDATE"])
    assert [a.field_values["ENDDATE"] for a in actors] == ["2025-06-30", None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["C1001", "C1002", "C1003", "C1004", "C1005", "C1006"]),
        ("   ", ["C1001", "C1002", "C1003", "C1004", "C1005", "C1006"]),
        ("TROMSØ", ["C1002"]),  # city, case-insensitive, non-ASCII
        ("müller", ["C1003"]),
        ("& ", ["C1003", "C1006"]),
        ("c1004", ["C1004"]),  # the ERP key
        ("@nordlys.example", ["C1001"]),
        ("NO", ["C1001", "C1002", "C1006"]),  # country NO / VAT number; not "Nordlys" twice
        ("atlantis", []),
    ],
)
def test_search(connector: CsvErpConnector, sample, text: str, expected: list[str]) -> None:
    assert keys(connector.search_actors(sample, "customer", text, [])) == expected


def test_search_returns_the_fields_asked(connector: CsvErpConnector, sample) -> None:
    [actor] = connector.search_actors(sample, "customer", "vinter", ["POSTALCITY"])
    assert actor.field_values == {"POSTALCITY": "Trondheim"}


def test_search_by_parent(connector: CsvErpConnector, sample) -> None:
    persons = connector.search_by_parent(sample, "person", "", "customer", "C1001", [])
    assert keys(persons) == ["P2001", "P2002"]
    assert keys(connector.search_by_parent(sample, "person", "KARI", "customer", "C1001", [])) == [
        "P2001"
    ]
    assert connector.search_by_parent(sample, "person", "", "customer", "C1006", []) == []
    assert connector.search_by_parent(sample, "customer", "", "customer", "C1001", []) == []
