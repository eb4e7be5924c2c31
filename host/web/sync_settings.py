"""A connection's *Sync settings* page: actor types, field mapping, the automatic mapping's
proposal, list mapping, default values, the ERP tab order, the settings file, activation,
and the sync status with its last runs.

Every rule is host.sync's (and host.admin's for activation): this module reads the posted
form, calls the core once per change, and renders what it answers. A refused change is shown
beside its field with the core's one-line reason, and nothing of it is stored (each core
call is one transaction). Plain HTML forms with the CSRF token in a hidden field; a change
answers a redirect back to the page (with what it did), a refusal the page itself (422).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from host.text import safe
from host.web.app import page_context
from host.web.auth import is_htmx
from host.web.connection_form import posted_text, posted_texts
from host.web.connections import Outcome

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from host.crm.store import SqliteCrm
    from host.protocol.scrub import Scrubber
    from host.registry import ConnectionRecord, Registry
    from host.sync.fieldmap import TypeSettings
    from host.web.app import WebContext

log = logging.getLogger("erpsync.web")
router = APIRouter()

PAGE = "/settings/sync/settings"
LISTS_TIMEOUT = 10.0
"""Seconds the connector may take to answer its lists before the section says so."""
SHOWN_FIELDS = 500
"""Fields (and list items) shown per actor type (and list): a connector's lists are bounded."""
RUNS_SHOWN = 10
RANK_LIMIT = 1_000_000
DIRECTION_LABELS = {
    "erp_to_crm": "ERP → CRM",
    "crm_to_erp": "CRM → ERP",
    "both": "both ways",
    "": "none",
}


class Refused(Exception):
    """A posted change the page refuses before the core is asked (a malformed value)."""


def _context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def _db_path(context: WebContext) -> str | None:
    return str(context.settings.db_path) if context.settings.db_path else None


def _open_crm(context: WebContext) -> SqliteCrm:
    """The CRM store beside the registry; an empty one in memory when there is none yet
    (reading the page creates no file)."""
    from host.crm import crm_path, open_crm

    db = context.settings.db_path
    return open_crm(db, in_memory=not crm_path(db).exists())


# --- what the page shows ---------------------------------------------------------------------


@dataclass
class FieldRow:
    index: int
    key: str
    label: str
    type: str
    readonly: bool
    crm_field: str
    direction: str
    in_search: bool
    searchable: bool
    on_tab: bool
    rank: int
    proposed: tuple[str, str] | None


@dataclass
class DefaultRow:
    index: int
    key: str
    label: str
    type: str
    value: str
    ask: bool
    mandatory: bool
    forced: bool


@dataclass
class TypeView:
    index: int
    actor_type: str
    entity: str
    enabled: bool
    create_in_erp: bool
    fields: list[FieldRow]
    defaults: list[DefaultRow]
    crm_choices: list[tuple[str, str]]
    proposals: int
    problems: list[str]
    more_fields: int = 0


@dataclass
class ListView:
    index: int
    erp_list: str
    crm_list: str
    used_by: list[str]
    items: list[dict[str, Any]]
    crm_items: list[tuple[str, str]]
    unmapped: list[str] = field(default_factory=list)


