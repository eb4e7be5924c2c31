"""The sign-in rate limit: failed attempts per admin name and per client address.

Counted in memory (one `erpsync web` process serves the admin); a restart forgets them, which
costs an attacker a restart of a process they do not control.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 10_000
"""Bound on remembered names and addresses, so a flood of random names cannot grow memory."""


class LoginRateLimiter:
    """Refuses sign-in for a name or an address after too many recent failures."""

    def __init__(
        self,
        per_name: int = 5,
        per_address: int = 20,
        window_seconds: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_name = per_name
        self.per_address = per_address
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], stamp: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= stamp - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, name: str, address: str) -> float:
        """Seconds until this name from this address may try again; 0 when it may now."""
        stamp = self.clock()
        wait = 0.0
        with self._lock:
            for key, limit in (
                (("name", name.casefold()), self.per_name),
                (("addr", address), self.per_address),
            ):
                failures = self._recent(key, stamp)
                if len(failures) >= limit:
                    wait = max(wait, failures[-limit] + self.window - stamp)
        return wait

    def failed(self, name: str, address: str) -> None:
        stamp = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                for key in list(self._failures):
                    self._recent(key, stamp)
                while len(self._failures) >= MAX_KEYS:  # still full: forget the oldest
                    del self._failures[next(iter(self._failures))]
            for key in (("name", name.casefold()), ("addr", address)):
                self._failures.setdefault(key, deque(maxlen=max(self.per_name, self.per_address)))
                self._failures[key].append(stamp)

    def succeeded(self, name: str) -> None:
        """A right password clears the name's failures (not the address's)."""
        with self._lock:
            self._failures.pop(("name", name.casefold()), None)
