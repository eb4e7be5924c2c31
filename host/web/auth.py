"""Sign-in, sessions and CSRF for the web admin.

`SessionGuard` runs before every route: it finds the session from its cookie, sends a visitor
without one to the sign-in page (every page but /login and /static is private by default),
and refuses any state-changing request (POST, PUT, PATCH, DELETE) whose CSRF token does not
match. htmx sends the token in the X-CSRF-Token header (static/app.js reads it from the page's
meta tag); plain forms send it in a hidden `csrf_token` field. Before sign-in, the sign-in form
is protected by a double-submit token (a cookie and the same value in the form).
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from host.registry import acting_admin

if TYPE_CHECKING:
    from host.registry.admins import Session
    from host.web.app import WebContext

log = logging.getLogger("erpsync.web")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = {"/login"}
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
FORM_BODY_LIMIT = 64 * 1024
"""Forms of this app are small; a larger urlencoded body is refused before it is parsed."""
LOGIN_CSRF_MAX_AGE = 60 * 60


def session_cookie_name(tls: bool) -> str:
    # The __Host- prefix makes the browser refuse the cookie unless it is Secure, Path=/ and
    # host-only: a sibling subdomain cannot plant or shadow it.
    return "__Host-erpsync_session" if tls else "erpsync_session"


def login_cookie_name(tls: bool) -> str:
    return "__Host-erpsync_login" if tls else "erpsync_login"


def is_htmx(scope_or_request: Any) -> bool:
    headers = scope_or_request.headers
    return headers.get("hx-request") == "true"


def local_path(target: str | None) -> str:
    """`target` when it is a path on this site, else the Sync tab (no open redirect)."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return "/settings/sync"
    if target.startswith(("//", "/\\")) or any(ch in target for ch in "\r\n\\"):
        return "/settings/sync"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/settings/sync"
    return target


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class SessionGuard:
    """ASGI middleware: session lookup, sign-in requirement and CSRF check, in that order."""

    def __init__(self, app: Any, context: WebContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        tls = self.context.settings.tls
        session_id = request.cookies.get(session_cookie_name(tls), "")
        session: Session | None = None
        if session_id:
            # Looked up in a worker thread, with that thread's own registry connection.
            session = await run_in_threadpool(lambda: self.context.admins().session(session_id))
        scope.setdefault("state", {})["session"] = session
        method = scope["method"]
        if session is None and path not in PUBLIC_PATHS:
            await self._sign_in_first(request, method)(scope, receive, send)
            return
        if method not in SAFE_METHODS:
            origin = request.headers.get("origin")
            if origin and not self._same_origin(request, origin):
                await _refuse(request, 403, "The request came from another site.")(
                    scope, receive, send
                )
                return
            body, receive = await _buffered_form(scope, receive)
            if body is None:
                await _refuse(request, 413, "The form is too large.")(scope, receive, send)
                return
            sent = request.headers.get(CSRF_HEADER) or _form_field(scope, body, CSRF_FIELD)
            if session is not None:
                expected: str | None = session.csrf_token
            else:
                expected = request.cookies.get(login_cookie_name(tls))
            if not _same(sent, expected):
                await _refuse(
                    request,
                    403,
                    "The security token of this form is missing or out of date (CSRF check). "
                    "Reload the page and try again.",
                )(scope, receive, send)
                return
        if session is None:
            await self.app(scope, receive, send)
            return
        # Whatever the route changes is audited under the signed-in admin's name.
        with acting_admin(web_actor(session.admin)):
            await self.app(scope, receive, send)

    @staticmethod
    def _same_origin(request: Request, origin: str) -> bool:
        host = request.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")

    def _sign_in_first(self, request: Request, method: str) -> Response:
        target = "/login"
        if method == "GET" and request.url.path not in ("/", "/logout"):
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(local_path(wanted), safe="")
        if is_htmx(request):
            # htmx follows HX-Redirect with a full page load, whatever the status.
            return Response(status_code=401, headers={"HX-Redirect": target})
        if method in SAFE_METHODS:
            return RedirectResponse(target, status_code=303)
        return _refuse(request, 401, "Your session has ended. Sign in again.")


def _refuse(request: Request, status: int, message: str) -> Response:
    """A short page (or htmx fragment) saying why; the message is ours, never user input."""
    from html import escape

    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Refused</title>'
        '<link rel="stylesheet" href="/static/app.css"></head><body><main class="refused">'
        f'<p role="alert">{escape(message)}</p><p><a href="/settings/sync">Back to the Sync tab'
        "</a></p></main></body></html>"
    )
    if is_htmx(request):
        body = f'<p class="error" role="alert">{escape(message)}</p>'
    return HTMLResponse(body, status_code=status)


