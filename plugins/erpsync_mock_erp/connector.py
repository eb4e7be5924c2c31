"""The mock ERP connector: config fields modelled on the public test connector, real checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from host import Access, ConfigField, Connector, FieldType, Response

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "mock-erp-secret"
COMPANIES = {1: "Mock Trading AS", 2: "Mock Services AS", 3: "Mock Holding AS"}

DECIMAL_SEPARATORS = {".": "Point (1234.56)", ",": "Comma (1234,56)"}


class MockErpConnector(Connector):
    """A pretend ERP with three companies; the demo login is documented in the README."""

    id = "mock"
    name = "Mock ERP"
    vendor = "erpsync"
    version = "0.1.0"
    description = "Bundled mock ERP for demos and tests"
    config_fields = (
        ConfigField(
            "server",
            "Server or file path",
            FieldType.TEXT,
            access=Access.MANDATORY,
            description="Host name of the ERP server, or the path of its data file",
            default="erp.mock.local",
            max_length=500,
            rank=10,
        ),
        ConfigField(
            "username",
            "Username",
            FieldType.TEXT,
            access=Access.MANDATORY,
            description="ERP user the sync logs in as",
            max_length=100,
            rank=20,
        ),
        ConfigField(
            "password",
            "Password",
            FieldType.PASSWORD,
            access=Access.MANDATORY,
            description="Password of the ERP user",
            rank=30,
        ),
        ConfigField(
            "company",
            "Company number",
            FieldType.INTEGER,
            description="ERP company (client) to sync with: 1, 2 or 3",
            default=1,
            rank=40,
        ),
        ConfigField(
            "decimal_separator",
            "Decimal separator",
            FieldType.LIST,
            description="How the ERP writes decimal numbers",
            default=".",
            list_name="decimal_separators",
            rank=50,
        ),
        ConfigField(
            "read_only",
            "Read only",
            FieldType.CHECKBOX,
            description="Never write to the ERP",
            default=False,
            rank=60,
        ),
        ConfigField(
            "note",
            "Demo login: see the erpsync README",
            FieldType.LABEL,
            rank=70,
        ),
    )

    def test_config(self, config: Mapping[str, Any]) -> Response:
        server = str(config.get("server") or "").strip()
        if not server or any(ch.isspace() for ch in server):
            return Response.error(
                f"Server {server!r} is not a host name or file path.",
                "server must be non-empty without spaces",
                "bad_server",
            )
        if config.get("username") != DEMO_USERNAME or config.get("password") != DEMO_PASSWORD:
            return Response.error(
                f"Login to {server} failed: wrong username or password.",
                "credentials rejected by the mock ERP",
                "login_failed",
            )
        company = config.get("company") or 1
        if company not in COMPANIES:
            known = ", ".join(str(n) for n in COMPANIES)
            return Response.error(
                f"Company {company} does not exist; this ERP has companies {known}.",
                "unknown company number",
                "unknown_company",
            )
        return Response.success(f"Connected to {server} as {DEMO_USERNAME}, {COMPANIES[company]}.")

    def get_list(self, connection: Any, list_name: str) -> dict[str, str]:
        if list_name == "decimal_separators":
            return dict(DECIMAL_SEPARATORS)
        from host import ConnectorError

        raise ConnectorError(f"The mock ERP has no list {list_name!r}.", "", "unknown_list")
