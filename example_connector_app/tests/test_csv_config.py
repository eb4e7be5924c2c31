"""Config fields, lists and the checks of test_config, each failure named exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from csv_support import SAMPLE_DIR, WriteExport, connection
from host import ALL_ZERO_GUID, Access, Connection, ConnectorError, FieldType, State
from host.pytest_plugin import load_connector

from erpsync_example_csv import CsvErpConnector

MINIMAL_CUSTOMERS = "ERP_KEY,NAME,LAST_MODIFIED\nC1,Acme,2025-01-01T00:00:00Z\n"


def test_declaration_is_valid_for_the_host(connector: CsvErpConnector) -> None:
    # The host checks the declaration when it loads the installed app; a problem raises here.
    assert isinstance(load_connector("example-csv"), CsvErpConnector)
    info = connector.info()
    assert (info["id"], info["name"], info["vendor"]) == (
        "example-csv",
        "CSV export ERP",
        "erpsync examples",
    )


def test_config_fields(connector: CsvErpConnector) -> None:
    fields = {f.key: f for f in connector.get_config_fields()}
    assert list(fields) == [
        "directory",
        "delimiter",
        "decimal_separator",
        "encoding",
        "expected_files",
    ]
    directory = fields["directory"]
    assert (directory.type, directory.access, directory.max_length) == (
        FieldType.TEXT,
        Access.MANDATORY,
        500,
    )
    assert directory.display_name == "Export directory"
    assert (fields["delimiter"].type, fields["delimiter"].list_name) == (
        FieldType.LIST,
        "delimiters",
    )
    assert fields["delimiter"].default == "comma"
    assert fields["decimal_separator"].list_name == "decimal_separators"
    assert fields["decimal_separator"].default == "."
    assert (fields["encoding"].type, fields["encoding"].default) == (FieldType.TEXT, "utf-8")
    assert fields["expected_files"].type is FieldType.LABEL
    assert "customers.csv" in fields["expected_files"].display_name


def test_lists_answer_for_the_all_zero_guid_without_config(connector: CsvErpConnector) -> None:
    blank = Connection(ALL_ZERO_GUID, {})
    assert list(connector.get_list(blank, "delimiters")) == ["comma", "semicolon", "tab", "pipe"]
    assert list(connector.get_list(blank, "decimal_separators")) == [".", ","]
    assert connector.get_list_items(blank, "delimiters", ["tab", "nope"]) == {"tab": "Tab"}
    with pytest.raises(ConnectorError) as caught:
        connector.get_list(blank, "currencies")
    assert caught.value.response.error_code == "unknown_list"


def test_sample_export_passes_and_counts_actors(
    connector: CsvErpConnector, sample_config: dict
) -> None:
    result = connector.test_config(sample_config)
    assert result.state is State.OK
    assert result.user_explanation == (
        f"Read 6 customers, 5 persons and 3 projects from {SAMPLE_DIR}."
    )


def test_test_connection_uses_the_saved_config(
    connector: CsvErpConnector, sample_config: dict
) -> None:
    assert connector.test_connection(connection(sample_config)).ok


def test_only_customers_is_enough_and_says_what_is_missing(
    connector: CsvErpConnector, write_export: WriteExport
) -> None:
    directory = write_export({"customers.csv": MINIMAL_CUSTOMERS})
    result = connector.test_config({"directory": str(directory)})
    assert result.state is State.OK_WITH_INFO
    assert result.user_explanation == (
        f"Read 1 customer from {directory}. persons.csv and projects.csv are not there, "
        "so only customers can be synced."
    )


def test_empty_directory_setting(connector: CsvErpConnector) -> None:
    result = connector.test_config({"directory": "  "})
    assert (result.ok, result.error_code) == (False, "directory_missing")
    assert "Export directory is empty" in result.user_explanation


def test_missing_directory(connector: CsvErpConnector, tmp_path: Path) -> None:
    result = connector.test_config({"directory": str(tmp_path / "nowhere")})
    assert (result.ok, result.error_code) == (False, "directory_missing")
    assert result.user_explanation == f"Export directory {tmp_path / 'nowhere'} does not exist."


def test_directory_is_a_file(connector: CsvErpConnector) -> None:
    path = SAMPLE_DIR / "customers.csv"
    result = connector.test_config({"directory": str(path)})
    assert (result.ok, result.error_code) == (False, "not_a_directory")
    assert str(path) in result.user_explanation


def test_missing_customers_file(connector: CsvErpConnector, tmp_path: Path) -> None:
    result = connector.test_config({"directory": str(tmp_path)})
    assert (result.ok, result.error_code) == (False, "file_missing")
    assert result.user_explanation == f"customers.csv is missing in {tmp_path}."


def test_wrong_delimiter_names_the_columns_found(
    connector: CsvErpConnector, sample_config: dict
) -> None:
    result = connector.test_config({**sample_config, "delimiter": "semicolon"})
    assert (result.ok, result.error_code) == (False, "missing_column")
    assert result.user_explanation.startswith(
        "customers.csv has no columns ERP_KEY, NAME, LAST_MODIFIED (found: ERP_KEY,NAME,"
    )
    assert result.user_explanation.endswith(
        "The file looks comma-separated: check the Delimiter setting."
    )


def test_missing_required_column(connector: CsvErpConnector, write_export: WriteExport) -> None:
    directory = write_export({"customers.csv": "ERP_KEY,LAST_MODIFIED\nC1,2025-01-01T00:00:00Z\n"})
    result = connector.test_config({"directory": str(directory)})
    assert result.error_code == "missing_column"
    assert (
        result.user_explanation
        == "customers.csv has no column NAME (found: ERP_KEY,LAST_MODIFIED)."
    )


def test_row_with_too_few_columns(connector: CsvErpConnector, write_export: WriteExport) -> None:
    directory = write_export({"customers.csv": MINIMAL_CUSTOMERS + "C2,Beta\n"})
    result = connector.test_config({"directory": str(directory)})
    assert (result.ok, result.error_code) == (False, "parse_error")
    assert result.user_explanation == "customers.csv line 3: expected 3 columns, found 2."


def test_unterminated_quote(connector: CsvErpConnector, write_export: WriteExport) -> None:
    directory = write_export({"customers.csv": 'ERP_KEY,NAME,LAST_MODIFIED\nC1,"Acme,2025\n'})
    result = connector.test_config({"directory": str(directory)})
    assert result.error_code == "parse_error"
    assert result.user_explanation.startswith("customers.csv line ")


def test_empty_file(connector: CsvErpConnector, write_export: WriteExport) -> None:
    directory = write_export({"customers.csv": "\n"})
    result = connector.test_config({"directory": str(directory)})
    assert result.error_code == "parse_error"
    assert result.user_explanation == "customers.csv is empty: it needs a header row."


def test_errors_in_optional_files_are_reported_too(
    connector: CsvErpConnector, sample_copy: Path
) -> None:
    (sample_copy / "projects.csv").write_text("ERP_KEY,LAST_MODIFIED\n", encoding="utf-8")
    result = connector.test_config({"directory": str(sample_copy)})
    assert result.error_code == "missing_column"
    assert result.user_explanation.startswith("projects.csv has no column NAME")


def test_wrong_encoding_names_the_byte(
    connector: CsvErpConnector, write_export: WriteExport
) -> None:
    text = "ERP_KEY,NAME,LAST_MODIFIED\nC1,Bjørnøya AS,2025-01-01T00:00:00Z\n"
    directory = write_export({"customers.csv": text}, encoding="latin-1")
    offset = text.index("ø")  # all ASCII before it, so characters = bytes
    result = connector.test_config({"directory": str(directory)})
    assert (result.ok, result.error_code) == (False, "bad_encoding")
    assert result.user_explanation.startswith(
        f"cannot decode customers.csv as utf-8 at byte {offset} (line 2)"
    )

    right = connector.test_config({"directory": str(directory), "encoding": "latin-1"})
    assert right.ok, right.user_explanation
    [actor] = connector.get_actors(
        connection({"directory": str(directory), "encoding": "latin-1"}), "customer", ["C1"], []
    )
    assert actor.field_values["NAME"] == "Bjørnøya AS"


@pytest.mark.parametrize("encoding", ["utf-99", "base64"])
def test_unknown_encoding(connector: CsvErpConnector, sample_config: dict, encoding: str) -> None:
    result = connector.test_config({**sample_config, "encoding": encoding})
    assert (result.ok, result.error_code) == (False, "unknown_encoding")
    assert repr(encoding) in result.user_explanation


def test_utf8_byte_order_mark_is_not_part_of_the_header(
    connector: CsvErpConnector, write_export: WriteExport
) -> None:
    directory = write_export({"customers.csv": "\ufeff" + MINIMAL_CUSTOMERS})
    assert connector.test_config({"directory": str(directory)}).ok


SEMICOLON_CUSTOMERS = (
    "ERP_KEY;NAME;POSTALCITY;CREDIT_LIMIT;LAST_MODIFIED\n"
    "K-1;Fjord Bygg AS;Bergen;1234,50;2025-05-01T10:00:00Z\n"
    "K-2;Ålesund Rør AS;Ålesund;-20;2025-05-02T10:00:00Z\n"
    "K-3;Tom Kreditt AS;Oslo;;2025-05-03T10:00:00Z\n"
)


def test_semicolon_and_decimal_comma(connector: CsvErpConnector, write_export: WriteExport) -> None:
    directory = write_export({"customers.csv": SEMICOLON_CUSTOMERS})
    config = {"directory": str(directory), "delimiter": "semicolon", "decimal_separator": ","}
    result = connector.test_config(config)
    assert result.ok, result.user_explanation
    actors = connector.get_actors(connection(config), "customer", ["K-1", "K-2", "K-3"], [])
    assert [a.field_values["CREDIT_LIMIT"] for a in actors] == [1234.5, -20.0, None]
    assert actors[1].field_values["NAME"] == "Ålesund Rør AS"


def test_decimal_comma_read_with_point_is_a_bad_value(
    connector: CsvErpConnector, write_export: WriteExport
) -> None:
    directory = write_export({"customers.csv": SEMICOLON_CUSTOMERS})
    result = connector.test_config({"directory": str(directory), "delimiter": "semicolon"})
    assert (result.ok, result.error_code) == (False, "bad_value")
    assert result.user_explanation.startswith(
        "customers.csv line 2: CREDIT_LIMIT '1234,50' is not a number with decimal separator '.'"
    )


def test_bare_delimiter_character_is_accepted(
    connector: CsvErpConnector, write_export: WriteExport
) -> None:
    directory = write_export({"customers.csv": MINIMAL_CUSTOMERS.replace(",", "|")})
    assert connector.test_config({"directory": str(directory), "delimiter": "|"}).ok
    assert connector.test_config({"directory": str(directory), "delimiter": "pipe"}).ok


def test_unknown_delimiter(connector: CsvErpConnector, sample_config: dict) -> None:
    result = connector.test_config({**sample_config, "delimiter": "space"})
    assert (result.ok, result.error_code) == (False, "invalid_config")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("C1,Acme,2025-01-01 00:00", "line 2: LAST_MODIFIED '2025-01-01 00:00' is not a UTC time"),
        ("C1,Acme,2025-02-30T00:00:00Z", "line 2: LAST_MODIFIED '2025-02-30T00:00:00Z'"),
        (",Acme,2025-01-01T00:00:00Z", "line 2: ERP_KEY is empty."),
        ("C1,,2025-01-01T00:00:00Z", "line 2: NAME is empty."),
    ],
)
def test_bad_values(
    connector: CsvErpConnector, write_export: WriteExport, row: str, message: str
) -> None:
    directory = write_export({"customers.csv": f"ERP_KEY,NAME,LAST_MODIFIED\n{row}\n"})
    result = connector.test_config({"directory": str(directory)})
    assert (result.ok, result.error_code) == (False, "bad_value")
    assert result.user_explanation.startswith(f"customers.csv {message}")


def test_duplicate_erp_key(connector: CsvErpConnector, write_export: WriteExport) -> None:
    directory = write_export(
        {"customers.csv": MINIMAL_CUSTOMERS + "C1,Other,2025-01-02T00:00:00Z\n"}
    )
    result = connector.test_config({"directory": str(directory)})
    assert result.error_code == "bad_value"
    assert (
        result.user_explanation
        == "customers.csv line 3: ERP_KEY C1 appears twice (first on line 2)."
    )


def test_bad_end_date(connector: CsvErpConnector, sample_copy: Path) -> None:
    (sample_copy / "projects.csv").write_text(
        "ERP_KEY,NAME,ENDDATE,LAST_MODIFIED\nPR1,X,31.12.2025,2025-01-01T00:00:00Z\n",
        encoding="utf-8",
    )
    result = connector.test_config({"directory": str(sample_copy)})
    assert result.error_code == "bad_value"
    assert result.user_explanation.startswith("projects.csv line 2: ENDDATE '31.12.2025'")


def test_person_of_an_unknown_customer_is_a_warning(
    connector: CsvErpConnector, sample_copy: Path
) -> None:
    with (sample_copy / "persons.csv").open("a", encoding="utf-8") as out:
        out.write("P9999,C4040,Nils,Ukjent,,,,2025-05-01T00:00:00Z\n")
    result = connector.test_config({"directory": str(sample_copy)})
    assert result.state is State.WARNING
    assert result.ok
    assert "persons.csv line 7: CUSTOMER_KEY C4040 is not in customers.csv." in (
        result.user_explanation
    )
