"""The connector host app: each loaded connector served over protocol v1 at /connectors/<id>/v1.

Partners write a Python class; this module gives it HTTP, validation, the error envelope, auth
and config storage. Routes are built from the protocol's table of operations
(host.protocol.operations), each mounted on its body from host.server.routes (most share one:
look up the connection, call the connector, wrap the answer).
"""

import hmac
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from host.connector import Connector, Response
from host.protocol import PROTOCOL_VERSION
from host.protocol import models as m
from host.protocol import operations as ops
from host.protocol.errors import ERROR_STATUSES, ErrorCode
from host.server.calls import EnvelopeError, _envelope
from host.server.document import refine_openapi
from host.server.fastpath import FastPath
from host.server.routes import PATH_TYPES, ConnectorId, Served
from host.server.store import ConnectionStore
from host.server.stream import NDJSONResponse

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": m.Envelope[None],
        "description": "An error envelope; its error_code is one of ErrorCode with this status"
        + (" or a connector's own code" if status == 400 else ""),
    }
    for status in ERROR_STATUSES
}


def create_app(
    connectors: Mapping[str, Connector],
    *,
    token: str | None,
    store: ConnectionStore | None = None,
    fast_path: bool = True,
) -> FastAPI:
    """Build the ASGI app; `token=None` means no auth (the CLI allows that only on loopback).

    `fast_path` answers the hot read routes without FastAPI's per-request machinery
    (host.server.fastpath); off, every request takes the full route (tests compare the two)."""
    store = store if store is not None else ConnectionStore()
    app = FastAPI(
        title="erpsync connector host",
        version=PROTOCOL_VERSION,
        description="Protocol v1 between the erpsync admin side and sync connectors.",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # a trailing slash is not_found, never a 307 with no body
    )
    app.state.store = store
    _add_error_handlers(app)
    served = Served(connectors, store)
    router = APIRouter(
        prefix="/connectors/{connector_id}" + ops.BASE_PATH,
        dependencies=[Depends(_token_check(token))],
        responses=ERROR_RESPONSES,
    )
    conn = Annotated[Connector, Depends(served.connector_for)]
    endpoints = served.endpoints()
    for op in ops.OPERATIONS:
        envelope: Any = m.PagedEnvelope if op.paged else m.Envelope
        endpoint = endpoints[op.name]
        endpoint.__name__ = op.name
        endpoint.__doc__ = None
        endpoint.__signature__ = _signature(op, conn)  # type: ignore[attr-defined]
        shape: dict[str, Any] = {"response_model": envelope[op.answer]}
        if op.streamed:
            shape = {
                "response_model": None,
                "response_class": NDJSONResponse,
                "responses": {200: {"model": op.answer, "description": "One JSON line each"}},
            }
        router.add_api_route(
            op.path,
            endpoint,
            methods=[op.method],
            summary=op.summary,
            name=op.name,
            operation_id=op.name,
            **shape,
        )
    app.include_router(router)
    if fast_path:
        app.add_middleware(FastPath, token=token, served=served, endpoints=endpoints)

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, Any]:
        return {"connectors": sorted(connectors), "protocol_version": PROTOCOL_VERSION}

    refine_openapi(app)
    return app


def _signature(op: ops.Operation, conn: Any) -> inspect.Signature:
    """What FastAPI reads of a route: its path parameters, the connector, body and query."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("connector_id", keyword, annotation=ConnectorId)]
    params += [inspect.Parameter(n, keyword, annotation=PATH_TYPES[n]) for n in op.path_params]
    params.append(inspect.Parameter("connector", keyword, annotation=conn))
    if op.request is not None:
        params.append(inspect.Parameter("body", keyword, annotation=op.request))
    for q in op.query:
        query = Query(description=q.description or None, ge=q.ge, le=q.le)
        annotation = Annotated[q.annotation, query]  # type: ignore[name-defined]
        params.append(inspect.Parameter(q.name, keyword, annotation=annotation, default=q.default))
    return inspect.Signature(params)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EnvelopeError)
    async def _envelope_error(request: Request, exc: EnvelopeError) -> JSONResponse:
        return JSONResponse(_envelope(exc.response), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}"
            for err in exc.errors()
        )
        response = Response.error("The request is invalid.", problems, "invalid_request")
        return JSONResponse(_envelope(response), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI answers 400 for a body it cannot even decode (bytes that are not
            # UTF-8 JSON); the protocol answers every malformed request 422 invalid_request.
            response = Response.error("The request is invalid.", str(exc.detail), "invalid_request")
            return JSONResponse(_envelope(response), status_code=422)
        if exc.status_code == 405:
            response = Response.error(
                f"{request.method} is not an operation of {request.url.path}.",
                "see docs/protocol.md for each path's method",
                ErrorCode.METHOD_NOT_ALLOWED,
            )
            headers = getattr(exc, "headers", None)
            return JSONResponse(_envelope(response), status_code=405, headers=headers)
        if exc.status_code == 404:
            response = Response.error(
                "No such operation: check the URL (no trailing slash).",
                f"no route for {request.method} {request.url.path}",
                ErrorCode.NOT_FOUND,
            )
            return JSONResponse(_envelope(response), status_code=404)
        response = Response.error(str(exc.detail), "", ErrorCode.INVALID_REQUEST)
        return JSONResponse(_envelope(response), status_code=exc.status_code)


def _token_check(token: str | None) -> Callable[..., Awaitable[None]]:
    """The router's token dependency; async, so FastAPI runs it inline, not in a thread."""
    bearer = HTTPBearer(auto_error=False, description="The token the connector host was given")

    async def check_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if token is None:
            return
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise EnvelopeError(
                401,
                Response.error(
                    "The connector host refused the request: missing or wrong token.",
                    "send Authorization: Bearer <token>",
                    "unauthorized",
                ),
            )

    return check_token
