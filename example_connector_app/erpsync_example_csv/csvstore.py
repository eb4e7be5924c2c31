"""Read and validate the CSV files the ERP exports.

This module knows the files (names, columns, value formats) and nothing of the connector
operations: `connector.py` turns what it reads into actors. Every problem is raised as a
`CsvStoreError` whose message names the file, the line and what is wrong, because the admin
reading it in the "Test ERP connection" dialog cannot see the files.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from host import ConnectorError

from erpsync_example_csv.confine import NOT_ALLOWED, OutsideRoot, confine_directory, confine_file

KEY_COLUMN = "ERP_KEY"
STAMP_COLUMN = "LAST_MODIFIED"

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
STAMP_EXAMPLE = "2025-01-31T12:00:00Z"
# One fixed shape, so that comparing stamps as strings orders them in time.
_STAMP_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")

DELIMITERS: dict[str, tuple[str, str]] = {
    "comma": (",", "Comma ( , )"),
    "semicolon": (";", "Semicolon ( ; )"),
    "tab": ("\t", "Tab"),
    "pipe": ("|", "Pipe ( | )"),
}
"""Config key -> (character, display text). Keys, not characters, are stored in the config."""

DEFAULT_DELIMITER = "comma"

DECIMAL_SEPARATORS: dict[str, str] = {
    ".": "Point (1234.56)",
    ",": "Comma (1234,56)",
}
DEFAULT_DECIMAL_SEPARATOR = "."
DEFAULT_ENCODING = "utf-8"


class CsvStoreError(ConnectorError):
    """A problem with the settings or the files, worded for the admin, with a stable code.

    It is a `host.ConnectorError`, so a connector operation can let it propagate and the host
    answers it as an error response; `test_config` returns `.response` instead.
    """

    def __init__(self, user_explanation: str, error_code: str, tech_explanation: str = ""):
        super().__init__(user_explanation, tech_explanation, error_code)
        self.error_code = error_code


# --- what the files hold ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One data column of a file; it becomes one actor field of the same key."""

    key: str
    display_name: str
    kind: str = "text"  # "text", "number" (decimal separator applies) or "date" (YYYY-MM-DD)
    required: bool = False  # the header must have it
    mandatory: bool = False  # every row must fill it
    description: str = ""


@dataclass(frozen=True)
class FileSpec:
    """One export file: which actor type it holds and its columns besides key and stamp."""

    actor_type: str
    filename: str
    required_file: bool
    columns: tuple[Column, ...]
    parent_column: str = ""
    parent_actor_type: str = ""

    @property
    def required_columns(self) -> list[str]:
        parent = [self.parent_column] if self.parent_column else []
        required = [c.key for c in self.columns if c.required]
        return [KEY_COLUMN, *parent, *required, STAMP_COLUMN]


CUSTOMERS = FileSpec(
    actor_type="customer",
    filename="customers.csv",
    required_file=True,
    columns=(
        Column("NAME", "Name", required=True, mandatory=True, description="Company name"),
        Column("POSTALAD1", "Postal address"),
        Column("POSTALZIP", "Postal code"),
        Column("POSTALCITY", "Postal city"),
        Column("COUNTRY", "Country", description="ISO 3166 country code, e.g. NO"),
        Column("EMAIL", "E-mail"),
        Column("PHONE", "Phone"),
        Column("VATNO", "VAT number"),
        Column("CREDIT_LIMIT", "Credit limit", kind="number"),
    ),
)

PERSONS = FileSpec(
    actor_type="person",
    filename="persons.csv",
    required_file=False,
    columns=(
        Column("FIRSTNAME", "First name", required=True),
        Column("LASTNAME", "Last name", required=True, mandatory=True),
        Column("EMAIL", "E-mail"),
        Column("PHONE_MOBILE", "Mobile phone"),
        Column("POSITION", "Position"),
    ),
    parent_column="CUSTOMER_KEY",
    parent_actor_type="customer",
)

