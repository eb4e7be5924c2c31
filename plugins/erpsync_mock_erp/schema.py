"""What the mock ERP holds: actor types, their fields, searchable fields and value lists.

Field keys are named after CRM fields (NAME, POSTALZIP, FIRSTNAME ...) so the host's automatic
mapping finds them. Every type has one mandatory field and one read-only number that the ERP
assigns on create.
"""

from __future__ import annotations

from dataclasses import dataclass

from host import Access, Field, FieldType

M, R = Access.MANDATORY, Access.READONLY
T, N, D, C, L, DT = (
    FieldType.TEXT,
    FieldType.INTEGER,
    FieldType.DOUBLE,
    FieldType.CHECKBOX,
    FieldType.LIST,
    FieldType.DATETIME,
)

DECIMAL_SEPARATORS = {".": "Point (1234.56)", ",": "Comma (1234,56)"}

CUSTOMER_GROUPS = {
    "A": "A - Key account",
    "B": "B - Regular",
    "C": "C - Occasional",
    "PUB": "Public sector",
    "INT": "Internal",
}
PAYMENT_TERMS = {
    "NET10": "Net 10 days",
    "NET14": "Net 14 days",
    "NET30": "Net 30 days",
    "NET45": "Net 45 days",
    "NET60": "Net 60 days",
    "CASH": "Cash on delivery",
    "PREPAID": "Prepaid",
}
CURRENCIES = {
    "NOK": "Norwegian krone",
    "SEK": "Swedish krona",
    "DKK": "Danish krone",
    "EUR": "Euro",
    "GBP": "Pound sterling",
    "USD": "US dollar",
}
COUNTRIES = {
    "NO": "Norway",
    "SE": "Sweden",
    "DK": "Denmark",
    "FI": "Finland",
    "GB": "United Kingdom",
    "DE": "Germany",
    "NL": "Netherlands",
    "US": "United States",
}
PROJECT_TYPES = {
    "IMPL": "Implementation",
    "CONS": "Consulting",
    "SUPP": "Support agreement",
    "DEV": "Development",
    "INT": "Internal",
}
PROJECT_STATUSES = {
    "PLAN": "Planned",
    "ACTIVE": "In progress",
    "HOLD": "On hold",
    "DONE": "Completed",
    "CANC": "Cancelled",
}

LISTS: dict[str, dict[str, str]] = {
    "decimal_separators": DECIMAL_SEPARATORS,
    "customer_groups": CUSTOMER_GROUPS,
    "payment_terms": PAYMENT_TERMS,
    "currencies": CURRENCIES,
    "countries": COUNTRIES,
    "project_types": PROJECT_TYPES,
    "project_statuses": PROJECT_STATUSES,
}
"""List name -> item key -> display text. The same for every connection and the all-zero GUID."""


def _company_fields(number_key: str, number_label: str) -> tuple[Field, ...]:
    return (
        Field(number_key, number_label, N, R, "Assigned by the ERP on create", rank=10),
        Field("NAME", "Name", T, M, "Company name", max_length=100, rank=20),
        Field("DEPARTMENT", "Department", T, max_length=60, rank=30),
        Field("PHONE", "Phone", T, max_length=40, rank=40),
        Field("EMAIL", "E-mail", T, max_length=120, rank=50),
        Field("URL", "Web site", T, max_length=200, rank=60),
        Field("POSTALAD1", "Postal address 1", T, max_length=80, rank=70),
        Field("POSTALAD2", "Postal address 2", T, max_length=80, rank=80),
        Field("POSTALZIP", "Postcode", T, max_length=12, rank=90),
        Field("POSTALCITY", "City", T, max_length=60, rank=100),
        Field("COUNTRY", "Country", L, list_name="countries", default="NO", rank=110),
        Field(
            "VATNO",
            "VAT number",
            T,
            description="Organisation / VAT number",
            max_length=30,
            rank=120,
        ),
        Field("CUSTGROUP", "Group", L, list_name="customer_groups", default="B", rank=130),
        Field("PAYTERMS", "Payment terms", L, list_name="payment_terms", default="NET30", rank=140),
        Field("CURRENCY", "Currency", L, list_name="currencies", default="NOK", rank=150),
        Field(
            "CREDITLIMIT",
            "Credit limit",
            D,
            description="In the actor's currency",
            default=0,
            rank=160,
        ),
        Field(
            "ACTIVE",
            "Active",
            C,
            description="Inactive actors are kept for history",
            default=True,
            rank=170,
        ),
        Field(
            "CREATED",
            "Created",
            DT,
            description="When the actor was registered in the ERP",
            rank=180,
        ),
    )


