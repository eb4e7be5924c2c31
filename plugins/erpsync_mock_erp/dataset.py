"""A deterministic, plausible ERP dataset: Norwegian and English companies, people, projects.

`generate(seed, company, customers)` always returns the same actors for the same arguments
(it uses only `random.Random`, seeded with a string, which does not depend on PYTHONHASHSEED),
so tests can name actors they expect. It is written for speed (100,000 customers with their
suppliers, persons and projects take under two seconds), because the mock generates a
company's data lazily, on first use.

Sizes follow from the number of customers: persons are 1-3 per customer for the first
`PERSON_CUSTOMERS` customers, suppliers are a tenth and projects a twentieth of the customers
(rounded up). Stamps are handed out in generation order: customers, persons, suppliers,
projects.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from host import Actor

PERSON_CUSTOMERS = 2000
"""Only the first this many customers get contact persons (1-3 each)."""

STAMP_WIDTH = 14

T = TypeVar("T")


def stamp(number: int) -> str:
    """The sortable last_modified string of counter value `number`."""
    return f"{number:0{STAMP_WIDTH}d}"


# --- pools ---------------------------------------------------------------------------------

_PREFIXES = (
    "Nordic", "Fjord", "Viking", "Polar", "Aurora", "Granite", "Harbour", "Summit", "Birch",
    "Lofoten", "Bergen", "Oslo", "Trondheim", "Stavanger", "Tromsø", "Nordlys", "Havbris",
    "Fjell", "Skog", "Bølge", "Kyst", "Midnight Sun", "Northern", "Arctic", "Coastal",
    "Silver", "Blue Ocean", "Red Barn", "Oak", "Pine", "Maple", "Crown", "Anchor", "Beacon",
    "Meridian", "Westside", "Eastgate", "Sunrise", "Glacier", "Saga",
)  # fmt: skip
_LAST_NAMES = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen",
    "Lund", "Sørensen", "Bakken", "Solberg", "Moen", "Strand", "Lie", "Smith", "Brown",
    "Taylor", "Wilson", "Clarke", "Walker", "Wright", "Thompson", "Evans", "Hughes",
)  # fmt: skip
_CORES = (
    "Trading", "Consulting", "Marine", "Logistics", "Software", "Bygg", "Elektro", "Transport",
    "Fisk", "Data", "Engineering", "Rørlegger", "Maskin", "Eiendom", "Regnskap", "Media",
    "Energi", "Sjømat", "Design", "Systems", "Solutions", "Industri", "Handel", "Shipping",
    "Catering", "Helse", "Tre", "Stål", "Analytics", "Robotics",
)  # fmt: skip
_SUFFIXES = ("AS", "AS", "AS", "AS", "ASA", "Ltd", "Group AS", "& Co AS", "Holding AS", "ANS")
_SUPPLIER_CORES = (
    "Grossist", "Engros", "Import", "Supply", "Components", "Parts", "Materialer", "Kontor",
    "Emballasje", "Verktøy", "Papir", "IT Distribusjon", "Packaging", "Wholesale", "Metals",
)  # fmt: skip
_DEPARTMENTS = ("Head office", "Sales", "Purchasing", "Avd. Bergen", "Avd. Oslo", "Finance")
_FIRST_NAMES = (
    "Ola", "Kari", "Ingrid", "Lars", "Emma", "Oliver", "Nora", "Jakob", "Sofie", "Emil",
    "Olivia", "Noah", "Ella", "William", "Leah", "Henrik", "Maja", "Lucas", "Sara", "Filip",
    "Anne", "Per", "Marit", "Knut", "Hilde", "Bjørn", "Solveig", "Geir", "Tone", "Erik",
    "James", "Sarah", "Thomas", "Emily", "Daniel", "Charlotte", "Peter", "Hannah", "Mark",
    "Åse",
)  # fmt: skip
_MIDDLE_NAMES = ("Marie", "Johan", "Elisabeth", "Andreas", "Kristin", "Alexander", "Louise")
_TITLES = ("", "", "", "", "Dr.", "Mr.", "Ms.", "Prof.")
_POSITIONS = (
    "CEO", "CFO", "CTO", "Sales manager", "Purchasing manager", "Accountant", "Controller",
    "Project manager", "Office manager", "Daglig leder", "Innkjøpssjef", "Økonomisjef",
    "Key account manager", "IT manager", "Consultant",
)  # fmt: skip
_STREETS = (
    "Storgata", "Kongens gate", "Dronningens gate", "Strandveien", "Industriveien",
    "Bryggen", "Kirkegata", "Sjøgata", "Parkveien", "Fjordveien", "Havnegata", "Torggata",
)  # fmt: skip
_UK_STREETS = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane")
_NO_CITIES = (
    ("0150", "OSLO"), ("0250", "OSLO"), ("0484", "OSLO"), ("5003", "BERGEN"),
    ("5020", "BERGEN"), ("7010", "TRONDHEIM"), ("4006", "STAVANGER"), ("9008", "TROMSØ"),
    ("8006", "BODØ"), ("3015", "DRAMMEN"), ("4610", "KRISTIANSAND"), ("6002", "ÅLESUND"),
    ("2317", "HAMAR"), ("1606", "FREDRIKSTAD"), ("3110", "TØNSBERG"), ("8300", "SVOLVÆR"),
)  # fmt: skip
_FOREIGN_CITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "SE": (("111 22", "Stockholm"), ("411 03", "Göteborg"), ("211 20", "Malmö")),
    "DK": (("1050", "København K"), ("8000", "Aarhus C"), ("5000", "Odense C")),
    "FI": (("00100", "Helsinki"), ("33100", "Tampere")),
    "GB": (("SW1A 1AA", "London"), ("M1 1AE", "Manchester"), ("EH1 1YZ", "Edinburgh")),
    "DE": (("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München")),
    "NL": (("1012 AB", "Amsterdam"), ("3011 AA", "Rotterdam")),
    "US": (("10001", "New York, NY"), ("98101", "Seattle, WA"), ("60601", "Chicago, IL")),
}
# Weighted: most customers of a Norwegian ERP are Norwegian.
_COUNTRIES = ("NO",) * 14 + ("SE", "SE", "DK", "FI", "GB", "GB", "DE", "NL", "US")
_CURRENCY_OF = {
    "NO": "NOK", "SE": "SEK", "DK": "DKK", "FI": "EUR", "GB": "GBP", "DE": "EUR", "NL": "EUR",
    "US": "USD",
}  # fmt: skip
_PHONE_PREFIX = {
    "NO": "+47", "SE": "+46", "DK": "+45", "FI": "+358", "GB": "+44", "DE": "+49", "NL": "+31",
    "US": "+1",
}  # fmt: skip
_TLD = {"NO": "no", "SE": "se", "DK": "dk", "FI": "fi", "GB": "co.uk", "DE": "de", "NL": "nl"}
_GROUPS = ("A", "B", "B", "B", "C", "C", "PUB", "INT")
_TERMS = ("NET10", "NET14", "NET14", "NET30", "NET30", "NET30", "NET45", "NET60", "CASH")
_LIMITS = (0.0, 10000.0, 25000.0, 50000.0, 50000.0, 100000.0, 250000.0, 1000000.0)
_PROJECT_WORDS = (
    "ERP upgrade", "Website relaunch", "Warehouse automation", "CRM rollout", "Data migration",
    "Office move", "Annual audit", "Fleet renewal", "Cloud migration", "Security review",
    "Product launch", "Training programme", "Support agreement", "Integration", "Pilot",
)  # fmt: skip
_PROJECT_TYPES = ("IMPL", "CONS", "SUPP", "DEV", "INT")
_PROJECT_STATUSES = ("PLAN", "ACTIVE", "ACTIVE", "ACTIVE", "HOLD", "DONE", "DONE", "CANC")


def slug(text: str) -> str:
    """An ASCII domain label for a name: 'Bølge Sjømat AS' -> 'bolgesjomat'."""
    folded = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "aa")
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text if ch.isalnum()) or "company"


@dataclass
class Dataset:
    """Actors per type (in ERP-number order) and the counter value of the newest stamp."""

    actors: dict[str, list[Actor]] = field(default_factory=dict)
    counter: int = 0


def _days(first_year: int, years: int) -> tuple[str, ...]:
    first = date(first_year, 1, 1).toordinal()
    last = date(first_year + years, 1, 1).toordinal()
    return tuple(date.fromordinal(n).isoformat() for n in range(first, last))


_TIMES = tuple(f"T{h:02d}:{m:02d}:00" for h in range(7, 18) for m in range(60))


class _Generator:
    def __init__(self, seed: int, company: int) -> None:
        self.rng = random.Random(f"erpsync-mock:{seed}:{company}")
        self.counter = 0
        self._slugs: dict[str, str] = {}
        self._days: dict[tuple[int, int], tuple[str, ...]] = {}

    def next_stamp(self) -> str:
        self.counter += 1
        return stamp(self.counter)

    # Hot paths use `int(random() * n)` rather than randrange/choice: a third of the cost.
    def pick(self, pool: Sequence[T]) -> T:
        return pool[int(self.rng.random() * len(pool))]

    def below(self, n: int) -> int:
        return int(self.rng.random() * n)

    def digits(self, count: int) -> str:
        return f"{self.below(10**count):0{count}d}"

    def phone(self, country: str, mobile: bool = False) -> str:
        number = 10_000_000 + self.below(90_000_000)
        if mobile and country == "NO":
            number = 90_000_000 + number % 10_000_000
        text = f"{number:08d}"
        return f"{_PHONE_PREFIX[country]} {text[:2]} {text[2:4]} {text[4:6]} {text[6:]}"

    def moment(self, first_year: int, years: int, with_time: bool = True) -> str:
        days = self._days.get((first_year, years))
        if days is None:
            days = self._days[first_year, years] = _days(first_year, years)
        day = self.pick(days)
        return day + (self.pick(_TIMES) if with_time else "T00:00:00")

    def domain(self, name: str, country: str) -> str:
        base = self._slugs.get(name)
        if base is None:
            base = self._slugs[name] = slug(name)
        return f"{base}.{_TLD.get(country, 'com')}"

    def company_name(self, supplier: bool) -> tuple[str, str]:
        """(full name, name without legal suffix) of a company."""
        pick = self.pick
        r = self.rng.random()
        cores = _SUPPLIER_CORES if supplier else _CORES
        if r < 0.55:
            base = f"{pick(_PREFIXES)} {pick(cores)}"
        elif r < 0.85:
            base = f"{pick(_LAST_NAMES)} {pick(cores)}"
        else:
            base = f"{pick(_LAST_NAMES)} & {pick(_LAST_NAMES)}"
        return f"{base} {pick(_SUFFIXES)}", base

    def company(self, number_key: str, number: int, supplier: bool) -> Actor:
        rnd, pick, below = self.rng.random, self.pick, self.below
        name, base = self.company_name(supplier)
        country = pick(_COUNTRIES)
        if country == "NO":
            postcode, city = pick(_NO_CITIES)
            street = pick(_STREETS)
            vat = f"NO{800_000_000 + below(200_000_000)}MVA"
        else:
            postcode, city = pick(_FOREIGN_CITIES[country])
            street = pick(_UK_STREETS if country in ("GB", "US") else _STREETS)
            vat = f"{country}{self.digits(9)}"
        r = rnd()
        address2 = "" if r < 0.75 else f"Postboks {1 + below(2000)}" if r < 0.9 else "c/o Regnskap"
        domain = self.domain(base, country)
        values = {
            number_key: number,
            "NAME": name,
            "DEPARTMENT": pick(_DEPARTMENTS) if rnd() < 0.2 else "",
            "PHONE": self.phone(country),
            "EMAIL": f"{'post' if country == 'NO' else 'info'}@{domain}",
            "URL": f"https://www.{domain}",
            "POSTALAD1": f"{street} {1 + below(120)}",
            "POSTALAD2": address2,
            "POSTALZIP": postcode,
            "POSTALCITY": city,
            "COUNTRY": country,
            "VATNO": vat,
            "CUSTGROUP": pick(_GROUPS),
            "PAYTERMS": pick(_TERMS),
            "CURRENCY": _CURRENCY_OF[country],
            "CREDITLIMIT": pick(_LIMITS),
            "ACTIVE": rnd() < 0.93,
            "CREATED": self.moment(2005, 21),
        }
        kind = "supplier" if supplier else "customer"
        return Actor(kind, str(number), self.next_stamp(), field_values=values)

    def person(self, number: int, customer: Actor) -> Actor:
        rng = self.rng
        first, last = self.pick(_FIRST_NAMES), self.pick(_LAST_NAMES)
        country = customer.field_values["COUNTRY"]
        domain = customer.field_values["EMAIL"].partition("@")[2]
        values = {
            "PersNo": number,
            "FIRSTNAME": first,
            "MIDDLENAME": self.pick(_MIDDLE_NAMES) if rng.random() < 0.15 else "",
            "LASTNAME": last,
            "TITLE": self.pick(_TITLES),
            "PHONE_DIRECT": self.phone(country),
            "PHONE_MOBILE": self.phone(country, mobile=True),
            "EMAIL": f"{slug(first)}.{slug(last)}@{domain}",
            "POSITION": self.pick(_POSITIONS),
            "BIRTHDATE": self.moment(1955, 48, with_time=False),
        }
        return Actor(
            "person",
            str(number),
            self.next_stamp(),
            parent_actor_type="customer",
            parent_erp_key=customer.erp_key,
            field_values=values,
        )

    def project(self, number: int, customers: Sequence[Actor]) -> Actor:
        what = self.pick(_PROJECT_WORDS)
        client = customers[self.below(len(customers))] if customers else None
        name = f"{what} {client.field_values['NAME']}" if client else what
        values = {
            "ProjNo": f"PROJ{number}",
            "NAME": name[:100],
            "TEXT": f"{what} for {client.field_values['NAME'] if client else 'internal use'}. "
            f"Budget {(5 + self.below(495)) * 1000} NOK.",
            "NUMBER": f"PO-{self.digits(6)}",
            "URL": f"https://projects.mock.local/PROJ{number}",
            "ENDDATE": self.moment(2024, 4, with_time=False),
            "PROJTYPE": self.pick(_PROJECT_TYPES),
            "PROJSTATUS": self.pick(_PROJECT_STATUSES),
        }
        return Actor("project", str(number), self.next_stamp(), field_values=values)


def generate(seed: int, company: int, customers: int) -> Dataset:
    """The dataset of one ERP company; the same arguments always give the same actors."""
    gen = _Generator(seed, company)
    customer_list = [gen.company("CustNo", n, supplier=False) for n in range(1, customers + 1)]
    persons: list[Actor] = []
    for customer in customer_list[:PERSON_CUSTOMERS]:
        for _ in range(1 + gen.below(3)):
            persons.append(gen.person(len(persons) + 1, customer))
    suppliers = [gen.company("SuppNo", n, supplier=True) for n in range(1, -(-customers // 10) + 1)]
    projects = [gen.project(n, customer_list) for n in range(1, -(-customers // 20) + 1)]
    return Dataset(
        {"customer": customer_list, "supplier": suppliers, "person": persons, "project": projects},
        gen.counter,
    )
