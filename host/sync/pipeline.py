"""Apply a feed's pages while the next ones are read: in a worker thread over plain pages.

Why: applying a page (mapping, SQLite writes, commit) is synchronous. Over **plain pages**
the client asks for the next page as a task before it hands a page out (host/client's
`_paged`), but a task only runs when the event loop gets control: with the apply on the
loop's thread the next request went out only after the commit, and every page paid the
connector's whole latency on top of the apply. Here the apply runs in one worker thread, so
the loop sends the next request and reads its answer meanwhile (SQLite also releases the GIL
while it writes, so on a free core the two overlap).

Over the **streamed feed** the connector writes the next pages into the socket while this
side applies, without any request, so there is nothing to prefetch; a second thread there
only competes with the loop for the GIL: on this project's 2-core bench machine it cost
0.1-0.4 s more CPU per 100,000 customers and ran nothing side by side, at loads from 2 to 11
(docs/performance.md, "Sync import"). So the caller says which feed it reads (`in_thread`,
asked once the first page is there: the client has decided by then) and a streamed feed is
applied on the loop's thread.

Nothing about order or atomicity changes: pages are applied one at a time, in feed order,
each by the caller's `apply` (which commits the page with its checkpoint in one
transaction); a page is handed over only after the previous one returned. A failure of the
feed is raised after the pages read before it are applied (as a plain loop would); a failure
of `apply` stops the reading at once. On the way out (finished, failed or cancelled) this
waits for the page being applied, so the caller never shares the store with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from host.client import ConnectorClient

T = TypeVar("T")

AHEAD = 2
"""Pages read ahead of the one being applied (bounds memory: a page is at most 1,000 actors)."""


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def plain_pages(client: ConnectorClient) -> Callable[[], bool]:
    """For `in_thread`: true when `client` reads the changes as plain pages, i.e. the
    connector declared no streamed feed (the rule `ConnectorClient.changes` follows)."""
    from host.protocol import operations as ops

    return lambda: client.capabilities is None or not client.offers(ops.CHANGES_STREAM.name)


async def apply_pages(
    pages: AsyncIterator[T],
    apply: Callable[[T], None],
    *,
    ahead: int = AHEAD,
    in_thread: Callable[[], bool] = lambda: True,
) -> None:
    """Call `apply(page)` for every page of `pages`, in order: in one worker thread when
    `in_thread()` (asked once, when the first page is read), else on the loop's thread."""
    queue: asyncio.Queue[T | _End] = asyncio.Queue(maxsize=ahead)

    async def read() -> None:
        try:
            async for page in pages:
                await queue.put(page)
        except Exception as exc:  # handed to the applying side, after the pages before it
            await queue.put(_End(exc))
        else:
            await queue.put(_End())

    loop = asyncio.get_running_loop()
    reader = asyncio.ensure_future(read())
    worker: ThreadPoolExecutor | None = None
    decided = False
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            if not decided:
                decided = True
                if in_thread():
                    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erpsync-apply")
            if worker is None:
                apply(item)
            else:
                await loop.run_in_executor(worker, apply, item)
    finally:
        if worker is not None:
            worker.shutdown(wait=True)  # a page being applied finishes (commits or rolls back)
        if not reader.done():
            reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
