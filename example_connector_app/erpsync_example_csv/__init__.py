"""erpsync-example-csv: a sync app for an ERP that exports its data as CSV files.

The host loads this module through the `erpsync.apps` entry point (see pyproject.toml) and
calls the hook below; copy this shape for your own app.
"""

from __future__ import annotations

from collections.abc import Callable

from host import Connector, hookimpl

from erpsync_example_csv.connector import VERSION, CsvErpConnector

__all__ = ["CsvErpConnector", "register_connectors"]
__version__ = VERSION


@hookimpl
def register_connectors(register: Callable[[Connector], None]) -> None:
    """Called once by the host; one app may register several connectors."""
    register(CsvErpConnector())
