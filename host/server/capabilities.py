"""What a Python connector declares in info (protocol v1.1): its optional operations and page
sizes, read off the class so a partner declares nothing by hand and cannot declare wrongly.

An optional operation is offered when the connector overrides the SDK's method (the base
class answers `not_supported`); `held_connections` is the host's own and always offered, and
`changes_stream` the host's own on top of the connector's `changed_since` pages.
"""

from __future__ import annotations

import inspect
from typing import Any

from host.connector import Connector
from host.protocol import operations as ops
from host.server.paging import page_sizes

HOST_OPERATIONS = frozenset({"held_connections"})
"""Optional operations the host answers itself, whatever the connector."""

HOST_PROVIDED = {"changes_stream": "changed_since"}
"""Optional operations the host builds on a connector's method: offered when that one is."""


def offers(connector: Connector, name: str) -> bool:
    """True when the connector answers the operation (it overrides the SDK's default)."""
    if name in HOST_OPERATIONS:
        return True
    name = HOST_PROVIDED.get(name, name)
    mine = getattr(type(connector), name, None)
    return mine is not None and mine is not getattr(Connector, name, None)


def atomic_precondition(connector: Connector) -> bool:
    """True when the connector's save_actors takes `check_last_modified` itself."""
    try:
        return "check_last_modified" in inspect.signature(connector.save_actors).parameters
    except (TypeError, ValueError):
        return False


def capabilities(connector: Connector) -> dict[str, Any]:
    """info's `capabilities` member for a connector served by this host."""
    return {
        "operations": [n for n in ops.OPTIONAL_OPERATIONS if offers(connector, n)],
        **page_sizes(connector),
        "check_last_modified": offers(connector, "save_actors"),
    }