PROJECTS = FileSpec(
    actor_type="project",
    filename="projects.csv",
    required_file=False,
    columns=(
        Column("NAME", "Name", required=True, mandatory=True),
        Column("ENDDATE", "End date", kind="date", description="YYYY-MM-DD"),
        Column("TEXT", "Description"),
    ),
)

SPECS: dict[str, FileSpec] = {spec.actor_type: spec for spec in (CUSTOMERS, PERSONS, PROJECTS)}
"""Actor type -> its file, in the order the connector offers them."""


# --- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The connection's config values, checked and turned into what the reader needs."""

    directory: Path
    delimiter: str
    decimal_separator: str
    encoding: str  # as the admin wrote it, for messages
    codec: str  # Python's canonical codec name, for decoding

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        raw_directory = str(config.get("directory") or "").strip()
        if not raw_directory:
            raise CsvStoreError(
                "Export directory is empty: enter the directory the ERP writes its CSV files to.",
                "directory_missing",
            )
        delimiter_key = str(config.get("delimiter") or DEFAULT_DELIMITER)
        delimiter = _delimiter_char(delimiter_key)
        decimal = str(config.get("decimal_separator") or DEFAULT_DECIMAL_SEPARATOR)
        if decimal not in DECIMAL_SEPARATORS:
            raise CsvStoreError(
                f"Decimal separator {decimal!r} is not one of {' or '.join(DECIMAL_SEPARATORS)}.",
                "invalid_config",
            )
        encoding = str(config.get("encoding") or DEFAULT_ENCODING).strip()
        try:
            directory = confine_directory(raw_directory)
        except OutsideRoot as exc:
            raise CsvStoreError(str(exc), NOT_ALLOWED) from None
        return cls(
            directory=directory,
            delimiter=delimiter,
            decimal_separator=decimal,
            encoding=encoding,
            codec=_codec_name(encoding),
        )


def _delimiter_char(value: str) -> str:
    """The delimiter character for a list key; the bare character is accepted too."""
    if value in DELIMITERS:
        return DELIMITERS[value][0]
    for char, _ in DELIMITERS.values():
        if value == char:
            return char
    raise CsvStoreError(
        f"Delimiter {value!r} is not one of {', '.join(DELIMITERS)}.",
        "invalid_config",
    )


def _codec_name(encoding: str) -> str:
    try:
        info = codecs.lookup(encoding)
        "".encode(info.name)  # refuses codecs that are not text encodings, e.g. base64
    except LookupError:
        raise CsvStoreError(
            f"Encoding {encoding!r} is not a text encoding Python knows; "
            "try utf-8, cp1252 or latin-1.",
            "unknown_encoding",
        ) from None
    return info.name


# --- what reading gives ---------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One data row: its key, stamp, parent key and parsed column values."""

    erp_key: str
    last_modified: str
    parent_key: str
    values: dict[str, Any]
    line: int

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.last_modified, self.erp_key)


@dataclass(frozen=True)
class Table:
    """One parsed file."""

    spec: FileSpec
    path: Path
    header: tuple[str, ...]
    records: list[Record] = field(default_factory=list)

    @property
    def columns(self) -> list[Column]:
        """The spec's data columns this export actually has, in spec order."""
        return [c for c in self.spec.columns if c.key in self.header]

    def by_key(self) -> dict[str, Record]:
        return {r.erp_key: r for r in self.records}


# --- the reader ---------------------------------------------------------------------------


