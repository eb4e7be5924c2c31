"""Paging a connector while applying pages: the next page's request goes out first."""

from __future__ import annotations

import asyncio
from typing import Any


async def send_ahead(task: asyncio.Task[Any]) -> None:
    """Let the next page's request go out before this page's (synchronous) apply and commit.

    A task runs only when the event loop gets control. Without this, the prefetch task made
    for the next page would not even send its request until the commit ended, and the
    connector would sit idle while the page is applied. A few loop turns get the request
    written (4 with httpx 0.28; more are allowed); the connector then works on it while this
    side applies. Measured in bench/sync_import.py's setting (pages of 500): the wait for the
    next page after a commit fell from 14.7 ms to 3.5 ms (median); a thread for the commit
    measured no better than none.
    """
    for _ in range(16):
        if task.done():
            return
        await asyncio.sleep(0)
