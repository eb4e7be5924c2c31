"""Reading the changes feed: page by page (each next page fetched ahead), or streamed in one
request (protocol v1.1, `changes_stream`) with the pages to fall back on when a stream is
refused or cut off, so nothing is read twice or skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import httpx

from host.connector import Actor, Page, Response, State
from host.failures import CallFailed, ConnectorClientError, ProtocolError
from host.protocol import operations as ops

from .contract import Contract

BULK_PAGE_SIZE = 1000
"""Actors per page (or per stream position) when reading every change: the protocol's max."""


class Changes(Contract):
    """The changes feed on top of the contract; ConnectorClient is this and its set-up."""

    _asked_info: bool
    _stream_problem: str
    next_since: str

    async def changes_page(
        self,
        guid: str,
        actor_type: str,
        since: str = "",
        *,
        cursor: str = "",
        limit: int = 100,
        field_keys: Sequence[str] = (),
    ) -> Page:
        limit = min(limit, self.max_page_size())
        params = {"since": since, "cursor": cursor, "limit": limit, "fields": list(field_keys)}
        data = await self._data(ops.CHANGED_SINCE, "changed since", guid, actor_type, params=params)
        if not isinstance(data, dict):
            raise self._shape_error("changed since", TypeError("expected an object"))
        actors = self._actors(data.get("actors"), "changed since")
        return Page(actors, str(data.get("cursor") or ""))

    async def changed_since(
        self,
        guid: str,
        actor_type: str,
        since: str = "",
        *,
        field_keys: Sequence[str] = (),
        page_size: int = BULK_PAGE_SIZE,
    ) -> AsyncIterator[Actor]:
        """Every actor modified on or after `since`: the streamed feed where the connector
        declares it (one request), else page after page (see `changes`)."""
        async for page in self.changes(
            guid, actor_type, since, field_keys=field_keys, page_size=page_size
        ):
            for actor in page.actors:
                yield actor

    async def changes(
        self,
        guid: str,
        actor_type: str,
        since: str = "",
        *,
        cursor: str = "",
        field_keys: Sequence[str] = (),
        page_size: int = BULK_PAGE_SIZE,
    ) -> AsyncIterator[Page]:
        """The changes from `cursor` on, a page at a time; each page's `cursor` is where to
        resume after it (empty on the last), so a caller can checkpoint as it goes.

        Over the streamed feed (v1.1, `changes_stream`) when the connector declares it: one
        request, lines decoded straight into `Actor`s, a page per position line. A stream
        refused before it began, or cut off, goes on with plain pages from the last position,
        so nothing is read twice or skipped. Plain pages are fetched one ahead, so the
        caller's work and the connector's overlap; a caller that stops early cancels that.
        """
        page_size = min(page_size, self.max_page_size())
        if await self._stream_offered():
            streamed = self._streamed(guid, actor_type, since, cursor, field_keys, page_size)
            async with contextlib.aclosing(streamed):
                async for page in streamed:
                    if page is None:
                        break  # refused or cut off: go on with pages from the last position
                    cursor = page.cursor
                    yield page
                    if not cursor:
                        return
        async for page in self._paged(guid, actor_type, since, cursor, field_keys, page_size):
            yield page

    async def changes_stream(
        self,
        guid: str,
        actor_type: str,
        since: str = "",
        *,
        cursor: str = "",
        field_keys: Sequence[str] = (),
        page_size: int = BULK_PAGE_SIZE,
    ) -> AsyncIterator[Page]:
        """The streamed feed alone, pages at its position lines, with no fall-back to plain
        pages: a stream refused or cut off is a ProtocolError (the conformance suite compares
        the stream with the pages)."""
        page_size = min(page_size, self.max_page_size())  # as `changes` does
        streamed = self._streamed(guid, actor_type, since, cursor, field_keys, page_size)
        async with contextlib.aclosing(streamed):
            async for page in streamed:
                if page is None:
                    raise ProtocolError(f"{self.label}: changes stream {self._stream_problem}")
                yield page
                if not page.cursor:
                    return

    async def _stream_offered(self) -> bool:
        """Whether the connector declares the streamed feed (asks info once if not yet)."""
        if self.capabilities is None and not self._asked_info:
            self._asked_info = True
            with contextlib.suppress(ConnectorClientError):
                await self.info()
        return self.capabilities is not None and self.offers(ops.CHANGES_STREAM.name)

    async def _streamed(
        self,
        guid: str,
        actor_type: str,
        since: str,
        cursor: str,
        field_keys: Sequence[str],
        page_size: int,
    ) -> AsyncGenerator[Page | None, None]:
        """Pages of the streamed feed; a last None when it must go on with plain pages."""
        from host.protocol import stream

        op = ops.CHANGES_STREAM
        params: dict[str, Any] = {
            "since": since,
            "cursor": cursor,
            "limit": page_size,
            "fields": list(field_keys),
        }
        request = self._http.build_request(op.method, op.url(guid, actor_type), params=params)
        try:
            answer = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            self._stream_problem = f"could not be asked for ({type(exc).__name__})"
            yield None  # the page path connects again, and says why if it cannot
            return
        try:
            media = answer.headers.get("content-type", "").split(";")[0].strip()
            if answer.status_code != 200 or media != ops.STREAM_MEDIA_TYPE:
                self._stream_problem = f"was refused: HTTP {answer.status_code} {media}"
                yield None  # an error envelope: the page path reads it (and re-sends config)
                return
            lines = stream.Lines(self._max_bytes)
            batch: list[Actor] = []
            try:
                async for chunk in answer.aiter_bytes():
                    for raw in lines.feed(chunk):
                        line = stream.decode_line(raw)
                        if isinstance(line, Actor):
                            batch.append(line)
                        elif isinstance(line, stream.Position):
                            yield Page(batch, line.cursor)
                            batch = []
                        elif isinstance(line, stream.End):
                            self.next_since = line.next_since
                            yield Page(batch, "")
                            return
                        else:
                            raise await self._stream_failed(guid, line.envelope)
            except httpx.TransportError as exc:
                # cut off: the actors after the last position are read again as a page
                self._stream_problem = f"was cut off ({type(exc).__name__})"
            except ValueError as exc:
                raise self._shape_error("changes stream", exc) from None
            else:
                self._stream_problem = "ended without its end line"
            yield None
        finally:
            await answer.aclose()

    async def _stream_failed(self, guid: str, envelope: dict[str, Any]) -> ConnectorClientError:
        scrubber = await self._scrubber(guid, None)
        try:
            response = Response(
                State(envelope["state"]),
                str(envelope.get("user_explanation") or ""),
                str(envelope.get("tech_explanation") or ""),
                str(envelope.get("error_code") or "error"),
            )
        except (KeyError, ValueError):
            return self._shape_error("changes stream", ValueError("an error line without envelope"))
        response = scrubber.response(response, "changes stream")
        explanation = response.user_explanation or response.error_code
        return CallFailed(f"{self.label}: changes stream failed: {explanation}", response)

    async def _paged(
        self,
        guid: str,
        actor_type: str,
        since: str,
        cursor: str,
        field_keys: Sequence[str],
        page_size: int,
    ) -> AsyncIterator[Page]:
        """Plain pages from `cursor`, each next one asked for while this one is handed out."""

        def fetch(position: str) -> asyncio.Task[Page]:
            return asyncio.ensure_future(
                self.changes_page(
                    guid, actor_type, since, cursor=position, limit=page_size, field_keys=field_keys
                )
            )

        pending = fetch(cursor)
        try:
            while True:
                page = await pending
                if page.cursor:
                    pending = fetch(page.cursor)
                yield page
                if not page.cursor:
                    return
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectorClientError):
                    await pending
