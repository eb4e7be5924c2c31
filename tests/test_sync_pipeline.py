"""host/sync/pipeline.py: pages applied in a worker thread, in order, while the next are read."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from helpers.mock_server import MockServer
from helpers.sync_env import make_env

from host.client import ConnectorClient
from host.connector import Page
from host.sync.pipeline import apply_pages, plain_pages

GUARD = 30.0  # seconds: only so that a broken overlap fails instead of hanging


async def numbers(count: int, read: list[int], fail_after: int | None = None) -> AsyncIterator[int]:
    for n in range(count):
        if fail_after is not None and n == fail_after:
            raise ConnectionError(f"feed cut at {n}")
        read.append(n)
        await asyncio.sleep(0)
        yield n


def test_every_page_is_applied_once_in_order_off_the_event_loop() -> None:
    applied: list[int] = []
    threads: set[int] = set()

    async def go() -> int:
        await apply_pages(numbers(50, []), lambda n: (applied.append(n), threads.add(
            threading.get_ident())))  # fmt: skip
        return threading.get_ident()

    loop_thread = asyncio.run(go())
    assert applied == list(range(50))
    assert len(threads) == 1 and loop_thread not in threads


def test_the_next_page_is_read_while_one_is_applied() -> None:
    read: list[int] = []
    overlapped: list[bool] = []

    def apply(n: int) -> None:
        # a plain loop would read page n+1 only after this returns: wait for it to be read now
        seen = threading.Event()
        for _ in range(int(GUARD * 100)):
            if n + 1 in read or n == 9:
                seen.set()
                break
            threading.Event().wait(0.01)
        overlapped.append(seen.is_set())

    asyncio.run(apply_pages(numbers(10, read), apply))
    assert overlapped == [True] * 10


def test_a_feed_failure_comes_after_the_pages_read_before_it() -> None:
    applied: list[int] = []
    with pytest.raises(ConnectionError, match="feed cut at 4"):
        asyncio.run(apply_pages(numbers(10, [], fail_after=4), applied.append))
    assert applied == [0, 1, 2, 3]


def test_an_apply_failure_stops_reading_and_closes_the_feed() -> None:
    read: list[int] = []
    closed: list[bool] = []

    async def feed() -> AsyncIterator[int]:
        try:
            async for n in numbers(1000, read):
                yield n
        finally:
            closed.append(True)

    def apply(n: int) -> None:
        if n == 3:
            raise ValueError("bad page 3")

    with pytest.raises(ValueError, match="bad page 3"):
        asyncio.run(apply_pages(feed(), apply, ahead=2))
    assert closed == [True]
    assert max(read) <= 3 + 2 + 1  # at most the pages read ahead of the failed one


def test_cancelling_waits_for_the_page_being_applied() -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[int] = []

    def apply(n: int) -> None:
        started.set()
        release.wait(GUARD)
        finished.append(n)

    async def go() -> None:
        task = asyncio.ensure_future(apply_pages(numbers(5, []), apply))
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        threading.Timer(0.05, release.set).start()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the page that was being applied has finished before the cancellation came out
        assert finished == [0]

    asyncio.run(go())


class Recording(httpx.AsyncHTTPTransport):
    """A real loopback transport that notes the cursor of every changes request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.cursors: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/changes"):
            self.cursors.append(request.url.params.get("cursor", ""))
        return await super().handle_async_request(request)


def test_plain_pages_are_fetched_ahead_while_a_page_is_applied(
    mock_server: MockServer, erpsync_home: Path
) -> None:
    """A connector without the streamed feed: while page N is applied, the request for page
    N+1 is already sent (the client's `_paged` makes the task; the pipeline lets it run)."""
    env = make_env(mock_server, erpsync_home)
    guid = env.add_connection("pipeline")
    transport = Recording()
    sent_before_applied: list[bool] = []

    def apply(page: Page) -> None:
        if not page.cursor:
            return
        for _ in range(int(GUARD * 100)):
            if page.cursor in transport.cursors:
                break
            threading.Event().wait(0.01)
        sent_before_applied.append(page.cursor in transport.cursors)

    async def go() -> None:
        async with ConnectorClient(
            mock_server.url, token=mock_server.token, transport=transport, timeout=60
        ) as client:
            client.capabilities = {"operations": ["changed_since"]}  # no streamed feed
            await apply_pages(client.changes(guid, "customer", "", page_size=20), apply)

    asyncio.run(go())
    assert transport.cursors[0] == ""
    assert len(sent_before_applied) >= 3
    assert all(sent_before_applied), sent_before_applied


def test_on_the_loop_thread_when_told_so_in_order() -> None:
    applied: list[tuple[int, int]] = []

    async def go() -> int:
        await apply_pages(
            numbers(20, []), lambda n: applied.append((n, threading.get_ident())),
            in_thread=lambda: False,
        )  # fmt: skip
        return threading.get_ident()

    loop_thread = asyncio.run(go())
    assert [n for n, _ in applied] == list(range(20))
    assert {t for _, t in applied} == {loop_thread}


def test_a_worker_thread_only_for_plain_pages() -> None:
    """The streamed feed needs no prefetch (the connector writes ahead by itself); plain
    pages do, and so do a 1.0 connector and one whose info is unknown (both read pages)."""
    client = ConnectorClient("http://127.0.0.1:9", token="t")
    threaded = plain_pages(client)
    assert threaded() is True  # info not asked: capabilities unknown, pages
    client.capabilities = {"operations": ["changed_since"]}
    assert threaded() is True
    client.capabilities = {"operations": ["changed_since", "changes_stream"]}
    assert threaded() is False
    asyncio.run(client.aclose())
