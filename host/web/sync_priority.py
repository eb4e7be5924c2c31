"""The *Sync priority* page: every connection in the order the sync serves them (first
served first), each with its sync status, moved up or down one place at a time.

The order and its rules are host.sync.priority's; the status rows are host.sync.state's
`overview`, the same `erpsync sync status` prints.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from host.text import safe
from host.web.app import page_context
from host.web.auth import is_htmx
from host.web.connection_form import posted_text
from host.web.connections import Outcome

router = APIRouter()

PAGE = "/settings/sync/priority"


def _render(request: Request, outcome: Outcome | None = None, status: int = 200) -> Response:
    from host.sync import state
    from host.web.sync import when
    from host.web.sync_settings import _context, _open_crm

    context = _context(request)
    crm = _open_crm(context)
    try:
        rows = state.overview(context.registry(), crm)
    finally:
        crm.close()
    for row in rows:
        row["last_run_at"] = when(row["last_run_at"])
    return context.templates.TemplateResponse(
        request,
        "sync_priority.html",
        {
            "rows": rows,
            "outcome": outcome if outcome is not None else context.take_flash(request),
            **page_context(request, "sync"),
        },
        status_code=status,
    )


@router.get(PAGE)
def priority_page(request: Request) -> Response:
    return _render(request)


@router.post(f"{PAGE}/move")
async def move(request: Request) -> Response:
    """Move one connection up or down one place."""
    from host.registry import RegistryError
    from host.sync import SyncError
    from host.sync.settings import move
    from host.web.sync_settings import _context

    data = await request.form(max_fields=10)
    name, direction = posted_text(data, "name"), posted_text(data, "move")
    context = _context(request)
    try:
        if direction not in ("up", "down"):
            raise SyncError(f"move {safe(direction, 40)!r} is not up or down")
        order = move(context.registry(), name, -1 if direction == "up" else 1)
    except (SyncError, RegistryError) as exc:
        return _render(request, Outcome(f"Nothing was changed: {exc}", ok=False), status=422)
    context.flash(request, Outcome("Sync priority: " + ", ".join(order) + ".", ok=True))
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": PAGE})
    return RedirectResponse(PAGE, status_code=303)
