"""Serving an ASGI app with uvicorn: the one way every server here is started.

`erpsync serve`, `erpsync mock-server` and `erpsync web` (and so the demo, the tests' mock
server and the bench) call `run`; the pytest plugin and the tests' purpose-built servers use
`Server` in a thread. Either way the socket is bound first, so port 0 works and the URL shown
is the real one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

import uvicorn

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20.0


class CannotListen(OSError):
    """host:port cannot be bound (in use, not an address of this machine, no permission)."""


def bind(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one), or CannotListen."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Without it small answers wait on Nagle's algorithm: ~40 ms per request on loopback.
        _nodelay(sock)
        sock.bind((host, port))
        sock.listen(backlog)  # clients that connect before uvicorn starts wait, not fail
    except OSError as exc:
        sock.close()
        raise CannotListen(exc.errno, exc.strerror) from exc
    return sock


class Address:
    """Where a server listens: what `ready` callbacks print."""

    def __init__(self, host: str, port: int, scheme: str = "http") -> None:
        self.host, self.port, self.scheme = host, port, scheme

    @property
    def base(self) -> str:
        """http(s)://HOST:PORT, with an IPv6 host in brackets."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{shown}:{self.port}"


class Server(Address):
    """One ASGI app on one bound socket: `run()` in this thread, or `start()`/`stop()` (and
    `with`) in a daemon thread."""

    def __init__(
        self,
        app: Any,
        host: str = LOOPBACK,
        port: int = 0,
        *,
        log_level: str = "warning",
        access_log: bool = False,
        lifespan: Literal["auto", "on", "off"] = "auto",
        backlog: int = 2048,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        """`ssl_certfile` and `ssl_keyfile` together serve HTTPS."""
        self.host = host
        self.scheme = "https" if ssl_certfile else "http"
        self.sock = bind(host, port, backlog=backlog)
        self.port = int(self.sock.getsockname()[1])
        from host.server.badrequest import EnvelopeHTTPProtocol

        config = uvicorn.Config(
            app,
            http=EnvelopeHTTPProtocol,
            log_level=log_level,
            access_log=access_log,
            lifespan=lifespan,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until stopped (Ctrl-C, SIGTERM)."""
        try:
            self._server.run(sockets=[self.sock])
        finally:
            self.sock.close()

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Serve in a daemon thread; return once uvicorn says it has started."""
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self.sock]},
            name=f"erpsync-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start on {self.base}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _nodelay(sock: socket.socket) -> None:
    """TCP_NODELAY on a listening socket: Linux hands it on to every accepted connection."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def run_workers(
    factory: Callable[[], Any],
    workers: int,
    host: str = LOOPBACK,
    port: int = 0,
    *,
    ready: Callable[[Address], None] | None = None,
    log_level: str = "warning",
    access_log: bool = False,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> None:
    """Serve the app `factory()` builds in `workers` processes sharing one bound socket.

    `factory` is pickled to each spawned worker and called there (so it must be a picklable
    object, and everything the workers share must live outside their memory). The parent
    binds the socket, with TCP_NODELAY: the workers inherit that very socket, and Linux hands
    the option on to each accepted connection. Binding first makes port 0 work (`ready`
    sees the real URL); uvicorn's supervisor restarts a worker that dies and stops them all
    on Ctrl-C or SIGTERM.
    """
    from uvicorn.supervisors import Multiprocess

    from host.server.badrequest import EnvelopeHTTPProtocol

    sock = bind(host, port)
    config = uvicorn.Config(
        factory,
        factory=True,
        workers=workers,
        http=EnvelopeHTTPProtocol,  # every worker answers an unreadable request as one does
        log_level=log_level,
        access_log=access_log,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    if ready is not None:
        ready(Address(host, int(sock.getsockname()[1]), "https" if ssl_certfile else "http"))
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


def run(
    app: Any,
    host: str = LOOPBACK,
    port: int = 0,
    *,
    ready: Callable[[Server], None] | None = None,
    **options: Any,
) -> None:
    """Bind host:port and serve `app` in this thread until stopped; options as for `Server`.

    `ready(server)` is called once the socket is bound, before serving: the place to print
    the real URL (port 0 picks a free port).
    """
    server = Server(app, host, port, **options)
    if ready is not None:
        ready(server)
    server.run()
