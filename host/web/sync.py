"""Settings and administration → the Sync tab: sync connectors, ERP connections, installed apps.

The page is read from the registry and the installed apps alone, so it renders fast however
many connections there are. Each connector's protocol and status is then asked of the
connector itself, one row at a time (htmx loads each row after the page): a slow or dead
connector delays only its own row.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from host.protocol.scrub import Scrubber
from host.text import safe
from host.web.app import page_context

if TYPE_CHECKING:
    from host.apps import LoadedApps
    from host.registry import ConnectionRecord, ConnectorRecord, Registry
    from host.web.app import WebContext

log = logging.getLogger("erpsync.web")

STATUS_TIMEOUT = 10.0
"""Seconds a connector may take to answer its info before its row says so."""

router = APIRouter()


@dataclass
class ConnectorRow:
    name: str
    url: str
    app: str = ""
    app_version: str = ""
    status: str = "pending"  # pending | ok | error
    status_label: str = ""
    detail: str = ""
    description: str = ""


@dataclass
class ConnectionRow:
    name: str
    connector: str
    scope: str
    principals: list[str] = field(default_factory=list)
    active: bool = False
    last_test_state: str = ""
    last_test_passed: bool = False
    last_test_message: str = ""
    last_tested_at: str = ""
    attention: list[str] = field(default_factory=list)
    """Why an app upgrade broke it (host.admin.upgrades); empty when it is fine."""


def when(stamp: str | None) -> str:
    """An ISO time from the registry as 'YYYY-MM-DD HH:MM UTC'."""
    if not stamp:
        return ""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(stamp).astimezone(UTC)
    except ValueError:
        return safe(stamp, 40)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _app_of(url: str, apps: LoadedApps) -> tuple[str, str]:
    """(app name, version) serving an `app:<id>` connector URL; ("", "") for a remote one."""
    if not url.startswith("app:"):
        return "", ""
    app_name = apps.connector_app.get(url[4:], "")
    record = apps.app(app_name) if app_name else None
    return app_name, record.version if record else ""


SECRET_CACHE_LIMIT = 50_000

KEY_CANNOT_DECRYPT = "(message hidden: the secret key cannot decrypt this connection's secrets)"

ScrubberCache = dict[tuple[str, str], Scrubber | None]
"""(sealed secrets, connector token) -> the Scrubber of that connection (None: the key cannot
decrypt its secrets)."""


def _connection_scrubbers(
    registry: Registry, tokens: dict[str, str], cache: ScrubberCache | None = None
) -> dict[str, Scrubber | None]:
    """GUID -> the Scrubber of its secret values and its connector's token, for the rows with
    a test message to show (None: the key cannot decrypt the secrets). One query for all rows.

    The registry stores test messages scrubbed already; this is the web's own check behind
    it, with the same Scrubber. `cache` keeps a Scrubber per ciphertext (a sealed value never
    changes meaning): decrypting 1,000 of them would be most of the page's time.
    """
    from host.registry.secrets import SecretKeyError

    cache = {} if cache is None else cache
    if len(cache) > SECRET_CACHE_LIMIT:
        cache.clear()
    found: dict[str, Scrubber | None] = {}
    rows = registry.db.execute(
        "select guid, connector, secrets from connections where secrets is not null and "
        "coalesce(last_test_message, '') != ''"
    ).fetchall()
    for guid, connector, sealed in rows:
        key = (sealed, tokens.get(connector, ""))
        if key not in cache:
            try:
                values = json.loads(registry.secrets.decrypt(sealed))
            except (SecretKeyError, ValueError):
                values = None
            cache[key] = Scrubber([*values.values(), key[1]]) if isinstance(values, dict) else None
        found[guid] = cache[key]
    return found


def _connector_tokens(registry: Registry, connectors: list[ConnectorRecord]) -> dict[str, str]:
    from host.registry.secrets import SecretKeyError

    tokens: dict[str, str] = {}
    for record in connectors:
        if record.has_token:
            try:
                tokens[record.name] = registry.connector_token(record.name) or ""
            except SecretKeyError:
                tokens[record.name] = ""
    return tokens


def connection_row(record: ConnectionRecord, scrubber: Scrubber | None) -> ConnectionRow:
    """A connection's table row; its test message scrubbed by `scrubber` (None: hidden)."""
    message = record.last_test_message or ""
    if scrubber is None:
        message = KEY_CANNOT_DECRYPT
    elif message:
        message = scrubber.text(message, operation="the last test")
    return ConnectionRow(
        name=record.name,
        connector=record.connector,
        scope=record.scope,
        principals=[*(f"user {u}" for u in record.users), *(f"group {g}" for g in record.groups)],
        active=record.active,
        last_test_state=record.last_test_state or "",
        last_test_passed=record.last_test_passed,
        last_test_message=message,
        last_tested_at=when(record.last_tested_at),
        attention=list(record.attention),
    )


