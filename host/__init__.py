"""erpsync-host: the plugin host for ERP sync connectors, and the SDK partners import.

from host import hookimpl, Connector, ConfigField, FieldType, Access, Response
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.connector import (
        ACTOR_TYPES,
        ALL_ZERO_GUID,
        Access,
        Actor,
        Condition,
        ConfigField,
        Connection,
        Connector,
        ConnectorError,
        Field,
        FieldType,
        NotSupported,
        Page,
        Response,
        Restriction,
        State,
    )
    from host.hookspecs import hookimpl
    from host.protocol import PROTOCOL_VERSION
    from host.protocol.errors import ERRORS, ErrorCode
    from host.protocol.values import (
        FieldValueError,
        coerce_value,
        decode_legacy,
        default_value,
        encode_legacy,
    )
    from host.search import compile_restriction, compile_restrictions, filter_actors, matches

_HOME = {
    "host.connector": (
        "ACTOR_TYPES ALL_ZERO_GUID Access Actor Condition ConfigField Connection Connector "
        "ConnectorError Field FieldType NotSupported Page Response Restriction State"
    ),
    "host.hookspecs": "hookimpl",
    "host.protocol": "PROTOCOL_VERSION",
    "host.protocol.errors": "ERRORS ErrorCode",
    "host.protocol.values": (
        "FieldValueError coerce_value decode_legacy default_value encode_legacy"
    ),
    "host.search": "compile_restriction compile_restrictions filter_actors matches",
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names.split()}


def __getattr__(name: str) -> Any:
    """The SDK's names, imported on first use: `erpsync --help`, `connections list` and the
    other commands that load no app do not pay for the SDK (dataclasses, pluggy ...), yet
    `from host import Actor` works as before."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'host' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "ACTOR_TYPES",
    "ALL_ZERO_GUID",
    "ERRORS",
    "PROTOCOL_VERSION",
    "Access",
    "Actor",
    "Condition",
    "ConfigField",
    "Connection",
    "Connector",
    "ConnectorError",
    "ErrorCode",
    "Field",
    "FieldType",
    "FieldValueError",
    "NotSupported",
    "Page",
    "Response",
    "Restriction",
    "State",
    "coerce_value",
    "compile_restriction",
    "compile_restrictions",
    "decode_legacy",
    "default_value",
    "encode_legacy",
    "filter_actors",
    "hookimpl",
    "matches",
]

__version__ = "0.1.0"