class CsvStore:
    """Reads the export directory afresh on each call: the files are small and change under us."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CsvStore:
        return cls(Settings.from_config(config))

    @property
    def directory(self) -> Path:
        return self.settings.directory

    def check_directory(self) -> None:
        """Raise unless the directory exists, is a directory, and can be listed and read."""
        path = self.directory
        if not path.exists():
            raise CsvStoreError(f"Export directory {path} does not exist.", "directory_missing")
        if not path.is_dir():
            raise CsvStoreError(f"{path} is a file, not a directory.", "not_a_directory")
        if not os.access(path, os.R_OK | os.X_OK):
            raise CsvStoreError(
                f"Export directory {path} cannot be read by the user running the connector.",
                "directory_unreadable",
            )

    def has_file(self, actor_type: str) -> bool:
        try:
            return self._confined(self.directory / SPECS[actor_type].filename).is_file()
        except CsvStoreError:
            return False

    @staticmethod
    def _confined(path: Path) -> Path:
        """`path` resolved; a symbolic link out of the export root is refused."""
        try:
            return confine_file(path)
        except OutsideRoot as exc:
            raise CsvStoreError(str(exc), NOT_ALLOWED) from None

    def actor_types(self) -> list[str]:
        """Customers always (their file is required); the others when their file is there."""
        return [t for t, spec in SPECS.items() if spec.required_file or self.has_file(t)]

    def load(self, actor_type: str) -> Table:
        """Read, parse and validate the file of one actor type."""
        spec = SPECS[actor_type]
        path = self.directory / spec.filename
        text = self._decode(path)
        header, rows = self._parse(spec.filename, text)
        self._check_header(spec, header)
        records = self._records(spec, header, rows)
        return Table(spec, path, tuple(header), records)

    # Each step below raises a CsvStoreError that names the file and the line.

    def _decode(self, path: Path) -> str:
        name = path.name
        try:
            data = self._confined(path).read_bytes()
        except FileNotFoundError:
            if not self.directory.is_dir():
                self.check_directory()
            raise CsvStoreError(f"{name} is missing in {self.directory}.", "file_missing") from None
        except IsADirectoryError:
            raise CsvStoreError(
                f"{name} in {self.directory} is a directory.", "file_missing"
            ) from None
        except PermissionError:
            raise CsvStoreError(
                f"{name} in {self.directory} cannot be read by the user running the connector.",
                "file_unreadable",
            ) from None
        skipped = 0
        # Spreadsheet programs write a byte order mark in UTF-8 files; it is not data.
        if self.settings.codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
            skipped = len(codecs.BOM_UTF8)
        try:
            return data.decode(self.settings.codec)
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise CsvStoreError(
                f"cannot decode {name} as {self.settings.encoding} at byte {exc.start + skipped} "
                f"(line {line}); check the Encoding setting (for example cp1252 or latin-1).",
                "bad_encoding",
                f"{exc}; bytes {data[exc.start : exc.end]!r}",
            ) from None

    def _parse(self, name: str, text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
        """Split into a normalised header and (line number, cells) rows of the header's width."""
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=self.settings.delimiter, strict=True
        )
        header: list[str] | None = None
        rows: list[tuple[int, list[str]]] = []
        try:
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue  # blank line
                if header is None:
                    header = [cell.strip().upper() for cell in cells]
                    continue
                if len(cells) != len(header):
                    raise CsvStoreError(
                        f"{name} line {reader.line_num}: expected {len(header)} columns, "
                        f"found {len(cells)}.",
                        "parse_error",
                    )
                rows.append((reader.line_num, [cell.strip() for cell in cells]))
        except csv.Error as exc:
            raise CsvStoreError(
                f"{name} line {reader.line_num}: {exc}.", "parse_error", repr(exc)
            ) from None
        if header is None:
            raise CsvStoreError(f"{name} is empty: it needs a header row.", "parse_error")
        duplicates = sorted({c for c in header if header.count(c) > 1})
        if duplicates:
            raise CsvStoreError(
                f"{name} has the column {', '.join(duplicates)} more than once.", "parse_error"
            )
        return header, rows

    def _check_header(self, spec: FileSpec, header: list[str]) -> None:
        name = spec.filename
        missing = [c for c in spec.required_columns if c not in header]
        if not missing:
            return
        found = self.settings.delimiter.join(header)
        if len(found) > 200:
            found = found[:200] + "..."
        noun = "column" if len(missing) == 1 else "columns"
        hint = self._delimiter_hint(header)
        raise CsvStoreError(
            f"{name} has no {noun} {', '.join(missing)} (found: {found}).{hint}",
            "missing_column",
        )

    def _delimiter_hint(self, cells: list[str]) -> str:
        """Guess the usual mistake, a wrong delimiter, from a row that would split another way."""
        for key, (char, _) in DELIMITERS.items():
            if char != self.settings.delimiter and any(char in cell for cell in cells):
                return f" The file looks {key}-separated: check the Delimiter setting."
        return ""

    def _records(
        self, spec: FileSpec, header: list[str], rows: list[tuple[int, list[str]]]
    ) -> list[Record]:
        name = spec.filename
        records: list[Record] = []
        first_line: dict[str, int] = {}
        for line, cells in rows:
            row = dict(zip(header, cells, strict=True))
            key = row[KEY_COLUMN]
            if not key:
                raise CsvStoreError(f"{name} line {line}: {KEY_COLUMN} is empty.", "bad_value")
            if key in first_line:
                raise CsvStoreError(
                    f"{name} line {line}: {KEY_COLUMN} {key} appears twice "
                    f"(first on line {first_line[key]}).",
                    "bad_value",
                )
            first_line[key] = line
            values = {
                column.key: self._value(name, line, column, row[column.key])
                for column in spec.columns
                if column.key in row
            }
            records.append(
                Record(
                    erp_key=key,
                    last_modified=_stamp(name, line, row[STAMP_COLUMN]),
                    parent_key=row[spec.parent_column] if spec.parent_column else "",
                    values=values,
                    line=line,
                )
            )
        return records

    def _value(self, name: str, line: int, column: Column, text: str) -> Any:
        if not text:
            if column.mandatory:
                raise CsvStoreError(f"{name} line {line}: {column.key} is empty.", "bad_value")
            return None if column.kind != "text" else ""
        if column.kind == "number":
            return parse_number(
                text, self.settings.decimal_separator, f"{name} line {line}: {column.key}"
            )
        if column.kind == "date":
            return _date(name, line, column.key, text)
        return text


