"""The hooks a sync app may implement. Each is register-callback style, as in llm and datasette."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from host.connector import Connector

PROJECT_NAME = "erpsync"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_connectors(register: Callable[[Connector], None]) -> None:
    """Register this app's connectors: call ``register(MyConnector())`` once per connector."""
