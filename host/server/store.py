"""The connector host's memory of connections: GUID -> config, per connector.

The admin side is the source of truth: when the host restarts and forgets a GUID it answers
`unknown_connection`, and the client re-sends its stored config. Keeping it in memory means no
secret of any ERP ever touches the connector host's disk.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any


class ConnectionStore:
    """Thread-safe GUID -> config map; connectors run in worker threads."""

    def __init__(self) -> None:
        self._configs: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, connector_id: str, guid: str) -> dict[str, Any] | None:
        with self._lock:
            config = self._configs.get((connector_id, guid))
            return dict(config) if config is not None else None

    def put(self, connector_id: str, guid: str, config: Mapping[str, Any]) -> None:
        with self._lock:
            self._configs[(connector_id, guid)] = dict(config)

    def delete(self, connector_id: str, guid: str) -> bool:
        with self._lock:
            return self._configs.pop((connector_id, guid), None) is not None

    def guids(self, connector_id: str) -> list[str]:
        with self._lock:
            return sorted(g for (c, g) in self._configs if c == connector_id)