def _shown_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def type_views(types: dict[str, TypeSettings]) -> list[TypeView]:
    from host.connector import Access
    from host.crm.schema import LINK_ONLY_FIELDS, fields_of
    from host.sync.settings import field_problems, proposal

    views = []
    for ti, settings in enumerate(types.values()):
        proposed = proposal(settings)
        rows = []
        for fi, fm in enumerate(settings.fields[:SHOWN_FIELDS]):
            erp = settings.erp_fields[fm.erp_field]
            rows.append(
                FieldRow(
                    fi,
                    fm.erp_field,
                    erp.display_name,
                    erp.type.value,
                    erp.access is Access.READONLY,
                    fm.crm_field or "",
                    fm.direction,
                    fm.in_search,
                    fm.erp_field in settings.searchable,
                    fm.on_tab,
                    fm.rank,
                    proposed.get(fm.erp_field),
                )
            )
        defaults = []
        for di, d in enumerate(list(settings.defaults.values())[:SHOWN_FIELDS]):
            erp = settings.erp_fields[d.erp_field]
            if not erp.settable:
                continue
            defaults.append(
                DefaultRow(
                    di,
                    d.erp_field,
                    erp.display_name,
                    erp.type.value,
                    _shown_value(d.value),
                    d.ask,
                    d.mandatory,
                    d.forced,
                )
            )
        choices = [
            (name, f"{name} ({crm.type})")
            for name, crm in fields_of(settings.entity).items()
            if name not in LINK_ONLY_FIELDS
        ]
        views.append(
            TypeView(
                ti,
                settings.actor_type,
                settings.entity,
                settings.enabled,
                settings.create_in_erp,
                rows,
                defaults,
                choices,
                len(proposed),
                field_problems(settings),
                max(0, len(settings.fields) - SHOWN_FIELDS),
            )
        )
    return views


def list_views(rows: list[dict[str, Any]], crm: SqliteCrm) -> list[ListView]:
    """The list mapping rows of host.sync.lists.list_rows, one view per ERP list."""
    views: dict[str, ListView] = {}
    for row in rows:
        view = views.get(row["erp_list"])
        if view is None:
            crm_items = list(crm.list_items(row["crm_list"]).items())[:SHOWN_FIELDS]
            view = ListView(
                len(views), row["erp_list"], row["crm_list"], row["used_by"], [], crm_items
            )
            views[row["erp_list"]] = view
        if len(view.items) < SHOWN_FIELDS:
            view.items.append(row)
        if row["crm_item"] is None:
            view.unmapped.append(row["erp_item"])
    return list(views.values())


def _scrubber(registry: Registry, record: ConnectionRecord) -> Scrubber | None:
    """The connection's secret values and its connector's token, to check the texts the
    page shows from the sync (status reason, run messages) as the Sync tab checks test
    messages; None when the key cannot decrypt the secrets (then those texts are hidden)."""
    import json

    from host.protocol.scrub import Scrubber
    from host.registry.secrets import SecretKeyError
    from host.web.sync import _connector_tokens

    row = registry.db.execute(
        "select secrets from connections where guid = ?", [record.guid]
    ).fetchone()
    values: list[Any] = []
    try:
        if row and row[0]:
            values = list(json.loads(registry.secrets.decrypt(row[0])).values())
        connector = registry.connector(record.connector)
    except (SecretKeyError, ValueError, AttributeError):
        return None
    return Scrubber([*values, _connector_tokens(registry, [connector]).get(record.connector)])


def _scrubbed(scrubber: Scrubber | None, text: str | None) -> str:
    from host.web.sync import KEY_CANNOT_DECRYPT

    if not text:
        return ""
    if scrubber is None:
        return KEY_CANNOT_DECRYPT
    return scrubber.text(text, operation="the sync")


def _run_row(run: dict[str, Any], scrubber: Scrubber | None) -> dict[str, Any]:
    from host.web.sync import when

    return {
        **run,
        "started_at": when(run.get("started_at")),
        "ended_at": when(run.get("ended_at")),
        "message": _scrubbed(scrubber, run.get("message")),
    }


async def _lists(
    registry: Registry, crm: SqliteCrm, name: str, **changes: Any
) -> tuple[list[dict[str, Any]], str]:
    """The list mapping rows (changed as asked), or why the connector could not say."""
    from host.crm import CrmError
    from host.failures import ConnectorClientError
    from host.sync import SyncError
    from host.sync.settings import list_rows

    try:
        rows = await asyncio.wait_for(
            list_rows(registry, crm, name, **changes), timeout=LISTS_TIMEOUT
        )
    except TimeoutError:
        return [], f"the connector did not answer its lists within {LISTS_TIMEOUT:g} s"
    except ConnectorClientError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [], f"the connector's lists could not be read: {first}"
    except (SyncError, CrmError) as exc:
        if changes:
            raise
        return [], str(exc)
    return rows, ""


