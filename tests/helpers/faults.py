"""Purpose-built loopback servers that misbehave at the socket level, for the reliability tests.

- `RawServer`: a threaded TCP server that reads each HTTP request head, records it, and then
  does what its `mode` says: answer bytes, hang, trickle a body, stream a huge body, redirect.
- `backlog_full()`: a listening socket whose accept queue is full, so a connect times out.
- `tls_server()`: a `RawServer` behind TLS with a freshly made self-signed certificate.
- `serve_asgi()`: any ASGI app served by uvicorn in a thread, on a free loopback port.
- `registry_dump()`: every row of every table of a registry file, to compare before/after.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import socketserver
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OVER_THE_CAP = 33 * 1024 * 1024
"""More than ConnectorClient's default 32 MiB response cap."""


def envelope(data: Any = None, **overrides: Any) -> dict[str, Any]:
    body = {
        "ok": True,
        "state": "ok",
        "user_explanation": "",
        "tech_explanation": "",
        "error_code": "",
        "data": data,
    }
    return {**body, **overrides}


def http_answer(status: int, body: bytes, content_type: str, extra: str = "") -> bytes:
    reason = {200: "OK", 302: "Found", 307: "Temporary Redirect", 500: "Internal Server Error"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Status')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


HTML_502 = http_answer(
    502,
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
    b"<hr><center>nginx</center></body></html>",
    "text/html",
)
HTML_500 = http_answer(
    500,
    b"<html><body><h1>Internal Server Error</h1><p>Traceback hidden</p></body></html>",
    "text/html",
)
WRONG_SHAPE = http_answer(
    200, json.dumps({"status": "up", "items": [1, 2, 3]}).encode(), "application/json"
)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    at: float


@dataclass
class RawServer:
    """Answers every request the same way, whatever its path; keeps `requests`.

    Modes: "bytes" (send `payload`), "hang" (never answer), "trickle" (promise a body and
    send one byte every `interval` seconds), "huge" (declare an over-the-cap Content-Length
    and stream zeros), "huge-chunked" (no length, stream chunks past the cap), "redirect"
    (307 to `location`).
    """

    mode: str = "bytes"
    payload: bytes = b""
    location: str = ""
    interval: float = 0.1
    tls: ssl.SSLContext | None = None
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def get_request(self) -> tuple[socket.socket, Any]:
                conn, addr = super().get_request()
                owner.connections += 1
                if owner.tls is None:
                    return conn, addr
                conn.settimeout(5)
                return owner.tls.wrap_socket(conn, server_side=True), addr

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client hanging up mid-answer is what these tests provoke

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        scheme = "https" if self.tls is not None else "http"
        self.base = f"{scheme}://127.0.0.1:{self.port}"

    def hits(self) -> int:
        return len(self.requests)

    def _read_head(self, sock: socket.socket) -> Seen | None:
        data = b""
        sock.settimeout(10)
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = ([*lines[0].split(" "), "", ""])[:3]
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return Seen(method, path, headers, time.monotonic())

    def _handle(self, sock: socket.socket) -> None:
        try:
            seen = self._read_head(sock)
        except (OSError, ssl.SSLError):
            return
        if seen is None:
            return
        self.requests.append(seen)
        with contextlib.suppress(OSError, ssl.SSLError):  # the client gave up: the point
            self._answer(sock)

    def _answer(self, sock: socket.socket) -> None:
        if self.mode == "bytes":
            sock.sendall(self.payload)
        elif self.mode == "hang":
            self._stop.wait(60)
        elif self.mode == "trickle":
            body = json.dumps(envelope({"id": "slow"})).encode()
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body) + 10_000}\r\n\r\n".encode()
            )
            while not self._stop.wait(self.interval):
                sock.sendall(b" ")
        elif self.mode == "huge":
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {OVER_THE_CAP}\r\n\r\n".encode()
            )
            self._stream(sock, OVER_THE_CAP, chunked=False)
        elif self.mode == "huge-chunked":
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            self._stream(sock, OVER_THE_CAP, chunked=True)
        elif self.mode == "redirect":
            sock.sendall(http_answer(307, b"", "text/plain", f"Location: {self.location}\r\n"))
        else:  # pragma: no cover - a typo in a test
            raise ValueError(self.mode)

    def _stream(self, sock: socket.socket, total: int, *, chunked: bool) -> None:
        piece = b'{"ok": true, "data": "' + b"x" * (1 << 20)
        sent = 0
        while sent < total and not self._stop.is_set():
            if chunked:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                sock.sendall(piece[: total - sent])
            sent += len(piece)
        if chunked:
            sock.sendall(b"0\r\n\r\n")

    def start(self) -> None:
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def raw_server(mode: str = "bytes", **kwargs: Any) -> Iterator[RawServer]:
    server = RawServer(mode, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def backlog_full() -> Iterator[str]:
    """The base URL of a port that listens but never completes another handshake.

    listen(0) with one connection already queued and never accepted: Linux then drops
    further SYNs, so a client's connect waits until its connect timeout.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.2)
    try:
        try:
            probe.connect(("127.0.0.1", port))
        except (TimeoutError, OSError):
            pass
        else:  # pragma: no cover - a kernel that queues more: the test would be meaningless
            raise RuntimeError("the backlog did not fill up; cannot provoke a connect timeout")
        yield f"http://127.0.0.1:{port}"
    finally:
        probe.close()
        filler.close()
        listener.close()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "erpsync self-signed test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "self-signed.pem", directory / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def tls_server(directory: Path, payload: bytes) -> Iterator[tuple[RawServer, Path]]:
    """An HTTPS `RawServer` answering `payload`, and the path of its self-signed certificate."""
    cert_path, key_path = self_signed_cert(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    with raw_server("bytes", payload=payload, tls=context) as server:
        yield server, cert_path


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields http://127.0.0.1:PORT."""
    from host.server.run import Server

    with Server(app, log_level="critical", lifespan="off", backlog=128) as server:
        yield server.base


def registry_dump(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (migrations bookkeeping included), in a stable order."""
    conn = sqlite3.connect(str(db_path))
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "select name from sqlite_master where type = 'table' "
                "and name not like 'sqlite_%' order by name"
            )
        ]
        return {
            table: sorted(
                conn.execute(f'select * from "{table}"').fetchall(), key=lambda r: repr(r)
            )
            for table in tables
        }
    finally:
        conn.close()
