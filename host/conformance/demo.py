"""Connection values for the bundled mock ERP's documented demo login.

`erpsync apps check mock` with no --config uses them (and says so), so the command works out
of the box; every other connector has to be given its values. The login itself is declared
by the mock app (`DEMO_LOGIN`) and read through its entry point.
"""

from __future__ import annotations

from typing import Any

from host.apps import MOCK_APP, mock_demo_login

MOCK_CONNECTOR_ID = MOCK_APP


def demo_config(info: dict[str, Any]) -> dict[str, Any] | None:
    """The demo values for a connector that identifies as the bundled mock ERP, else None."""
    if info.get("id") == MOCK_CONNECTOR_ID and info.get("vendor") == "erpsync":
        return mock_demo_login()
    return None
