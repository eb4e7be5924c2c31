"""What the host's CRM holds: entities, their fields and the CRM lists.

Field names follow the CRM field names of the domain reference (NAME, POSTALZIP, FIRSTNAME ...),
lower-cased, so automatic mapping can match ERP field keys named like them.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT, INTEGER, DOUBLE, CHECKBOX, DATETIME, LIST = (
    "text",
    "integer",
    "double",
    "checkbox",
    "datetime",
    "list",
)
CRM_TYPES = (TEXT, INTEGER, DOUBLE, CHECKBOX, DATETIME, LIST)


@dataclass(frozen=True)
class CrmField:
    """One field of a CRM entity; `list_name` names the CRM list a list field chooses from."""

    name: str
    type: str = TEXT
    list_name: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "list_name": self.list_name}


def _texts(*names: str) -> tuple[CrmField, ...]:
    return tuple(CrmField(n) for n in names)


ENTITIES: dict[str, tuple[CrmField, ...]] = {
    "company": (
        *_texts("name", "number1", "number2", "department", "phone", "fax", "email", "url"),
        *_texts("postalad1", "postalad2", "postalad3", "postalzip", "postalcity"),
        *_texts("streetad1", "streetad2", "streetad3", "streetzip", "streetcity"),
        CrmField("country", LIST, "country"),
        CrmField("vatno"),
        CrmField("category", LIST, "category"),
        CrmField("business", LIST, "business"),
    ),
    "person": (
        CrmField("company_id", INTEGER),
        *_texts("firstname", "middlename", "lastname", "title", "phone_direct", "phone_mobile"),
        *_texts("email", "position"),
        CrmField("birthdate", DATETIME),
    ),
    "project": (
        *_texts("name", "text", "number", "url"),
        CrmField("enddate", DATETIME),
        CrmField("type", LIST, "project_type"),
        CrmField("status", LIST, "project_status"),
    ),
}
"""Entity -> its fields (the `id` and `updated` columns are implicit)."""

LINK_ONLY_FIELDS = {"company_id"}
"""Fields the sync sets from the ERP parent, never from a field mapping."""

ENTITY_OF_ACTOR_TYPE = {
    "customer": "company",
    "supplier": "company",
    "partner": "company",
    "person": "person",
    "project": "project",
}
"""Which CRM entity an ERP actor type syncs to (domain reference, "Field mapping")."""

PARENT_ENTITY = {"person": "company"}

LISTS: dict[str, dict[str, str]] = {
    "country": {
        "NO": "Norway",
        "SE": "Sweden",
        "DK": "Denmark",
        "FI": "Finland",
        "IS": "Iceland",
        "GB": "United Kingdom",
        "IE": "Ireland",
        "DE": "Germany",
        "NL": "Netherlands",
        "BE": "Belgium",
        "FR": "France",
        "ES": "Spain",
        "IT": "Italy",
        "PL": "Poland",
        "US": "United States",
        "CA": "Canada",
    },
    "category": {
        "1": "Key account",
        "2": "Regular",
        "3": "Occasional",
        "4": "Public sector",
        "5": "Internal",
        "6": "Prospect",
    },
    "business": {
        "1": "IT",
        "2": "Retail",
        "3": "Finance",
        "4": "Manufacturing",
        "5": "Shipping",
        "6": "Public",
    },
    "project_type": {
        "1": "Implementation",
        "2": "Consulting",
        "3": "Support agreement",
        "4": "Development",
        "5": "Internal",
    },
    "project_status": {"1": "Planned", "2": "In progress", "3": "On hold", "4": "Completed"},
}
"""The CRM lists seeded into a new store: list name -> item key -> text."""


def fields_of(entity: str) -> dict[str, CrmField]:
    return {f.name: f for f in ENTITIES[entity]}
