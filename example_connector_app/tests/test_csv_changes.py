"""changed_since: the polling primitive of sync, paged with an opaque cursor."""

from __future__ import annotations

from pathlib import Path

import pytest
from csv_support import connection
from host import Actor, ConnectorError

from erpsync_example_csv import CsvErpConnector

CUSTOMERS_IN_ORDER = [
    ("2025-01-10T08:00:00Z", "C1002"),
    ("2025-02-03T09:30:00Z", "C1003"),
    ("2025-02-03T09:30:00Z", "C1004"),  # same stamp as C1003: a tie across a page boundary
    ("2025-03-15T14:00:00Z", "C1001"),
    ("2025-03-15T14:00:00Z", "C1005"),
    ("2025-04-01T07:15:00Z", "C1006"),
]


def all_pages(connector: CsvErpConnector, conn, actor_type: str, since: str, limit: int):
    """Every page, following the cursor; asserts only the last page has no cursor."""
    pages: list[list[Actor]] = []
    cursor = ""
    while True:
        page = connector.changed_since(conn, actor_type, since, [], cursor, limit)
        pages.append(page.actors)
        assert len(page.actors) <= limit
        if not page.cursor:
            return pages
        assert len(page.actors) == limit
        cursor = page.cursor


def test_paging_by_two_returns_every_customer_once_in_order(
    connector: CsvErpConnector, sample_config: dict
) -> None:
    pages = all_pages(connector, connection(sample_config), "customer", "", 2)
    assert [[a.erp_key for a in page] for page in pages] == [
        ["C1002", "C1003"],
        ["C1004", "C1001"],
        ["C1005", "C1006"],
    ]
    flat = [(a.last_modified, a.erp_key) for page in pages for a in page]
    assert flat == CUSTOMERS_IN_ORDER


@pytest.mark.parametrize("actor_type", ["customer", "person", "project"])
@pytest.mark.parametrize("limit", [1, 2, 3, 1000])
def test_no_gaps_no_repeats_for_any_page_size(
    connector: CsvErpConnector, sample_config: dict, actor_type: str, limit: int
) -> None:
    conn = connection(sample_config)
    everything = connector.search_actors(conn, actor_type, "", [])
    pages = all_pages(connector, conn, actor_type, "", limit)
    seen = [(a.last_modified, a.erp_key) for page in pages for a in page]
    assert seen == sorted((a.last_modified, a.erp_key) for a in everything)
    assert len(set(seen)) == len(seen)


@pytest.mark.parametrize(
    "since",
    ["2025-03-15T14:00:00Z", "2025-03-15T16:00:00+02:00", "2025-03-15T14:00:00"],
)
def test_since_is_inclusive_and_read_as_utc(
    connector: CsvErpConnector, sample_config: dict, since: str
) -> None:
    page = connector.changed_since(connection(sample_config), "customer", since, [], "", 100)
    assert [a.erp_key for a in page.actors] == ["C1001", "C1005", "C1006"]
    assert page.cursor == ""


def test_since_a_date(connector: CsvErpConnector, sample_config: dict) -> None:
    page = connector.changed_since(connection(sample_config), "project", "2025-03-01", [], "", 100)
    assert [a.erp_key for a in page.actors] == ["PR3002", "PR3003"]


def test_since_after_everything(connector: CsvErpConnector, sample_config: dict) -> None:
    page = connector.changed_since(
        connection(sample_config), "customer", "2030-01-01T00:00:00Z", [], "", 5
    )
    assert (page.actors, page.cursor) == ([], "")


def test_changes_return_the_fields_asked(connector: CsvErpConnector, sample_config: dict) -> None:
    page = connector.changed_since(connection(sample_config), "person", "", ["LASTNAME"], "", 1)
    [person] = page.actors
    assert person.field_values == {"LASTNAME": "Hansen"}
    assert (person.parent_actor_type, person.parent_erp_key) == ("customer", "C1001")


def test_an_export_written_between_pages_is_not_repeated(
    connector: CsvErpConnector, sample_copy: Path
) -> None:
    conn = connection({"directory": str(sample_copy)})
    first = connector.changed_since(conn, "customer", "", [], "", 3)
    with (sample_copy / "customers.csv").open("a", encoding="utf-8") as out:
        out.write("C1000,Late Arrival AS,,,,,,,,,2025-05-01T00:00:00Z\n")
    rest = connector.changed_since(conn, "customer", "", [], first.cursor, 100)
    keys = [a.erp_key for a in first.actors + rest.actors]
    assert keys == ["C1002", "C1003", "C1004", "C1001", "C1005", "C1006", "C1000"]


@pytest.mark.parametrize("cursor", ["not a cursor", "WyJvbmx5LW9uZSJd", "e30="])
def test_invalid_cursor(connector: CsvErpConnector, sample_config: dict, cursor: str) -> None:
    with pytest.raises(ConnectorError) as caught:
        connector.changed_since(connection(sample_config), "customer", "", [], cursor, 2)
    assert caught.value.response.error_code == "invalid_cursor"


def test_bad_since(connector: CsvErpConnector, sample_config: dict) -> None:
    with pytest.raises(ConnectorError) as caught:
        connector.changed_since(connection(sample_config), "customer", "yesterday", [], "", 2)
    assert caught.value.response.error_code == "invalid_stamp"


def test_limit_must_be_positive(connector: CsvErpConnector, sample_config: dict) -> None:
    with pytest.raises(ConnectorError) as caught:
        connector.changed_since(connection(sample_config), "customer", "", [], "", 0)
    assert caught.value.response.error_code == "invalid_request"
