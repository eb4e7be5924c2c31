"""The OpenAPI document as a partner generates a client from it (protocol v1.1).

FastAPI's document is refined here: paths are relative to the connector's base URL (the
`/connectors/{connector_id}/v1` prefix becomes a server with variables, so a generated client
is pointed at any connector, in any language), operationIds are the table's short names,
the error codes are an enum with their HTTP status and client action, and the connector id
path parameter disappears from every operation.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from host.protocol import operations as ops
from host.protocol.errors import ERRORS, ErrorCode

PREFIX = "/connectors/{connector_id}" + ops.BASE_PATH

SERVERS = [
    {
        "url": "{scheme}://{host}/connectors/{connector_id}" + ops.BASE_PATH,
        "description": "A connector served by `erpsync serve`; a connector written in another "
        "language is at its own base URL plus /v1",
        "variables": {
            "scheme": {"default": "http", "enum": ["http", "https"]},
            "host": {"default": "127.0.0.1:8765", "description": "host:port of the host"},
            "connector_id": {"default": "mock", "description": "the connector's id"},
        },
    }
]


def error_code_schema() -> dict[str, Any]:
    """The ErrorCode enum with each code's status and action as extensions."""
    rows = "\n".join(
        f"- `{c}` (HTTP {s.status}): {s.when}; client: {s.action.value}" for c, s in ERRORS.items()
    )
    return {
        "type": "string",
        "title": "ErrorCode",
        "enum": [c.value for c in ErrorCode],
        "description": "The error codes protocol v1.1 defines. A connector may answer a code of "
        "its own (HTTP 400); clients show its user_explanation.\n" + rows,
        "x-http-status": {c: s.status for c, s in ERRORS.items()},
        "x-client-action": {c: s.action.value for c, s in ERRORS.items()},
    }


def refine(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document made partner-ready (see the module docstring)."""
    paths: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        if not path.startswith(PREFIX):
            continue
        for operation in item.values():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                streamed = content.get(ops.STREAM_MEDIA_TYPE)
                if not isinstance(streamed, dict):
                    continue
                streamed.get("schema", {}).pop("type", None)  # FastAPI's "string" beside $ref
                if status != "200":  # errors of a streamed operation are JSON envelopes
                    content["application/json"] = content.pop(ops.STREAM_MEDIA_TYPE)
            params = [p for p in operation.get("parameters", []) if p.get("name") != "connector_id"]
            if params:
                operation["parameters"] = params
            else:
                operation.pop("parameters", None)
        paths[path.removeprefix(PREFIX)] = item
    document["paths"] = paths
    document["servers"] = SERVERS
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorCode"] = error_code_schema()
    for name, schema in schemas.items():
        props = schema.get("properties", {})
        if name.startswith(("Envelope", "PagedEnvelope")) and "error_code" in props:
            props["error_code"] = {
                "anyOf": [{"$ref": "#/components/schemas/ErrorCode"}, {"type": "string"}],
                "title": "Error Code",
                "description": props["error_code"].get("description", ""),
            }
    return document


def refine_openapi(app: FastAPI) -> None:
    """Serve and render the refined document (`python -m host.server.openapi`)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = refine(plain())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
