"""A command in a real pseudo-terminal, answered prompt by prompt (no pexpect needed)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import subprocess
import termios
import time


def _own_terminal() -> None:
    """In the child: a session of its own with the pty as controlling terminal, so Ctrl-C
    typed there is a SIGINT, with the default handling (a background runner may ignore it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """Runs `args` with stdin, stdout and stderr on a fresh pty; `seen` is the whole screen.

    `expect` consumes: each pattern is searched after the previous match, so a prompt that
    comes twice must be seen twice.
    """

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.fd, child = pty.openpty()
        self.process = subprocess.Popen(
            args,
            stdin=child,
            stdout=child,
            stderr=child,
            env=env,
            close_fds=True,
            preexec_fn=_own_terminal,
        )
        os.close(child)
        self.seen = ""
        self.pos = 0

    def expect(self, pattern: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not (match := re.compile(pattern).search(self.seen, self.pos)):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {pattern!r}; screen so far:\n{self.seen}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"EOF before {pattern!r}:\n{self.seen}")
                self.seen += chunk.decode(errors="replace")
        self.pos = match.end()

    def send(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())

    def interrupt(self) -> None:
        """Type Ctrl-C: the terminal sends SIGINT to the command."""
        os.write(self.fd, b"\x03")

    def finish(self, timeout: float = 30.0) -> int:
        with contextlib.suppress(AssertionError):
            self.expect(r"\Z(?!x)x", timeout=0.5)  # drain whatever is left
        code = self.process.wait(timeout=timeout)
        os.close(self.fd)
        return code