async def render(
    request: Request,
    record: ConnectionRecord,
    *,
    outcome: Outcome | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The page for `record`, with what a change did (`outcome`) and refusals by field."""
    from host.sync import SyncError, state
    from host.sync.settings import activation_reasons, interval_of, type_settings

    context = _context(request)
    registry = context.registry()
    crm = _open_crm(context)
    try:
        try:
            types = type_settings(registry, record.guid)
            reasons = [] if record.active else activation_reasons(registry, record.guid)
        except SyncError as exc:
            types, reasons = {}, [str(exc)]
        rows, lists_error = await _lists(registry, crm, record.name)
        scrubber = _scrubber(registry, record)
        sync_status = state.status(crm, record.guid)
        sync_status["reason"] = _scrubbed(scrubber, sync_status.get("reason"))
        data = {
            "record": record,
            "types": type_views(types),
            "lists": list_views(rows, crm),
            "lists_error": _scrubbed(scrubber, lists_error),
            "reasons": reasons,
            "status": sync_status,
            "runs": [_run_row(r, scrubber) for r in state.runs(crm, record.guid, RUNS_SHOWN)],
            "interval": interval_of(registry, record.guid),
            "directions": DIRECTION_LABELS,
        }
    finally:
        crm.close()
    return context.templates.TemplateResponse(
        request,
        "sync_settings.html",
        {
            **data,
            "outcome": outcome if outcome is not None else context.take_flash(request),
            "errors": errors or {},
            **page_context(request, "sync"),
        },
        status_code=status,
    )


def _record(request: Request, name: str) -> ConnectionRecord | None:
    from host.registry import NotFound

    try:
        return _context(request).registry().connection(name)
    except NotFound:
        return None


def _unknown(request: Request, name: str) -> Response:
    from host.web.connections import _sync_tab_outcome

    return _sync_tab_outcome(
        request, Outcome(f"There is no connection {safe(name, 200)!r}.", ok=False)
    )


@router.get(PAGE)
async def settings_page(request: Request, name: str = Query("", max_length=200)) -> Response:
    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    return await render(request, record)


# --- changes -----------------------------------------------------------------------------


def _back(request: Request, record: ConnectionRecord, message: str, anchor: str) -> Response:
    """After a change: back to the page (at `anchor`), which says what was done."""
    _context(request).flash(request, Outcome(message, ok=True))
    target = f"{PAGE}?name={quote(record.name, safe='')}"
    if is_htmx(request):
        # Without the fragment: a link to the page it is on with another fragment would
        # only scroll, and the page would not show what was done.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(f"{target}#{anchor}", status_code=303)


async def _refused(request: Request, record: ConnectionRecord, key: str, message: str) -> Response:
    """The page again, the reason beside the field (`key`) and above; nothing was saved."""
    outcome = Outcome(f"Nothing was saved: {message}", ok=False)
    return await render(request, record, outcome=outcome, errors={key: message}, status=422)


async def _posted(request: Request, max_fields: int = 50) -> tuple[FormData, str]:
    data = await request.form(max_fields=max_fields)
    return data, posted_text(data, "name")


def _flag(data: FormData, key: str) -> bool:
    return posted_text(data, key) in ("on", "1", "true")


def _rank(text: str, where: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise Refused(f"rank {safe(text, 40)!r} of {where} is not a whole number") from None
    if abs(value) > RANK_LIMIT:
        raise Refused(f"rank {value} of {where} is out of range (-{RANK_LIMIT} to {RANK_LIMIT})")
    return value


async def _enable(context: WebContext, record: ConnectionRecord, actor_type: str) -> str:
    """Enable the type and map its list fields' items (host.sync.lists.enable_with_lists,
    as `erpsync mapping enable` does); says what was done."""
    from host.sync.settings import enable_with_lists

    crm = _open_crm(context)
    try:
        # The type is enabled before the connector is asked; a timeout can only cut the
        # list step short, which saves nothing until its end.
        done = await asyncio.wait_for(
            enable_with_lists(context.registry(), crm, record.name, actor_type),
            timeout=LISTS_TIMEOUT,
        )
    except TimeoutError:
        return (
            f"Sync of ERP {actor_type} enabled. Its list items were not mapped (the connector "
            f"did not answer within {LISTS_TIMEOUT:g} s): map them below."
        )
    finally:
        crm.close()
    message = f"Sync of ERP {actor_type} to CRM {done.settings.entity} enabled."
    if done.lists_error:
        message += f" Its list items were not mapped ({done.lists_error}): map them below."
    elif done.rows:
        left = sum(1 for r in done.rows if r["crm_item"] is None)
        message += (
            f" List items mapped by key or name: {len(done.rows) - left} of {len(done.rows)}."
        )
    return message


@router.post(f"{PAGE}/type")
async def change_type(request: Request) -> Response:
    """Enable or disable an actor type, create in the ERP on/off, apply the proposal."""
    from host.sync import SyncError
    from host.sync.settings import apply_proposal, disable, set_create_in_erp

    data, name = await _posted(request)
    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    actor_type, action = posted_text(data, "actor_type"), posted_text(data, "action")
    context = _context(request)
    registry = context.registry()
    anchor = f"type-{actor_type}"
    try:
        if action == "enable":
            message = await _enable(context, record, actor_type)
        elif action == "disable":
            disable(registry, record.guid, actor_type)
            message = f"Sync of ERP {actor_type} disabled (its mapping is kept)."
        elif action in ("create-on", "create-off"):
            set_create_in_erp(registry, record.guid, actor_type, action == "create-on")
            message = (
                f"New CRM records {'are' if action == 'create-on' else 'are not'} created "
                f"in the ERP as {actor_type}."
            )
        elif action == "propose":
            mapped = apply_proposal(registry, record.guid, actor_type)
            message = f"Automatic mapping applied to {len(mapped)} field(s) of {actor_type}."
        else:
            raise Refused(f"action {safe(action, 40)!r} is not one of enable, disable, propose")
    except (SyncError, Refused) as exc:
        return await _refused(request, record, f"type:{actor_type}", str(exc))
    return _back(request, record, message, anchor)


@router.post(f"{PAGE}/field")
async def change_field(request: Request) -> Response:
    """One field's mapping (CRM field, direction, in search, on the ERP tab, rank), or move
    it up or down in the ERP tab order."""
    from host.sync import SyncError
    from host.sync.settings import move_field, set_field

    data, name = await _posted(request)
    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    actor_type, erp_field = posted_text(data, "actor_type"), posted_text(data, "erp_field")
    action = posted_text(data, "action") or "save"
    where = f"{actor_type}.{erp_field}"
    registry = _context(request).registry()
    try:
        if action in ("up", "down"):
            move_field(registry, record.guid, actor_type, erp_field, -1 if action == "up" else 1)
            message = f"{where} moved {action} in the ERP tab order."
        elif action == "save":
            result = set_field(
                registry,
                record.guid,
                actor_type,
                erp_field,
                crm_field=posted_text(data, "crm_field"),
                direction=posted_text(data, "direction"),
                in_search=_flag(data, "in_search"),
                on_tab=_flag(data, "on_tab"),
                rank=_rank(posted_text(data, "rank") or "0", where),
            )
            message = (
                f"{where} → {result.crm_field or '(unmapped)'}, "
                f"{DIRECTION_LABELS.get(result.direction, result.direction)}."
            )
        else:
            raise Refused(f"action {safe(action, 40)!r} is not one of save, up, down")
    except (SyncError, Refused) as exc:
        return await _refused(request, record, f"field:{actor_type}:{erp_field}", str(exc))
    return _back(request, record, message, f"type-{actor_type}")


@router.post(f"{PAGE}/default")
async def change_default(request: Request) -> Response:
    """A default value for creating actors in the ERP: value, ask, mandatory."""
    from host.sync import SyncError
    from host.sync.settings import set_default_checked

    data, name = await _posted(request)
    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    actor_type, erp_field = posted_text(data, "actor_type"), posted_text(data, "erp_field")
    registry = _context(request).registry()
    try:
        result = await asyncio.wait_for(
            set_default_checked(
                registry,
                record.guid,
                actor_type,
                erp_field,
                value=posted_text(data, "value"),
                ask=_flag(data, "ask"),
                mandatory=_flag(data, "mandatory"),
            ),
            timeout=LISTS_TIMEOUT,
        )
    except TimeoutError:
        reason = f"the connector did not answer its lists within {LISTS_TIMEOUT:g} s"
        return await _refused(request, record, f"default:{actor_type}:{erp_field}", reason)
    except SyncError as exc:
        return await _refused(request, record, f"default:{actor_type}:{erp_field}", str(exc))
    message = (
        f"Default of {actor_type}.{erp_field}: value {_shown_value(result.value) or '(none)'}, "
        f"ask {'yes' if result.ask else 'no'}, mandatory {'yes' if result.mandatory else 'no'}."
    )
    return _back(request, record, message, f"defaults-{actor_type}")


@router.post(f"{PAGE}/lists")
async def change_list(request: Request) -> Response:
    """One ERP list's item mapping as posted, or its proposal by key or name."""
    from host.crm import CrmError
    from host.failures import ConnectorClientError
    from host.sync import SyncError

    data, name = await _posted(request, max_fields=2 * SHOWN_FIELDS + 10)
    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    erp_list, action = posted_text(data, "erp_list"), posted_text(data, "action") or "save"
    erp_items, crm_items = posted_texts(data, "erp_item"), posted_texts(data, "crm_item")
    context = _context(request)
    crm = _open_crm(context)
    try:
        if action == "auto":
            rows, error = await _lists(context.registry(), crm, record.name, auto=erp_list)
        elif action == "save":
            if len(erp_items) != len(crm_items):
                raise Refused(f"list {safe(erp_list, 80)}: the form's items do not pair up")
            wanted = {erp_list: dict(zip(erp_items, crm_items, strict=True))}
            rows, error = await _lists(context.registry(), crm, record.name, wanted=wanted)
        else:
            raise Refused(f"action {safe(action, 40)!r} is not one of save, auto")
    except (SyncError, CrmError, Refused, ConnectorClientError) as exc:
        return await _refused(request, record, f"list:{erp_list}", str(exc))
    finally:
        crm.close()
    if error:
        return await _refused(request, record, f"list:{erp_list}", error)
    unmapped = [r["erp_item"] for r in rows if r["erp_list"] == erp_list and not r["crm_item"]]
    message = f"List {erp_list} saved; {len(unmapped)} item(s) unmapped."
    if action == "auto":
        total = sum(1 for r in rows if r["erp_list"] == erp_list)
        message = (
            f"List {erp_list}: items mapped by key or name: {total - len(unmapped)} of {total}."
        )
    return _back(request, record, message, "lists")


