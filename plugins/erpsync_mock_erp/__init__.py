"""The bundled mock ERP: a believable ERP connector that makes erpsync work out of the box.

It is registered through the same `erpsync.apps` entry point as any third-party app.
Demo credentials: ``DEMO_LOGIN`` (username ``demo``, password ``mock-erp-secret``, companies
1 to 3), declared in `connector` and read by the host through this app's entry point.

Modules: `connector` (the operations, and the ERPSYNC_MOCK_* environment variables that size,
seed and persist the data), `schema` (actor types, fields, lists), `dataset` (the seeded data),
`store` (in-memory tables and the optional SQLite file), `faults` (fault injection for
`erpsync mock-server`).
"""

from __future__ import annotations

from collections.abc import Callable

from erpsync_mock_erp.connector import DEMO_LOGIN, MockErpConnector
from host import Connector, hookimpl

__all__ = ["DEMO_LOGIN", "MockErpConnector", "register_connectors"]


@hookimpl
def register_connectors(register: Callable[[Connector], None]) -> None:
    register(MockErpConnector())
