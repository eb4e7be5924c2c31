"""Search paging (protocol v1.1): no search answer is cut silently.

A Python connector's search methods return every match (or, when they take a `limit`
argument, at most that many: see `takes_limit`); the host hands them out `limit` at a
time with an opaque cursor bound to the request it continues (the same body but the cursor),
so a cursor sent with another request is refused with `invalid_cursor` instead of paging
through the wrong results. A cut answer says so in words too (state `ok_with_info`), for a
1.0 client that does not read `next_cursor`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import json
from typing import Any

from pydantic import BaseModel

from host.connector import Connector, Response
from host.protocol import operations as ops
from host.protocol.errors import ErrorCode
from host.server.calls import EnvelopeError

DEFAULT_CHANGES_PAGE_SIZE = 100


def page_sizes(connector: Connector) -> dict[str, dict[str, int]]:
    """The page-size bounds a connector declares (class attributes, with the protocol's)."""
    # The wire's own bound caps what a connector declares: a larger page is refused as
    # a request before the connector is asked (ops.MAX_PAGE_SIZE).
    top = min(ops.MAX_PAGE_SIZE, max(1, int(connector.max_page_size)))
    search = min(top, max(1, int(connector.search_page_size)))
    changes = min(top, DEFAULT_CHANGES_PAGE_SIZE)
    return {
        "page_size": {"default": changes, "max": top},
        "search_page_size": {"default": search, "max": top},
    }


def check_limit(connector: Connector, limit: int | None, what: str) -> None:
    """Refuse a limit above the connector's declared maximum (invalid_request, 422)."""
    top = page_sizes(connector)["page_size"]["max"]
    if limit is not None and limit > top:
        raise EnvelopeError(
            422,
            Response.error(
                f"limit {limit} is larger than this connector's page size maximum {top}.",
                f"{what}: limit must be 1..{top} (info capabilities.page_size.max)",
                ErrorCode.INVALID_REQUEST,
            ),
        )


def _fingerprint(scope: tuple[str, ...], body: BaseModel) -> str:
    rest = body.model_dump(exclude={"cursor", "limit"})
    raw = json.dumps([list(scope), rest], sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def encode(offset: int, fingerprint: str) -> str:
    raw = json.dumps([offset, fingerprint], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, fingerprint: str) -> int:
    """The offset a cursor continues from; invalid_cursor when it is not ours or not for this
    request."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        offset, printed = json.loads(raw)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError("bad offset")
    except (ValueError, TypeError, binascii.Error):
        raise _invalid(f"undecodable search cursor {cursor[:40]!r}") from None
    if printed != fingerprint:
        raise _invalid("the cursor belongs to another search request")
    return offset


def _invalid(tech: str) -> EnvelopeError:
    return EnvelopeError(
        422,
        Response.error(
            "The search cursor is not one handed out for this search; search again without it.",
            tech,
            ErrorCode.INVALID_CURSOR,
        ),
    )


def window(
    connector: Connector, scope: tuple[str, ...], body: Any, what: str
) -> tuple[int, int, str]:
    """(first match, page size, fingerprint) the body asks for; its cursor is checked here,
    before the connector is called."""
    sizes = page_sizes(connector)["search_page_size"]
    check_limit(connector, body.limit, what)
    fingerprint = _fingerprint(scope, body)
    start = decode(body.cursor, fingerprint) if body.cursor else 0
    return start, body.limit or sizes["default"], fingerprint


_TAKES_LIMIT: dict[tuple[type, str], bool] = {}


def takes_limit(operation: Any) -> bool:
    """Whether a connector's search method accepts `limit`: the most matches the host can use
    (a hint; the host cuts whatever comes back). A connector that stops there answers the
    first page of a blank search over a million actors without walking them all."""
    owner = getattr(operation, "__self__", None)
    key = (type(owner), getattr(operation, "__name__", ""))
    known = _TAKES_LIMIT.get(key)
    if known is None:
        try:
            parameter = inspect.signature(operation).parameters.get("limit")
        except (TypeError, ValueError):
            parameter = None
        known = parameter is not None and parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
        _TAKES_LIMIT[key] = known
    return known


def page(
    actors: list[dict[str, Any]], start: int, limit: int, fingerprint: str, *, hinted: bool
) -> tuple[Response, list[dict[str, Any]], str]:
    """(envelope, this page's actors, next cursor) of a result from match 0 on. `hinted`: the
    connector was asked for at most start + limit + 1 matches, so the total is unknown."""
    chunk = actors[start : start + limit]
    end = start + len(chunk)
    if end >= len(actors):
        return Response.success(), chunk, ""
    total = "" if hinted else f" of {len(actors)}"
    note = (
        f"Showing matches {start + 1}-{end}{total}; more match: ask again with "
        "next_cursor as cursor, or narrow the search."
    )
    return Response.success(note, info=True), chunk, encode(end, fingerprint)