@router.post(f"{PAGE}/activation")
async def change_activation(request: Request) -> Response:
    """Activate (the admin core decides, with every reason it refuses) or deactivate."""
    from host.admin import connections
    from host.admin.errors import ActivationRefused, AdminError

    data, name = await _posted(request)
    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    registry = _context(request).registry()
    action = posted_text(data, "action")
    try:
        if action == "activate":
            await connections.activate(registry, record.name)
            message = f"Activated connection {record.name!r}."
        elif action == "deactivate":
            connections.deactivate(registry, record.name)
            message = f"Deactivated connection {record.name!r}."
        else:
            raise Refused(f"action {safe(action, 40)!r} is not one of activate, deactivate")
    except ActivationRefused as exc:
        outcome = Outcome(f"Connection {record.name!r} was not activated:", False, exc.reasons)
        return await render(request, record, outcome=outcome, status=422)
    except (AdminError, Refused) as exc:
        return await _refused(request, record, "activation", str(exc))
    return _back(request, record, message, "activation")


@router.post(f"{PAGE}/run")
async def run_now(request: Request) -> Response:
    """One sync pass now (the core's sync_one, under the connection's lock), or let a
    stopped connection sync again."""
    from host.crm import CrmError
    from host.sync import SyncError
    from host.sync.engine import start
    from host.sync.queue import sync_one

    data, name = await _posted(request)
    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    context = _context(request)
    if posted_text(data, "action") == "start":
        crm = _open_crm(context)
        try:
            start(crm, record.guid)
        finally:
            crm.close()
        return _back(request, record, f"Sync of {record.name!r} started again.", "status")
    if not record.active:
        return await _refused(
            request, record, "run", "the connection is not active; activate it first"
        )
    try:
        result = await run_in_threadpool(sync_one, _db_path(context), record.guid)
    except (SyncError, CrmError) as exc:
        return await _refused(request, record, "run", str(exc))
    if "skipped" in result:
        message = f"Sync of {record.name!r} skipped: {result['skipped']}."
    else:
        counts = ", ".join(
            f"{k} {result.get(k, 0)}"
            for k in ("read", "created", "updated", "pushed", "conflicts", "errors")
        )
        message = f"Sync pass of {record.name!r} {result.get('status')}: {counts}."
        if result.get("status") == "failed":
            return await _refused(request, record, "run", f"{message} {result.get('message')}")
    return _back(request, record, message, "status")


