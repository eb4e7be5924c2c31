"""Settings and administration → Users & groups, and the scope dialog's search.

The users and groups an ERP connection can be restricted to: add and remove them and their
memberships on the page, with the registry's own methods and the admin core's name rule (the
CLI's `erpsync users` / `erpsync groups` call the same). Each form posts with htmx and gets
the whole Users & groups section back, with what happened in a status line; without script
the same forms post and get the whole page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from host.web.app import page_context
from host.web.auth import is_htmx

if TYPE_CHECKING:
    from host.registry import Registry
    from host.web.app import WebContext

router = APIRouter()

SEARCH_LIMIT = 50
"""The scope dialog shows at most this many users and as many groups per search."""


@dataclass
class Outcome:
    message: str
    ok: bool


def checked_name(value: str, what: str) -> str:
    """The admin core's name rule (the CLI's `users`/`groups` apply the same one)."""
    from host.admin.names import check_name

    return check_name(value, what)


def people_data(registry: Registry) -> dict[str, Any]:
    users = registry.users()
    groups = registry.groups()
    return {"users": users, "groups": groups, "user_names": [u["name"] for u in users]}


def _context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def _render(request: Request, outcome: Outcome | None = None) -> Response:
    context = _context(request)
    data = {**people_data(context.registry()), "outcome": outcome}
    status = 200 if outcome is None or outcome.ok else 422
    template = "_people.html" if is_htmx(request) else "users.html"
    return context.templates.TemplateResponse(
        request, template, {**data, **page_context(request, "users")}, status_code=status
    )


def _change(request: Request, action: Callable[[Registry], str]) -> Response:
    """Run `action` on the registry; its answer (or the one-line reason it was refused) is
    the status line of the section sent back."""
    from host.admin.errors import AdminError, admin_errors

    try:
        with admin_errors():
            outcome = Outcome(action(_context(request).registry()), True)
    except AdminError as exc:
        outcome = Outcome(str(exc), False)
    return _render(request, outcome)


@router.get("/settings/users")
def users_page(request: Request) -> Response:
    return _render(request)


_DONE = {"add": "Added", "remove": "Removed"}


def _change_named(request: Request, verb: str, kind: str, name: str) -> Response:
    """Add or remove one user or group: the four forms differ only in these words, and the
    registry method is named after them (`add_user`, `remove_group`, ...)."""

    def action(registry: Registry) -> str:
        checked = checked_name(name, kind)
        getattr(registry, f"{verb}_{kind}")(checked)
        return f"{_DONE[verb]} {kind} {checked!r}."

    return _change(request, action)


@router.post("/settings/users/add")
def add_user(request: Request, name: str = Form("", max_length=1000)) -> Response:
    return _change_named(request, "add", "user", name)


@router.post("/settings/users/remove")
def remove_user(request: Request, name: str = Form("", max_length=1000)) -> Response:
    return _change_named(request, "remove", "user", name)


@router.post("/settings/groups/add")
def add_group(request: Request, name: str = Form("", max_length=1000)) -> Response:
    return _change_named(request, "add", "group", name)


@router.post("/settings/groups/remove")
def remove_group(request: Request, name: str = Form("", max_length=1000)) -> Response:
    return _change_named(request, "remove", "group", name)


@router.post("/settings/groups/members/add")
def add_member(
    request: Request, group: str = Form("", max_length=1000), user: str = Form("", max_length=1000)
) -> Response:
    def action(registry: Registry) -> str:
        group_name, user_name = checked_name(group, "group"), checked_name(user, "user")
        registry.add_member(group_name, user_name)
        return f"User {user_name!r} is a member of group {group_name!r}."

    return _change(request, action)


@router.post("/settings/groups/members/remove")
def remove_member(
    request: Request, group: str = Form("", max_length=1000), user: str = Form("", max_length=1000)
) -> Response:
    def action(registry: Registry) -> str:
        group_name, user_name = checked_name(group, "group"), checked_name(user, "user")
        registry.remove_member(group_name, user_name)
        return f"Removed user {user_name!r} from group {group_name!r}."

    return _change(request, action)


def search_principals(registry: Registry, text: str, limit: int = SEARCH_LIMIT) -> dict[str, Any]:
    """Users and groups whose name contains `text` (case-insensitive; blank: all), at most
    `limit` of each, and how many more there are."""
    needle = text.strip().casefold()
    users = [u for u in registry.users() if needle in u["name"].casefold()]
    groups = [g for g in registry.groups() if needle in g["name"].casefold()]
    return {
        "users": users[:limit],
        "groups": groups[:limit],
        "more_users": max(0, len(users) - limit),
        "more_groups": max(0, len(groups) - limit),
    }


@router.get("/settings/scope/search")
def scope_search(
    request: Request,
    q: str = Query("", max_length=200),
    user: list[str] = Query([], max_length=1000),  # noqa: B008 - FastAPI's declaration style
    group: list[str] = Query([], max_length=1000),  # noqa: B008
) -> Response:
    """The scope dialog's results: users and groups matching `q`, as checkboxes, those
    already picked (`user`, `group`: the connection form's current scope) checked."""
    context = _context(request)
    found = search_principals(context.registry(), q)
    return context.templates.TemplateResponse(
        request,
        "_scope_results.html",
        {**found, "q": q, "picked_users": set(user), "picked_groups": set(group)},
    )