def sync_tab_data(
    registry: Registry,
    apps: LoadedApps,
    scrubber_cache: ScrubberCache | None = None,
) -> dict[str, Any]:
    """Everything the Sync tab shows, read in one go; no connector is called here."""
    connectors = registry.connectors()
    tokens = _connector_tokens(registry, connectors)
    scrubbers = _connection_scrubbers(registry, tokens, scrubber_cache)
    token_only = {name: Scrubber([token]) for name, token in tokens.items()}
    connector_rows = []
    for record in connectors:
        app_name, app_version = _app_of(record.url, apps)
        connector_rows.append(ConnectorRow(record.name, record.url, app_name, app_version))
    connection_rows = [
        connection_row(r, scrubbers.get(r.guid, token_only.get(r.connector, Scrubber())))
        for r in registry.connections()
    ]
    return {
        "connectors": connector_rows,
        "connections": connection_rows,
        "apps": sorted(apps.apps, key=lambda a: a.name),
    }


@router.get("/settings/sync")
def sync_tab(request: Request) -> Response:
    context: WebContext = request.app.state.web
    data = sync_tab_data(context.registry(), context.apps(), context.scrubber_cache)
    outcome = context.take_flash(request)
    return context.templates.TemplateResponse(
        request,
        "sync.html",
        {**data, "outcome": outcome, **page_context(request, "sync")},
    )


async def connector_status(context: WebContext, name: str) -> ConnectorRow | None:
    """The connector's row with what its info answers now (or why it does not answer)."""
    from host.client import (
        CertificateError,
        ConnectorBusy,
        ConnectorClientError,
        ConnectorUnreachable,
        ProtocolError,
        Unauthorized,
    )
    from host.registry import NotFound

    def read() -> tuple[ConnectorRecord, str | None] | None:
        registry = context.registry()
        try:
            record = registry.connector(name)
        except NotFound:
            return None
        return record, _connector_tokens(registry, [record]).get(name)

    found = await run_in_threadpool(read)
    if found is None:
        return None
    record, token = found
    app_name, app_version = _app_of(record.url, await run_in_threadpool(context.apps))
    row = ConnectorRow(record.name, record.url, app_name, app_version)
    try:
        info = await asyncio.wait_for(_fetch_info(record, token), STATUS_TIMEOUT)
    except (ConnectorUnreachable, ConnectorBusy, TimeoutError) as exc:
        row.status, row.status_label = "error", "unreachable"
        row.detail = _error_text(exc, token) or f"no answer within {STATUS_TIMEOUT:g} s"
        return row
    except Unauthorized as exc:
        row.status, row.status_label, row.detail = "error", "token refused", _error_text(exc, token)
        return row
    except CertificateError as exc:
        row.status, row.status_label = "error", "certificate does not verify"
        row.detail = _error_text(exc, token)
        return row
    except ProtocolError as exc:
        row.status, row.status_label = "error", "not protocol v1"
        row.detail = _error_text(exc, token)
        return row
    except ConnectorClientError as exc:
        row.status, row.status_label, row.detail = "error", "error", _error_text(exc, token)
        return row
    except Exception as exc:  # an app: connector that is not installed, or a bug
        log.warning("status of connector %r: %s", name, type(exc).__name__, exc_info=True)
        row.status, row.status_label, row.detail = "error", "error", _error_text(exc, token)
        return row
    row.status = "ok"
    scrubber = Scrubber([token])
    row.status_label = f"protocol {scrubber.value(str(info.get('protocol_version')))}"
    texts = [scrubber.value(str(info.get(k) or "")) for k in ("name", "version", "vendor")]
    row.detail = " ".join(t for t in texts[:2] if t)
    if texts[2]:
        row.detail += " by " + texts[2]
    row.description = scrubber.text(str(info.get("description") or ""), operation="info")
    if not row.app:
        row.app = f"remote: {scrubber.value(str(info.get('id') or ''))}"
    return row


def _error_text(exc: BaseException, token: str | None) -> str:
    """The first line of an error (the client scrubbed it already; checked again here)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return Scrubber([token]).text(text, operation="info")


async def _fetch_info(record: ConnectorRecord, token: str | None) -> dict[str, Any]:
    from host.admin.clients import make_client

    client = await run_in_threadpool(
        make_client,
        record.url,
        token=token,
        label=f"connector {record.name!r}",
        timeout=STATUS_TIMEOUT,
        ca_bundle=record.ca_bundle,
    )
    async with client:
        info: dict[str, Any] = await client.info()
    return info


@router.get("/settings/sync/connector-status")
async def connector_status_row(request: Request, name: str = "") -> Response:
    """One connector's table row, with its status (htmx swaps it in for the pending row)."""
    context: WebContext = request.app.state.web
    row = await connector_status(context, name)
    if row is None:
        return context.templates.TemplateResponse(
            request, "_connector_gone.html", {"name": name}, status_code=200
        )
    return context.templates.TemplateResponse(
        request, "_connector_row.html", {"row": row, "csrf_token": request.state.session.csrf_token}
    )