# --- the settings file -------------------------------------------------------------------


@router.get(f"{PAGE}/export")
def export_file(request: Request, name: str = Query("", max_length=200)) -> Response:
    """The connection's sync settings as a JSON download (the CLI's `mapping export`)."""
    import json

    from host.sync import SyncError
    from host.sync.settings import export_settings

    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    try:
        document = export_settings(_context(request).registry(), record.name)
    except SyncError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain")
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in record.name)[:80]
    return Response(
        text,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}-sync.json"'},
    )


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it passes `limit` bytes (read no further)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(f"{PAGE}/import")
async def import_file(request: Request, name: str = Query("", max_length=200)) -> Response:
    """Replace the connection's sync settings with an uploaded file, all or nothing (the
    CLI's `mapping import`). A multipart form sends its CSRF token in the header (htmx)."""
    from starlette.datastructures import UploadFile
    from starlette.requests import Request as StarletteRequest

    from host.sync import SyncError
    from host.sync.settings import SETTINGS_FILE_LIMIT, import_settings, parse_settings_file

    record = _record(request, name)
    if record is None:
        return _unknown(request, name)
    body = await _bounded_body(request, SETTINGS_FILE_LIMIT + 64 * 1024)
    if body is None:
        return await _refused(
            request,
            record,
            "file",
            f"the settings file is larger than {SETTINGS_FILE_LIMIT // (1024 * 1024)} MiB; "
            "it is not one",
        )
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await StarletteRequest(request.scope, replay).form(max_files=1, max_fields=5)
    except Exception as exc:  # a malformed multipart body
        return await _refused(request, record, "file", f"the upload could not be read ({exc})")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _refused(request, record, "file", "file: choose a settings file to import")
    raw = await upload.read(SETTINGS_FILE_LIMIT + 1)
    source = safe(upload.filename, 100)
    try:
        if len(raw) > SETTINGS_FILE_LIMIT:
            raise SyncError(f"{source}: larger than the settings file limit")
        document = parse_settings_file(raw, source)
        import_settings(_context(request).registry(), record.name, document)
    except SyncError as exc:
        return await _refused(request, record, "file", str(exc))
    return _back(request, record, f"Sync settings replaced from {source}.", "file")
