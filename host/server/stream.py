"""The streamed changes feed (protocol v1.1): every actor changed since a stamp in one answer.

Built on the connector's own `changed_since` pages, so every Python connector that pages its
changes offers it. One request replaces a round trip per page: the host asks the connector for
the next page only once the last one was written to the socket (an async generator under
Starlette's StreamingResponse, whose send waits while the client's receive window is full),
so a slow reader holds one page in memory, not the whole feed. After each page but the last a
position line says where to resume; the last line is the end (with the stamp to ask from next
time) or, if the connector failed half-way, an error envelope.
"""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from starlette.responses import StreamingResponse

from host.connector import Actor, Page, Response
from host.protocol import models as m
from host.protocol.operations import STREAM_MEDIA_TYPE
from host.server.calls import _answer, _envelope
from host.server.shapes import _actor, plain_actor_objects

FetchPage = Callable[[str], Awaitable[tuple[Response, Any]]]
"""(envelope, page payload as `page_objects` shapes it) of the page at a cursor."""

_encoder = msgspec.json.Encoder()


class NDJSONResponse(StreamingResponse):
    """A streamed answer of JSON lines."""

    media_type = STREAM_MEDIA_TYPE


async def changes_stream(fetch: FetchPage, since: str, cursor: str) -> Any:
    """The streamed answer, or the first page's error envelope (with its HTTP status) when
    the connector fails before anything was sent: a bad cursor, an unknown actor type."""
    response, page = await fetch(cursor)
    if not response.ok:
        return _answer(response)
    return NDJSONResponse(lines(fetch, page, since))


async def lines(fetch: FetchPage, page: dict[str, Any], since: str) -> AsyncIterator[bytes]:
    """The stream's lines, one page at a time (each page's actors in one chunk)."""
    count, newest, seen = 0, since, set()
    while True:
        actors = page["actors"]
        body = actor_lines(actors)
        if body is None:
            yield _error_line(
                Response.error(
                    "The connector answered an actor the protocol cannot carry.",
                    "an actor value is not a JSON value of the field's type",
                    "connector_error",
                )
            )
            return
        count += len(actors)
        if actors:
            newest = max(newest, max(map(_LAST_MODIFIED, actors)))
        cursor = page["cursor"]
        if not cursor:
            end = {"end": True, "count": count, "next_since": newest}
            yield b"".join((body, _encoder.encode(end), b"\n"))
            return
        if cursor in seen:
            yield body + _error_line(
                Response.error(
                    "The connector repeats itself: it handed out the same cursor twice.",
                    f"cursor {cursor[:40]!r} came back after {count} actors",
                    "connector_error",
                )
            )
            return
        seen.add(cursor)
        yield b"".join((body, _encoder.encode({"position": cursor, "count": count}), b"\n"))
        response, page = await fetch(cursor)
        if not response.ok:
            yield _error_line(response)
            return


def actor_lines(actors: list[Actor]) -> bytes | None:
    """One JSON line per actor, written by msgspec straight from the `Actor` dataclasses
    (their fields in the wire's order: no dict per actor); values that are not plain JSON
    are checked against the protocol's actor model (None when they do not fit)."""
    if plain_actor_objects(actors):
        body = _encode_lines(actors)
        if body is not None:
            return body
    out = []
    for actor in actors:
        try:
            out.append(m.ActorModel.model_validate(_actor(actor)).model_dump_json().encode())
        except (ValueError, TypeError):
            return None
    return b"".join(line + b"\n" for line in out)


def _encode_lines(actors: list[Actor]) -> bytes | None:
    try:
        return _encoder.encode_lines(actors)
    except (ValueError, TypeError, OverflowError, UnicodeEncodeError):
        return None


def page_objects(result: Any) -> dict[str, Any]:
    """A connector's Page as the stream writes it: the Actor objects themselves."""
    if not isinstance(result, Page):
        raise TypeError(f"expected a host.Page, got {type(result).__name__}")
    actors = list(result.actors)
    if not _ACTOR_TYPE.issuperset(map(type, actors)) and not all(
        isinstance(a, Actor) for a in actors
    ):
        raise TypeError("expected a list of host.Actor")
    return {"actors": actors, "cursor": result.cursor}


_ACTOR_TYPE = frozenset({Actor})
_LAST_MODIFIED = operator.attrgetter("last_modified")


def _error_line(response: Response) -> bytes:
    return _encoder.encode({"error": _envelope(response)}) + b"\n"
