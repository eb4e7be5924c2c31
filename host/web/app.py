"""The web admin's app factory: FastAPI routes, Jinja2 templates (autoescape on), static files.

Middleware, outermost first: security headers on every answer; the Host check (a loopback
server answers only to loopback names, which stops DNS rebinding); the session guard
(sign-in required, CSRF on every change).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from host.web.ratelimit import LoginRateLimiter

if TYPE_CHECKING:
    from host.apps import LoadedApps
    from host.registry import Registry
    from host.registry.admins import AdminStore
    from host.web.sync import ScrubberCache

HERE = Path(__file__).parent
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


@dataclass
class WebSettings:
    """How `erpsync web` runs; the defaults suit a loopback server without TLS."""

    db_path: Path | None = None
    tls: bool = False
    allowed_hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_HOSTS))
    """Host header values answered; ["*"] for any (a non-loopback bind)."""
    login_failures_per_name: int = 5
    login_failures_per_address: int = 20
    login_window_seconds: float = 15 * 60


class WebContext:
    """What routes share: settings, templates, the rate limiter, and per-thread registries
    (an SQLite connection belongs to the thread that opened it)."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.templates = Jinja2Templates(env=make_environment())
        self.limiter = LoginRateLimiter(
            settings.login_failures_per_name,
            settings.login_failures_per_address,
            settings.login_window_seconds,
        )
        self._local = threading.local()
        self._apps: LoadedApps | None = None
        self._apps_lock = threading.Lock()
        self.scrubber_cache: ScrubberCache = {}
        """(sealed secrets, token) -> Scrubber, for the Sync tab's own check (host/web/sync.py)."""
        self.tested_key = secrets.token_bytes(32)
        """Signs the values of a passed connection test (host/web/tested.py); per process."""
        self.jobs: dict[str, Any] = {}
        """*Test all* runs by id (host/web/connections.py)."""
        self._flashes: dict[str, Any] = {}
        self.forms: dict[tuple[str, str, str], tuple[float, Any]] = {}
        """(connector, URL, CA bundle) -> (when, admin-core Form): web/connection_form.py."""

    def flash(self, request: Request, outcome: Any) -> None:
        """Keep what a dialog did for the next page this session shows (after its redirect)."""
        if len(self._flashes) > 1000:
            self._flashes.clear()
        self._flashes[request.state.session.csrf_token] = outcome

    def take_flash(self, request: Request) -> Any:
        return self._flashes.pop(request.state.session.csrf_token, None)

    def remember_job(self, job: Any, limit: int) -> None:
        """Keep a *Test all* run; beyond `limit`, the oldest finished ones are forgotten."""
        self.jobs[job.id] = job
        finished = [k for k, j in self.jobs.items() if j.finished]
        for key in finished[: max(0, len(self.jobs) - limit)]:
            del self.jobs[key]

    def registry(self) -> Registry:
        registry: Registry | None = getattr(self._local, "registry", None)
        if registry is None:
            from host.registry import Registry

            registry = Registry.open(self.settings.db_path)
            self._local.registry = registry
        return registry

    def admins(self) -> AdminStore:
        store: AdminStore | None = getattr(self._local, "admins", None)
        if store is None:
            from host.registry.admins import AdminStore

            store = AdminStore(self.registry())
            self._local.admins = store
        return store

    def apps(self) -> LoadedApps:
        """The installed apps, loaded once per process (restart to see a new install)."""
        with self._apps_lock:
            if self._apps is None:
                from host.apps import load_apps

                self._apps = load_apps()
            return self._apps


def page_context(request: Request, tab: str) -> dict[str, Any]:
    """What every signed-in page's layout (admin.html) needs."""
    session = request.state.session
    return {"session": session, "csrf_token": session.csrf_token, "tab": tab}


def make_environment() -> Any:
    """Jinja2 with autoescape on for every template; `shown` is host.text.safe, the same
    one-line, bounded text the CLI prints."""
    import jinja2

    from host.text import safe

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shown"] = safe
    return env


def create_app(settings: WebSettings | None = None) -> Any:
    """The web admin as an ASGI app."""
    from host.web import auth, connections, connectors, people, sync, sync_priority, sync_settings
    from host.web.security import HostCheck, SecurityHeaders

    settings = settings or WebSettings()
    context = WebContext(settings)
    app = FastAPI(
        title="erpsync web admin",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.web = context
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(auth.router)
    app.include_router(sync.router)
    app.include_router(people.router)
    app.include_router(connections.router)
    app.include_router(connectors.router)
    app.include_router(sync_settings.router)
    app.include_router(sync_priority.router)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        return RedirectResponse("/settings/sync", status_code=303)

    # Added innermost first: the guard runs after the Host check, the headers wrap all.
    app.add_middleware(auth.SessionGuard, context=context)
    if "*" not in settings.allowed_hosts:
        app.add_middleware(HostCheck, allowed=settings.allowed_hosts)
    app.add_middleware(SecurityHeaders, tls=settings.tls)
    return app
