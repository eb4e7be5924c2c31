"""A command in a real pseudo-terminal, answered prompt by prompt (no pexpect needed)."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import time


class Terminal:
    """Runs `args` with stdin, stdout and stderr on a fresh pty; `seen` is the whole screen."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.fd, child = pty.openpty()
        self.process = subprocess.Popen(
            args, stdin=child, stdout=child, stderr=child, env=env, close_fds=True
        )
        os.close(child)
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {pattern!r}; screen so far:\n{self.seen}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    assert re.search(pattern, self.seen), f"EOF before {pattern!r}:\n{self.seen}"
                    return
                self.seen += chunk.decode(errors="replace")

    def send(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())

    def interrupt(self) -> None:
        """Ctrl-C as a terminal sends it: SIGINT to the process."""
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 30.0) -> int:
        with contextlib.suppress(AssertionError):
            self.expect(r"\Z(?!x)x", timeout=0.5)  # drain whatever is left
        code = self.process.wait(timeout=timeout)
        os.close(self.fd)
        return code
