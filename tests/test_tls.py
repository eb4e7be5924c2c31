"""HTTPS connectors: verification is always on; a private CA is trusted with --ca-bundle."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import Result
from helpers.faults import self_signed_cert

INFO = {
    "ok": True,
    "state": "ok",
    "user_explanation": "",
    "tech_explanation": "",
    "error_code": "",
    "data": {
        "id": "tls",
        "name": "TLS ERP",
        "vendor": "tests",
        "version": "1.0",
        "protocol_version": "1.0",
    },
}


class InfoHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(INFO).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_connector(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert_path, key_path = self_signed_cert(tmp_path)  # its own CA: trusted via --ca-bundle
    server = ThreadingHTTPServer(("127.0.0.1", 0), InfoHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/c/tls", cert_path
    finally:
        server.shutdown()
        server.server_close()


def test_an_unverifiable_certificate_is_refused_and_a_private_ca_is_trusted(
    invoke: Callable[..., Result], erpsync_home: Path, https_connector: tuple[str, Path]
) -> None:
    url, ca_path = https_connector
    refused = invoke("connectors", "add", "tls", url)
    assert refused.exit_code == 5
    assert "certificate does not verify" in refused.stderr and "--ca-bundle" in refused.stderr
    assert json.loads(invoke("connectors", "list", "--json").stdout) == []

    added = invoke("connectors", "add", "tls", url, "--ca-bundle", str(ca_path))
    assert added.exit_code == 0, added.stderr
    assert "TLS ERP 1.0" in added.stdout
    shown = json.loads(invoke("connectors", "show", "tls", "--check", "--json").stdout)
    assert shown["ca_bundle"] == str(ca_path.resolve())
    assert shown["info"]["id"] == "tls"

    # The bundle moved away after it was set: one line naming it and the way out, exit 5.
    ca_path.rename(ca_path.with_suffix(".moved"))
    moved = invoke("connectors", "show", "tls", "--check")
    assert moved.exit_code == 5, moved.stderr
    assert moved.stderr.count("\n") == 1 and "Traceback" not in moved.stderr
    assert f"cannot use its CA bundle {ca_path.resolve()}" in moved.stderr
    assert "--ca-bundle" in moved.stderr


def test_a_ca_bundle_that_is_not_pem_is_one_clear_line(
    invoke: Callable[..., Result], erpsync_home: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    result = invoke("connectors", "add", "x", "https://127.0.0.1:1/c", "--ca-bundle", str(junk))
    assert result.exit_code == 1
    assert "is not a PEM file of CA certificates" in result.stderr
    missing = invoke("connectors", "add", "x", "https://127.0.0.1:1/c", "--ca-bundle", "nope.pem")
    assert missing.exit_code == 1 and "no such file" in missing.stderr
