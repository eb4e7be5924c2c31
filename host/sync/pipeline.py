"""Apply a feed's pages in a worker thread while the event loop reads the next ones.

Why: a pull or an import is CPU-bound in one process. Reading the feed (HTTP, NDJSON lines
decoded by msgspec) runs on the event loop; applying a page (mapping, SQLite writes, commit)
is synchronous, so in one thread the two take turns and the next page waits on the commit.
SQLite releases the GIL while it writes (each row's step, the whole commit), so with the
apply in its own thread page N's SQLite work runs on the other core while the loop reads
and decodes page N+1.

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
from typing import TypeVar

T = TypeVar("T")

AHEAD = 2
"""Pages read ahead of the one being applied (bounds memory: a page is at most 1,000 actors)."""


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def apply_pages(
    pages: AsyncIterator[T], apply: Callable[[T], None], *, ahead: int = AHEAD
) -> None:
    """Call `apply(page)` for every page of `pages`, in order, in one worker thread."""
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
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erpsync-apply")
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            await loop.run_in_executor(worker, apply, item)
    finally:
        worker.shutdown(wait=True)  # a page being applied finishes (commits or rolls back)
        if not reader.done():
            reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
