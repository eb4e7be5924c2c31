"""Connection values for the bundled mock ERP's documented demo login.

`erpsync apps check mock` with no --config uses them (and says so), so the command works out
of the box; every other connector has to be given its values.
"""

from __future__ import annotations

from typing import Any

MOCK_CONNECTOR_ID = "mock"

MOCK_DEMO_CONFIG: dict[str, Any] = {
    "server": "erp.mock.local",
    "username": "demo",
    "password": "mock-erp-secret",
    "company": 1,
}
"""The demo login of the mock ERP, as its README and `erpsync mock-server --help` document it."""


def demo_config(info: dict[str, Any]) -> dict[str, Any] | None:
    """The demo values for a connector that identifies as the bundled mock ERP, else None."""
    if info.get("id") == MOCK_CONNECTOR_ID and info.get("vendor") == "erpsync":
        return dict(MOCK_DEMO_CONFIG)
    return None