# --- value formats ----------------------------------------------------------------------------


def parse_number(text: str, decimal_separator: str, where: str) -> float:
    """A plain decimal number such as -1234.5 or -1234,5; no thousands separators."""
    pattern = rf"[+-]?\d+(?:{re.escape(decimal_separator)}\d+)?"
    if not re.fullmatch(pattern, text):
        example = f"1234{decimal_separator}50"
        raise CsvStoreError(
            f"{where} {text!r} is not a number with decimal separator {decimal_separator!r} "
            f"(such as {example}); check the Decimal separator setting.",
            "bad_value",
        )
    return float(text.replace(decimal_separator, "."))


def _stamp(name: str, line: int, text: str) -> str:
    if _STAMP_PATTERN.fullmatch(text):
        try:
            datetime.strptime(text, STAMP_FORMAT)
            return text
        except ValueError:
            pass
    raise CsvStoreError(
        f"{name} line {line}: {STAMP_COLUMN} {text!r} is not a UTC time such as {STAMP_EXAMPLE}.",
        "bad_value",
    )


def _date(name: str, line: int, key: str, text: str) -> str:
    if _DATE_PATTERN.fullmatch(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise CsvStoreError(
        f"{name} line {line}: {key} {text!r} is not a date such as 2025-12-31.", "bad_value"
    )


def normalize_stamp(text: str) -> str:
    """Bring a `since` stamp into the files' shape so string comparison orders in time.

    Accepts any ISO 8601 date or date-time; one without an offset is taken as UTC. Fractions
    of a second are dropped, which can only include a few more actors, never miss one.
    """
    text = text.strip()
    if not text or _STAMP_PATTERN.fullmatch(text):
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CsvStoreError(
            f"{text!r} is not an ISO 8601 time such as {STAMP_EXAMPLE}.", "invalid_stamp"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime(STAMP_FORMAT)