PERSON_FIELDS: tuple[Field, ...] = (
    Field("PersNo", "Person number", N, R, "Assigned by the ERP on create", rank=10),
    Field("FIRSTNAME", "First name", T, M, max_length=50, rank=20),
    Field("MIDDLENAME", "Middle name", T, max_length=50, rank=30),
    Field("LASTNAME", "Last name", T, max_length=50, rank=40),
    Field("TITLE", "Title", T, max_length=40, rank=50),
    Field("PHONE_DIRECT", "Direct phone", T, max_length=40, rank=60),
    Field("PHONE_MOBILE", "Mobile phone", T, max_length=40, rank=70),
    Field("EMAIL", "E-mail", T, max_length=120, rank=80),
    Field("POSITION", "Position", T, max_length=60, rank=90),
    Field("BIRTHDATE", "Birth date", DT, rank=100),
)

PROJECT_FIELDS: tuple[Field, ...] = (
    Field("ProjNo", "Project number", T, R, "PROJ<n>, assigned by the ERP on create", rank=10),
    Field("NAME", "Name", T, M, max_length=100, rank=20),
    Field("TEXT", "Description", T, max_length=5000, rank=30),
    Field("NUMBER", "Reference", T, description="The customer's reference", max_length=40, rank=40),
    Field("URL", "Project site", T, max_length=200, rank=50),
    Field("ENDDATE", "End date", DT, rank=60),
    Field("PROJTYPE", "Type", L, list_name="project_types", default="IMPL", rank=70),
    Field("PROJSTATUS", "Status", L, list_name="project_statuses", default="PLAN", rank=80),
)


@dataclass(frozen=True)
class ActorSchema:
    """One actor type: its fields, the read-only number the ERP assigns, and its parent type."""

    actor_type: str
    fields: tuple[Field, ...]
    number_key: str
    searchable: tuple[str, ...]
    parent_type: str = ""

    @property
    def by_key(self) -> dict[str, Field]:
        return {f.key: f for f in self.fields}

    def number_value(self, number: int) -> int | str:
        """The value of the read-only number field for ERP number `number`."""
        return f"PROJ{number}" if self.actor_type == "project" else number

    @property
    def text_search_keys(self) -> tuple[str, ...]:
        """Fields the simple text search looks in: the searchable text fields and the number."""
        by_key = self.by_key
        return tuple(k for k in self.searchable if by_key[k].type is T or k == self.number_key)


_COMPANY_SEARCHABLE = (
    "NAME",
    "DEPARTMENT",
    "PHONE",
    "EMAIL",
    "POSTALZIP",
    "POSTALCITY",
    "COUNTRY",
    "VATNO",
    "CUSTGROUP",
    "CURRENCY",
    "CREDITLIMIT",
    "ACTIVE",
    "CREATED",
)

SCHEMAS: dict[str, ActorSchema] = {
    "customer": ActorSchema(
        "customer",
        _company_fields("CustNo", "Customer number"),
        "CustNo",
        ("CustNo", *_COMPANY_SEARCHABLE),
    ),
    "supplier": ActorSchema(
        "supplier",
        _company_fields("SuppNo", "Supplier number"),
        "SuppNo",
        ("SuppNo", *_COMPANY_SEARCHABLE),
    ),
    "person": ActorSchema(
        "person",
        PERSON_FIELDS,
        "PersNo",
        (
            "PersNo",
            "FIRSTNAME",
            "LASTNAME",
            "EMAIL",
            "PHONE_DIRECT",
            "PHONE_MOBILE",
            "POSITION",
            "BIRTHDATE",
        ),
        parent_type="customer",
    ),
    "project": ActorSchema(
        "project",
        PROJECT_FIELDS,
        "ProjNo",
        ("ProjNo", "NAME", "NUMBER", "ENDDATE", "PROJTYPE", "PROJSTATUS"),
    ),
}
"""Actor type -> schema, in the order the connector offers the types."""

ACTOR_TYPES: tuple[str, ...] = tuple(SCHEMAS)
