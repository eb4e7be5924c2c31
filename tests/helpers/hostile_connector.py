"""A connector that is not ours: a plain http.server on a loopback port answering protocol v1,
that repeats every password it is given and the Authorization header it gets in its
explanations, labels and list texts, and puts terminal escapes (ESC, OSC, BEL, CR/LF, C1,
zero-width and bidi characters) into its info, field labels and list item names.

Because it does not run on the host's connector host, nothing on the server side scrubs for
it: whatever reaches the admin unscrubbed is the admin side's fault.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\r\nFORGED: active yes\u200b\u202e\x9b31m"
"""Clear screen, set the window title (OSC ... BEL), a forged line, zero-width space, a
right-to-left override and a C1 CSI."""


class HostileConnector:
    """The modes say how tests answer: "ok" or "warning" (pass) or "error" (fail), each
    repeating the password and the Authorization header. `secret_key` is the key of its
    password field: a name that does not say "secret" tests that the declared type counts."""

    def __init__(self) -> None:
        self.test_config_mode = "error"
        self.secret_key = "password"
        self.test_connection_mode = "ok"
        self.configs: dict[str, dict[str, Any]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization", "")
                try:
                    body = json.loads(raw) if raw else {}
                    if not isinstance(body, dict):
                        raise ValueError("not an object")
                except ValueError:
                    status, envelope = 422, invalid(f"bad body from {auth}")
                else:
                    status, envelope = server.route(
                        self.command, self.path.split("?", 1)[0], body, auth
                    )
                data = json.dumps(envelope).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/evil"

    # --- protocol v1, badly ------------------------------------------------------------

    def route(self, method: str, path: str, body: dict[str, Any], auth: str) -> tuple[int, Any]:
        path = path.removeprefix("/evil/v1")
        parts = path.strip("/").split("/")
        config = body.get("config") if isinstance(body.get("config"), dict) else None
        if path == "/info":
            return 200, ok(
                {
                    "id": "evil",
                    "name": f"Evil ERP{ESCAPES}",
                    "vendor": f"Evil AS {auth}\x1b]0;title\x07",
                    "version": "6.6\r\nFORGED: active yes",
                    "description": f"sends {auth}",
                    "protocol_version": "1.0",
                }
            )
        if path == "/config-fields":
            return 200, ok(fields(auth, secret_key=self.secret_key))
        if path == "/config/test" and config is not None:
            return 200, self.verdict(self.test_config_mode, config, auth)
        if parts[:1] == ["connections"] and len(parts) >= 2:
            guid = parts[1]
            if parts[2:] == ["lists", "companies"]:
                known = guid == ZERO_GUID or guid in self.configs
                if not known:
                    return 404, unknown_connection()
                pw = self.configs.get(guid, {}).get(self.secret_key, "")
                items = [
                    {"key": "1", "text": f"Main company{ESCAPES} {auth}"},
                    {"key": "2", "text": f"Second {pw}".strip()},
                ]
                return 200, ok(items)
            if method == "PUT" and len(parts) == 2 and config is not None:
                self.configs[guid] = dict(config)
                return 200, envelope("ok", f"saved with {config.get(self.secret_key)} {auth}")
            if guid not in self.configs:
                return 404, unknown_connection()
            stored = self.configs[guid]
            if method == "DELETE":
                self.configs.pop(guid, None)
                return 200, envelope("ok", f"forgot {stored.get(self.secret_key)}")
            if parts[2:] == ["test"]:
                return 200, self.verdict(self.test_connection_mode, stored, auth)
            if parts[2:] == ["actor-types"]:
                return 200, ok(["customer"])
            if parts[2:4] == ["actor-types", "customer"] and parts[4:] == ["fields"]:
                return 200, ok(fields(auth, stored.get(self.secret_key, ""), self.secret_key))
            if parts[2:4] == ["actor-types", "customer"]:
                return 200, ok(["name"])
        return 200, envelope(
            "error", f"not here, {auth}", f"config {body}", error_code="not_supported"
        )

    def verdict(self, mode: str, config: dict[str, Any], auth: str) -> dict[str, Any]:
        who = config.get("username", "?")
        secret = config.get(self.secret_key)
        text = f"Login failed for {who} with password {secret} (auth {auth})"
        if mode != "error":
            text = f"Connected as {who} with password {secret} (auth {auth})"
        code = "login_failed" if mode == "error" else ""
        return envelope(mode, text, f"tech: {secret} {auth}", error_code=code)

    # --- running ---------------------------------------------------------------------------

    def start(self) -> None:
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def envelope(
    state: str, user: str = "", tech: str = "", *, error_code: str = "", data: Any = None
) -> dict[str, Any]:
    return {
        "ok": state != "error",
        "state": state,
        "user_explanation": user,
        "tech_explanation": tech,
        "error_code": error_code,
        "data": data,
    }


def ok(data: Any) -> dict[str, Any]:
    return envelope("ok", data=data)


def invalid(text: str) -> dict[str, Any]:
    return {**envelope("error", text, error_code="invalid_request")}


def unknown_connection() -> dict[str, Any]:
    return envelope("error", "no such connection", error_code="unknown_connection")


def fields(auth: str, password: str = "", secret_key: str = "password") -> list[dict[str, Any]]:
    def field(key: str, label: str, kind: str = "text", **extra: Any) -> dict[str, Any]:
        return {
            "key": key,
            "display_name": label,
            "description": extra.pop("description", ""),
            "type": kind,
            "access": extra.pop("access", "normal"),
            "default": extra.pop("default", None),
            "max_length": 0,
            "list_name": extra.pop("list_name", ""),
            "rank": extra.pop("rank", 0),
        }

    return [
        field("server", f"Server{ESCAPES}", access="mandatory", rank=1),
        field("username", "User\u200bname", access="mandatory", rank=2, description=auth),
        field(secret_key, f"Password {password}".strip(), "password", access="mandatory", rank=3),
        field("company", "Company\x1b[8m", "list", list_name="companies", rank=4),
    ]


@contextmanager
def hostile_connector() -> Iterator[HostileConnector]:
    server = HostileConnector()
    server.start()
    try:
        yield server
    finally:
        server.stop()
