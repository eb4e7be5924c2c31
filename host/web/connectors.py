"""The add/edit connector dialog and removing a connector, on the admin core's
host.admin.connectors: OK asks the connector's info (protocol v1, the token) before anything
is stored, and says which connector answered. A token is typed, never shown back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from host.web.app import page_context
from host.web.auth import is_htmx
from host.web.connections import Outcome

if TYPE_CHECKING:
    from host.web.app import WebContext

router = APIRouter()


def _context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


@dataclass
class ConnectorDialog:
    editing: str | None = None
    name: str = ""
    url: str = ""
    has_token: bool = False


def _render(request: Request, dialog: ConnectorDialog) -> Response:
    context = _context(request)
    return context.templates.TemplateResponse(
        request, "connector_dialog.html", {"dialog": dialog, **page_context(request, "sync")}
    )


@router.get("/settings/sync/connectors/new")
def new_connector(request: Request) -> Response:
    return _render(request, ConnectorDialog())


@router.get("/settings/sync/connectors/edit")
def edit_connector(request: Request, name: str = Query("", max_length=200)) -> Response:
    from host.registry import NotFound

    try:
        record = _context(request).registry().connector(name)
    except NotFound as exc:
        _context(request).flash(request, Outcome(str(exc), False))
        return RedirectResponse("/settings/sync", status_code=303)
    return _render(request, ConnectorDialog(record.name, record.name, record.url, record.has_token))


def _identity(info: dict[str, Any] | None) -> str:
    """'Name version by Vendor' of a connector's info (scrubbed by the client already)."""
    if not info:
        return ""
    text = " ".join(str(info.get(k) or "") for k in ("name", "version")).strip()
    vendor = str(info.get("vendor") or "")
    return f"{text} by {vendor}" if vendor else text


def _done(request: Request, outcome: Outcome) -> Response:
    _context(request).flash(request, outcome)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": "/settings/sync"})
    return RedirectResponse("/settings/sync", status_code=303)


@router.post("/settings/sync/connectors/save")
async def save_connector(request: Request) -> Response:
    from host.admin import connectors
    from host.admin.errors import AdminError, admin_errors

    context = _context(request)
    data = await request.form(max_fields=20)

    def text(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    editing = text("editing") or None
    name, url, token = text("name"), text("url").strip(), text("token")
    registry = context.registry()
    try:
        if editing is None:
            result = await connectors.add(registry, name, url, token or None)
        else:
            with admin_errors():
                record = registry.connector(editing)
            changes: dict[str, Any] = {}
            if name.strip() != record.name:
                changes["new_name"] = name
            if url and url != record.url:
                changes["url"] = url
            if token:
                changes["token"] = token
            if text("clear_token") == "true":
                changes["clear_token"] = True
            result = await connectors.edit(registry, editing, **changes)
    except AdminError as exc:
        return context.templates.TemplateResponse(
            request,
            "_connector_result.html",
            {"ok": False, "message": str(exc), "kind": exc.kind},
            status_code=422,
        )
    verb = "Saved" if editing else "Added"
    message = f"{verb} connector {result.record.name!r}"
    identity = _identity(result.info)
    message += f": it answers protocol v1 as {identity}." if identity else "."
    if result.same_url:
        message += f" Connectors at the same URL: {', '.join(result.same_url)}."
    return _done(request, Outcome(message, True))


@router.post("/settings/sync/connectors/remove")
async def remove_connector(request: Request) -> Response:
    from host.admin import connectors
    from host.admin.errors import AdminError

    data = await request.form(max_fields=20)
    name = data.get("name")
    name = name if isinstance(name, str) else ""
    try:
        connectors.remove(_context(request).registry(), name)
    except AdminError as exc:
        return _done(request, Outcome(f"Connector {name!r} was not removed: {exc}", False))
    return _done(request, Outcome(f"Removed connector {name!r}.", True))
