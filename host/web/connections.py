"""The *Define new ERP connection* dialog, editing a connection, and the connection buttons of
the Sync tab (test, test all, activate, deactivate, remove).

Every workflow is the admin core's (host.admin.connections, host.admin.forms): this module
reads the form, calls it, and renders what it answers. What is the web's own: *OK* saves only
the values whose test passed in this session (host.web.tested), and no secret goes to the
browser: a stored password is shown as "unchanged" and merged host-side by the admin core.
The dialog's inputs are drawn and read back by host.web.connection_form.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from host.web import tested
from host.web.app import page_context
from host.web.auth import is_htmx
from host.web.connection_form import (
    Dialog,
    cached_form,
    field_views,
    form_for,
    posted_text,
    posted_texts,
    posted_values,
)

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from host.admin.forms import ConfigCheck, Form
    from host.connector import Field
    from host.web.app import WebContext

log = logging.getLogger("erpsync.web")
router = APIRouter()

MAX_DESCRIPTION = 2000
JOB_LIMIT = 20
"""Test-all runs remembered per process (the oldest finished one is forgotten first)."""


def _context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def _render_dialog(request: Request, dialog: Dialog, status: int = 200) -> Response:
    context = _context(request)
    return context.templates.TemplateResponse(
        request,
        "connection_dialog.html",
        {"dialog": dialog, **page_context(request, "sync")},
        status_code=status,
    )


@router.get("/settings/sync/connections/new")
async def new_connection(request: Request, connector: str = Query("", max_length=200)) -> Response:
    registry = _context(request).registry()
    names = [c.name for c in registry.connectors()]
    dialog = Dialog(names, connector if connector in names else (names[0] if names else ""))
    if dialog.connector:
        form, dialog.fields_error = await form_for(_context(request), registry, dialog.connector)
        if form is not None:
            dialog.fields = field_views(form, None, set())
    return _render_dialog(request, dialog)


@router.get("/settings/sync/connections/edit")
async def edit_connection(request: Request, name: str = Query("", max_length=200)) -> Response:
    from host.admin import connections
    from host.admin.errors import AdminError

    registry = _context(request).registry()
    try:
        record = connections.get(registry, name)
    except AdminError as exc:
        return _sync_tab_outcome(request, Outcome(str(exc), ok=False))
    dialog = Dialog(
        [record.connector],
        record.connector,
        editing=record.name,
        name=record.name,
        description=record.description or "",
        scope="everyone" if record.scope == "everyone" else "restricted",
        users=list(record.users),
        groups=list(record.groups),
        config_locked=record.active,
    )
    form, dialog.fields_error = await form_for(_context(request), registry, record.connector)
    if form is not None:
        stored = registry.connection_config(record.guid, without_lost=True) or {}
        secret_keys = set(form.secret_keys)
        shown = {k: v for k, v in stored.items() if k not in secret_keys}
        kept = {k for k in secret_keys if stored.get(k) not in (None, "")}
        dialog.fields = field_views(form, shown, kept)
    return _render_dialog(request, dialog)


@router.get("/settings/sync/connections/fields")
async def config_fields(request: Request, connector: str = Query("", max_length=200)) -> Response:
    """The config inputs of another connector (the dialog's connector drop-down changed)."""
    context = _context(request)
    form, error = await form_for(context, context.registry(), connector)
    views = field_views(form, None, set()) if form is not None else []
    return context.templates.TemplateResponse(
        request, "_config_fields.html", {"fields": views, "fields_error": error}
    )


@dataclass
class TestView:
    passed: bool
    state: str
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    token: str = ""
    saved: bool = False


async def _posted(request: Request) -> tuple[FormData, str | None, str]:
    data = await request.form(max_fields=500)
    editing = posted_text(data, "editing") or None
    return data, editing, posted_text(data, "connector")


async def _check(
    context: WebContext, editing: str | None, connector: str, data: FormData
) -> tuple[Form, dict[str, Any], dict[str, Any] | None, str]:
    """The form, the posted values, the stored config (editing) and the connector asked."""
    from host.admin import connections

    registry = context.registry()

    current = None
    if editing is not None:
        record = connections.get(registry, editing)
        connector = record.connector
        current = registry.connection_config(record.guid, without_lost=True) or {}
    form = await cached_form(context, registry, connector)
    return form, posted_values(form, data, editing is not None), current, connector


def _test_view(check: ConfigCheck) -> TestView:
    return TestView(check.passed, check.state, check.message, check.errors)


def _render_test(
    request: Request, view: TestView, fields: list[Field], status: int = 200
) -> Response:
    context = _context(request)
    return context.templates.TemplateResponse(
        request,
        "_test_result.html",
        {"result": view, "fields": list(enumerate(fields, start=1))},
        status_code=status,
    )


@router.post("/settings/sync/connections/test")
async def test_connection_values(request: Request) -> Response:
    """*Test ERP connection*: the admin core tests the values without saving anything; a
    passed test is answered with this session's signature of exactly those values."""
    from host.admin import forms
    from host.admin.errors import AdminError

    context = _context(request)
    registry = context.registry()
    data, editing, connector = await _posted(request)
    ranked: list[Field] = []
    try:
        form, values, current, connector = await _check(context, editing, connector, data)
        ranked = form.ranked
        check = await forms.check_config(registry, form, values, current)
    except AdminError as exc:
        view = TestView(False, exc.kind, str(exc))
        return _render_test(request, view, ranked)
    view = _test_view(check)
    if check.passed:
        signed = tested.canonical(connector, editing, check.config)
        csrf = request.state.session.csrf_token
        view.token = tested.sign(context.tested_key, csrf, signed)
    return _render_test(request, view, ranked)


@router.post("/settings/sync/connections/save")
async def save_connection(request: Request) -> Response:
    """*OK*: saves only values this session tested with a passing result (the signature
    proves it); the admin core tests them again as it saves."""
    from host.admin import connections, forms
    from host.admin.errors import AdminError, InvalidInput

    context = _context(request)
    registry = context.registry()
    data, editing, connector = await _posted(request)
    scope = posted_text(data, "scope") or "everyone"
    users, groups = posted_texts(data, "user"), posted_texts(data, "group")
    if scope == "everyone":
        users, groups = [], []
    description = posted_text(data, "description")[:MAX_DESCRIPTION]
    name = posted_text(data, "name")
    ranked: list[Field] = []
    try:
        if scope not in ("everyone", "restricted"):
            raise InvalidInput(f"scope {scope!r} is not everyone or restricted")
        if editing is not None:
            record = connections.get(registry, editing)
            locked = record.active
            edit = connections.start_edit(
                registry,
                editing,
                config=not locked,
                new_name=name if name != editing else None,
                description=description,
                users=users,
                groups=groups,
                scope=scope,
            )
        else:
            locked = False
            name = connections.check_new(registry, name, scope=scope, users=users, groups=groups)
        check = None
        if not locked:
            form, values, current, connector = await _check(context, editing, connector, data)
            ranked = form.ranked
            report = forms.validate(form, values, current)
            signed = tested.canonical(connector, editing, report.values())
            csrf = request.state.session.csrf_token
            if not report.ok or not tested.verify(
                context.tested_key, csrf, signed, posted_text(data, "tested_token")
            ):
                view = TestView(
                    False,
                    "not_tested",
                    "OK saves only values whose test passed: test the ERP connection with "
                    "the values now in the form, then press OK.",
                )
                return _render_test(request, view, ranked, status=422)
            check = await forms.check_config(registry, form, values, current)
            if not check.passed:
                view = _test_view(check)
                view.message = f"Nothing was saved: the test failed now. {view.message}"
                return _render_test(request, view, ranked, status=422)
        if editing is not None:
            saved = await connections.edit(registry, edit, check)
        else:
            assert check is not None
            saved = await connections.add(
                registry, name, check, users=users, groups=groups, description=description
            )
    except AdminError as exc:
        return _render_test(request, TestView(False, exc.kind, str(exc)), ranked, status=422)
    verb = "Saved" if editing else "Added"
    message = f"{verb} connection {saved.record.name!r}."
    if saved.warning:
        message += f" Warning: {saved.warning}"
    context.flash(request, Outcome(message, ok=True))
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": "/settings/sync"})
    from fastapi.responses import RedirectResponse

    return RedirectResponse("/settings/sync", status_code=303)


# --- the Sync tab's connection buttons -----------------------------------------------------


@dataclass
class Outcome:
    """What a button did, shown above the ERP connections list."""

    message: str
    ok: bool
    reasons: list[str] = field(default_factory=list)


def _sync_tab_outcome(request: Request, outcome: Outcome) -> Response:
    """The ERP connections section (htmx) or the whole Sync tab, with what happened."""
    from host.web.sync import sync_tab_data

    context = _context(request)
    data = sync_tab_data(context.registry(), context.apps(), context.scrubber_cache)
    template = "_connections.html" if is_htmx(request) else "sync.html"
    return context.templates.TemplateResponse(
        request,
        template,
        {**data, "outcome": outcome, **page_context(request, "sync")},
        status_code=200 if outcome.ok else 422,
    )


async def _name(request: Request) -> str:
    data = await request.form(max_fields=20)
    return posted_text(data, "name")


@router.post("/settings/sync/connections/activate")
async def activate(request: Request) -> Response:
    from host.admin import connections
    from host.admin.errors import ActivationRefused, AdminError

    name = await _name(request)
    try:
        record = await connections.activate(_context(request).registry(), name)
    except ActivationRefused as exc:
        outcome = Outcome(f"Connection {name!r} was not activated:", False, exc.reasons)
        return _sync_tab_outcome(request, outcome)
    except AdminError as exc:
        return _sync_tab_outcome(request, Outcome(str(exc), False))
    return _sync_tab_outcome(request, Outcome(f"Activated connection {record.name!r}.", True))


@router.post("/settings/sync/connections/deactivate")
async def deactivate(request: Request) -> Response:
    from host.admin import connections
    from host.admin.errors import AdminError

    name = await _name(request)
    try:
        record = connections.deactivate(_context(request).registry(), name)
    except AdminError as exc:
        return _sync_tab_outcome(request, Outcome(str(exc), False))
    return _sync_tab_outcome(request, Outcome(f"Deactivated connection {record.name!r}.", True))


@router.post("/settings/sync/connections/remove")
async def remove(request: Request) -> Response:
    from host.admin import connections
    from host.admin.errors import AdminError

    name = await _name(request)
    try:
        warnings = await connections.remove(_context(request).registry(), name)
    except AdminError as exc:
        return _sync_tab_outcome(request, Outcome(str(exc), False))
    return _sync_tab_outcome(request, Outcome(f"Removed connection {name!r}.", True, warnings))


@router.post("/settings/sync/connections/test-one")
async def test_one(request: Request) -> Response:
    from host.admin import connections
    from host.admin.errors import AdminError

    name = await _name(request)
    registry = _context(request).registry()
    try:
        record = connections.get(registry, name)
        (outcome,) = await connections.test_many(registry, [record])
    except AdminError as exc:
        return _sync_tab_outcome(request, Outcome(str(exc), False))
    if outcome.passed:
        return _sync_tab_outcome(request, Outcome(f"Connection {name!r} passed its test.", True))
    return _sync_tab_outcome(
        request, Outcome(f"Connection {name!r} failed its test: {outcome.message}", False)
    )


# --- Test all, with live progress ----------------------------------------------------------


@dataclass
class TestAllJob:
    """One *Test all* run: the admin core's progress callback fills `done`/`total`."""

    id: str
    admin: str
    total: int
    done: int = 0
    finished: bool = False
    passed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    task: asyncio.Task[None] | None = None


@router.post("/settings/sync/connections/test-all")
async def test_all(request: Request) -> Response:
    """Starts testing every connection; the answer polls its progress until it ends."""
    from host.admin import connections
    from host.admin.errors import AdminError

    context = _context(request)
    registry = context.registry()
    records = registry.connections()
    job = TestAllJob(secrets.token_urlsafe(12), request.state.session.admin, len(records))

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    async def run() -> None:
        try:
            outcomes = await connections.test_many(registry, records, progress=progress)
        except AdminError as exc:
            job.error = str(exc)
        except Exception as exc:  # a bug: logged, and the page says it ended
            log.exception("test all failed")
            job.error = f"the test run stopped: {type(exc).__name__}"
        else:
            job.passed = sum(1 for o in outcomes if o.passed)
            job.failed = [(o.name, o.message) for o in outcomes if not o.passed]
        finally:
            job.finished = True

    context.remember_job(job, JOB_LIMIT)
    job.task = asyncio.create_task(run())
    return _render_job(request, job)


@router.get("/settings/sync/connections/test-all/{job_id}")
async def test_all_progress(request: Request, job_id: str) -> Response:
    context = _context(request)
    job = context.jobs.get(job_id)
    if job is None or job.admin != request.state.session.admin:
        return Response("This test run is over or unknown; reload the page.", status_code=404)
    return _render_job(request, job)


def _render_job(request: Request, job: TestAllJob) -> Response:
    context = _context(request)
    headers = {"HX-Trigger": "connections-changed"} if job.finished else {}
    return context.templates.TemplateResponse(
        request, "_test_all.html", {"job": job}, headers=headers
    )


@router.get("/settings/sync/connections/list")
def connections_list(request: Request) -> Response:
    """The ERP connections section alone (refreshed after *Test all*)."""
    from host.web.sync import sync_tab_data

    context = _context(request)
    data = sync_tab_data(context.registry(), context.apps(), context.scrubber_cache)
    return context.templates.TemplateResponse(
        request, "_connections.html", {**data, "outcome": None, **page_context(request, "sync")}
    )
