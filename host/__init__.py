"""erpsync-host: the plugin host for ERP sync connectors, and the SDK partners import.

from host import hookimpl, Connector, ConfigField, FieldType, Access, Response
"""

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