async def _buffered_form(scope: dict[str, Any], receive: Any) -> tuple[bytes | None, Any]:
    """Read an urlencoded body (bounded) so its CSRF field can be checked, and a `receive`
    that replays it to the route. Other bodies are left to stream (they need the header)."""
    content_type = _header(scope, b"content-type").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return b"", receive
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > FORM_BODY_LIMIT:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return body, replay


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _form_field(scope: dict[str, Any], body: bytes, name: str) -> str | None:
    if not body:
        return None
    try:
        values = parse_qs(body.decode("utf-8"), max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return None
    found = values.get(name)
    return found[0] if found else None


# --- routes ------------------------------------------------------------------------------

router = APIRouter()


def _context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def _login_page(
    request: Request,
    *,
    name: str = "",
    error: str = "",
    notice: str = "",
    status: int = 200,
    next_path: str = "",
) -> Response:
    context = _context(request)
    tls = context.settings.tls
    cookie = login_cookie_name(tls)
    token = request.cookies.get(cookie, "")
    if not (20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(32)
    response = context.templates.TemplateResponse(
        request,
        "login.html",
        {
            "login_csrf": token,
            "name": name,
            "error": error,
            "notice": notice,
            "next_path": local_path(next_path) if next_path else "",
        },
        status_code=status,
    )
    response.set_cookie(
        cookie,
        token,
        max_age=LOGIN_CSRF_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=tls,
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "", signed_out: int = 0) -> Response:
    if request.state.session is not None:
        return RedirectResponse(local_path(next), status_code=303)
    notice = "You are signed out." if signed_out else ""
    return _login_page(request, notice=notice, next_path=next)


@router.post("/login")
def login(
    request: Request,
    name: str = Form("", max_length=200),
    password: str = Form("", max_length=2000),
    next: str = Form("", max_length=2000),
) -> Response:
    context = _context(request)
    address = request.client.host if request.client else "unknown"
    name = name.strip()
    wait = context.limiter.retry_after(name, address)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        log.warning("sign-in refused (rate limit) for %r from %s", name[:100], address)
        return _login_page(
            request,
            name=name,
            status=429,
            next_path=next,
            error=(
                "Too many failed sign-ins for this name or from this address. "
                f"Wait {minutes} minute{'s' if minutes != 1 else ''} and try again."
            ),
        )
    store = context.admins()
    if not name or not password or not store.verify(name, password):
        context.limiter.failed(name, address)
        log.warning("sign-in refused (wrong name or password) for %r from %s", name[:100], address)
        return _login_page(
            request,
            name=name,
            status=401,
            next_path=next,
            error="Wrong name or password.",
        )
    context.limiter.succeeded(name)
    with acting_admin(web_actor(name)):
        session_id = store.start_session(name, address)
    response = RedirectResponse(local_path(next), status_code=303)
    tls = context.settings.tls
    response.set_cookie(
        session_cookie_name(tls),
        session_id,
        path="/",
        httponly=True,
        samesite="strict",
        secure=tls,
    )
    response.delete_cookie(login_cookie_name(tls), path="/", secure=tls, httponly=True)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    context = _context(request)
    tls = context.settings.tls
    session_id = request.cookies.get(session_cookie_name(tls), "")
    session: Session = request.state.session
    with acting_admin(web_actor(session.admin)):
        context.admins().end_session(session_id)
    target = "/login?signed_out=1"
    response: Response
    if is_htmx(request):
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    response.delete_cookie(
        session_cookie_name(tls), path="/", secure=tls, httponly=True, samesite="strict"
    )
    return response


def web_actor(admin: str) -> str:
    """How the audit log names an admin acting through the web admin."""
    return f"web:{admin}"
