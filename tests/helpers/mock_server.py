"""Start and stop a real `erpsync mock-server` subprocess on a free loopback port."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SERVING_PREFIX = "serving connector mock at "


@dataclass
class MockServer:
    """A running `erpsync mock-server` subprocess."""

    url: str  # http://127.0.0.1:PORT/connectors/mock
    token: str
    token_file: Path
    port: int
    process: subprocess.Popen[str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def env_without_erpsync(env: dict[str, str] | None = None) -> dict[str, str]:
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if not k.startswith("ERPSYNC_")}


def _first_line(stream: IO[str], timeout: float) -> str:
    """The first line of `stream`; a daemon thread keeps draining it afterwards."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        first = True
        for line in stream:
            if first:
                lines.put(line)
                first = False
        if first:
            lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


def _wait_until_serving(base: str, timeout: float) -> None:
    # The URL is printed once the socket is bound; uvicorn listens a moment later.
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_mock_server(directory: Path, *extra: str) -> MockServer:
    """Start `erpsync mock-server --port 0 --token-file ...` and wait until it answers."""
    token_file = directory / "mock-server.token"
    stderr_path = directory / "mock-server.stderr"
    command = [
        sys.executable,
        "-m",
        "host.cli",
        "mock-server",
        "--port",
        "0",
        "--token-file",
        str(token_file),
        *extra,
    ]
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**env_without_erpsync(), "ERPSYNC_HOME": str(directory / "home")},
            cwd=str(directory),
        )
    assert process.stdout is not None
    line = _first_line(process.stdout, timeout=60).strip()
    if not line.startswith(SERVING_PREFIX):
        stop_process(process)
        raise RuntimeError(
            f"mock server did not start: stdout {line!r}, stderr {stderr_path.read_text()!r}"
        )
    url = line[len(SERVING_PREFIX) :]
    host_port = url.split("://", 1)[1].split("/", 1)[0]
    server = MockServer(
        url=url,
        token=token_file.read_text(encoding="utf-8").strip(),
        token_file=token_file,
        port=int(host_port.rsplit(":", 1)[1]),
        process=process,
    )
    try:
        _wait_until_serving(server.base, timeout=30)
    except Exception:
        stop_process(process)
        raise
    return server


def stop_process(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then closed), for a server to bind next.

    For a port that must refuse connections, use refusing_port(): a closed one may be taken
    meanwhile by a server of a test running in parallel (pytest -n 2).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses every connection for as long as the block runs.

    Bound but never listening: Linux answers a connect with RST (connection refused), and no
    other process can bind the port meanwhile.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
