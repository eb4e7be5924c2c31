"""The protocol's one set of error codes: each with its HTTP status and what a client does.

The connector host answers an error envelope with the status its code has here, the client
decides from the code whether to retry, re-send config or give up, the OpenAPI document
carries the codes as an enum, and docs/protocol.md renders this table. Connectors raise
`ConnectorError(..., error_code=ErrorCode.UNKNOWN_LIST)` rather than spelling codes anew.
A code a connector invents (e.g. `login_failed` before it was listed) answers HTTP 400.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorCode(enum.StrEnum):
    """Every error code protocol v1.1 defines (a StrEnum: compares equal to its string)."""

    UNAUTHORIZED = "unauthorized"
    UNKNOWN_CONNECTOR = "unknown_connector"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNKNOWN_CONNECTION = "unknown_connection"
    INVALID_REQUEST = "invalid_request"
    INVALID_CONFIG = "invalid_config"
    LOGIN_FAILED = "login_failed"
    READ_ONLY = "read_only"
    UNKNOWN_ACTOR_TYPE = "unknown_actor_type"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_LIST = "unknown_list"
    UNKNOWN_ACTOR = "unknown_actor"
    UNKNOWN_PARENT = "unknown_parent"
    INVALID_ACTOR = "invalid_actor"
    INVALID_VALUE = "invalid_value"
    MANDATORY_FIELD = "mandatory_field"
    READONLY_FIELD = "readonly_field"
    INVALID_RESTRICTION = "invalid_restriction"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_STAMP = "invalid_stamp"
    CONFLICT = "conflict"
    NOT_SUPPORTED = "not_supported"
    CONNECTOR_ERROR = "connector_error"
    UNAVAILABLE = "unavailable"


class Action(enum.StrEnum):
    """What a client does about an error code."""

    FIX_TOKEN = "fix the token"
    FIX_URL = "fix the URL"
    FIX_REQUEST = "fix the request (a bug in the caller)"
    FIX_INPUT = "fix the values and send again"
    RESEND_CONFIG = "re-send the config (PUT connections/{guid}) and retry once"
    RESTART_PAGING = "start paging again without the cursor"
    REREAD = "read the actor again, re-apply the change, save again"
    DO_NOT_RETRY = "do not retry; the operation is not offered"
    REPORT = "show user_explanation, log tech_explanation; do not retry blindly"
    RETRY_LATER = "retry later"


@dataclass(frozen=True)
class ErrorSpec:
    """One row of the table: the code, its HTTP status, when it is answered, the client's move."""

    code: ErrorCode
    status: int
    when: str
    action: Action


OTHER_CODE_STATUS = 400
"""HTTP status of an error envelope whose code is not in the table (a connector's own)."""

_C, _A = ErrorCode, Action
ERRORS: dict[str, ErrorSpec] = {
    spec.code.value: spec
    for spec in (
        ErrorSpec(_C.UNAUTHORIZED, 401, "missing or wrong bearer token", _A.FIX_TOKEN),
        ErrorSpec(_C.UNKNOWN_CONNECTOR, 404, "no connector with that id here", _A.FIX_URL),
        ErrorSpec(_C.NOT_FOUND, 404, "no such operation (path, trailing slash)", _A.FIX_URL),
        ErrorSpec(_C.METHOD_NOT_ALLOWED, 405, "the path exists, not with that method", _A.FIX_URL),
        ErrorSpec(
            _C.UNKNOWN_CONNECTION,
            404,
            "the GUID has no stored config (e.g. the connector restarted)",
            _A.RESEND_CONFIG,
        ),
        ErrorSpec(
            _C.INVALID_REQUEST,
            422,
            "body, query or path do not match the schema (types, bounds, non-UTF-8 bytes)",
            _A.FIX_REQUEST,
        ),
        ErrorSpec(
            _C.INVALID_CONFIG,
            422,
            "config values fail the declared types, lengths, lists or mandatory flags",
            _A.FIX_INPUT,
        ),
        ErrorSpec(_C.LOGIN_FAILED, 422, "the ERP refused the login in the config", _A.FIX_INPUT),
        ErrorSpec(_C.READ_ONLY, 403, "the connection may not write to the ERP", _A.FIX_INPUT),
        ErrorSpec(
            _C.UNKNOWN_ACTOR_TYPE, 404, "the connector has no such actor type", _A.FIX_REQUEST
        ),
        ErrorSpec(
            _C.UNKNOWN_FIELD, 422, "a field key the actor type does not have", _A.FIX_REQUEST
        ),
        ErrorSpec(_C.UNKNOWN_LIST, 404, "the connector has no list of that name", _A.FIX_REQUEST),
        ErrorSpec(_C.UNKNOWN_ACTOR, 404, "save of an erp_key the ERP does not have", _A.REREAD),
        ErrorSpec(_C.UNKNOWN_PARENT, 422, "the parent actor named does not exist", _A.FIX_INPUT),
        ErrorSpec(_C.INVALID_ACTOR, 422, "the actor as a whole cannot be written", _A.FIX_INPUT),
        ErrorSpec(
            _C.INVALID_VALUE,
            422,
            "a field value is not of its declared type, too long, or not in its list",
            _A.FIX_INPUT,
        ),
        ErrorSpec(_C.MANDATORY_FIELD, 422, "a mandatory field would be empty", _A.FIX_INPUT),
        ErrorSpec(_C.READONLY_FIELD, 422, "a read-only field was given a value", _A.FIX_INPUT),
        ErrorSpec(
            _C.INVALID_RESTRICTION,
            422,
            "unknown operator for the field type, wrong number of values, unsearchable field",
            _A.FIX_REQUEST,
        ),
        ErrorSpec(
            _C.INVALID_CURSOR, 422, "a cursor this connector did not hand out", _A.RESTART_PAGING
        ),
        ErrorSpec(_C.INVALID_STAMP, 422, "`since` is not a stamp of this ERP", _A.FIX_REQUEST),
        ErrorSpec(
            _C.CONFLICT,
            409,
            "save with check_last_modified: the actor changed since it was read",
            _A.REREAD,
        ),
        ErrorSpec(
            _C.NOT_SUPPORTED, 501, "the connector does not offer the operation", _A.DO_NOT_RETRY
        ),
        ErrorSpec(_C.CONNECTOR_ERROR, 500, "the connector raised or answered garbage", _A.REPORT),
        ErrorSpec(_C.UNAVAILABLE, 503, "the ERP is temporarily unreachable", _A.RETRY_LATER),
    )
}
"""Code -> its row; every ErrorCode has one (a test checks)."""


def status_for(error_code: str) -> int:
    """The HTTP status of an error envelope with this code."""
    spec = ERRORS.get(error_code)
    return spec.status if spec is not None else OTHER_CODE_STATUS


ERROR_STATUSES: tuple[int, ...] = tuple(
    sorted({OTHER_CODE_STATUS, *(s.status for s in ERRORS.values())})
)
"""Every status an error envelope can have; the OpenAPI document declares each."""
