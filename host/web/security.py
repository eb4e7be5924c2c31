"""Response headers every page carries: a strict Content-Security-Policy and its companions.

No inline script and no inline style anywhere: scripts and styles come from /static only (our
app.js and app.css, and the vendored htmx, configured in base.html not to eval or inject
styles). The page may not be framed (clickjacking), sends a referrer to itself only (with
no-referrer, browsers send "Origin: null" on form posts and the origin check could not work),
and is not cached.
"""

from __future__ import annotations

from typing import Any

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

BASE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000"


class SecurityHeaders:
    """ASGI middleware: adds the headers above to every HTTP answer, and `no-store` to every
    answer that is not a static file (pages show registry data)."""

    def __init__(self, app: Any, *, tls: bool) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in BASE_HEADERS.items()]
        if tls:
            self.headers.append((b"strict-transport-security", HSTS.encode()))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                if not static and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def host_name(header: str) -> str:
    """The host of a Host header, without its port ('[::1]:8000' -> '::1')."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostCheck:
    """ASGI middleware: answers only to the Host names given. A server bound to loopback
    answers only to loopback names, so a page of another site whose name was re-pointed at
    127.0.0.1 (DNS rebinding) cannot talk to it."""

    def __init__(self, app: Any, *, allowed: list[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            header = ""
            for key, value in scope.get("headers", []):
                if key == b"host":
                    header = value.decode("latin-1")
                    break
            if host_name(header) not in self.allowed:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await send({"type": "http.response.body", "body": b"Host not allowed\n"})
                return
        await self.app(scope, receive, send)
