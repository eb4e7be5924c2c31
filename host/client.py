"""ConnectorClient: the admin side's only way to talk to a connector, over protocol v1.

One code path, two transports: an `http(s)://` connector anywhere, or an installed app run
in-process through the same ASGI app (httpx's ASGI transport). Failures are classified once,
in host.failures (re-exported here), so every face can say what to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple

import httpx

from host.connector import Actor, Field, Page, Response, Restriction, State
from host.deadline import current as current_deadline
from host.failures import (  # re-exported: the failures of a call are the client's
    BUSY,
    CERTIFICATE,
    CONFIG_ERROR,
    FAILURES,
    INVALID_TARGET,
    PROTOCOL,
    REFUSED,
    SYSTEM,
    TRANSIENT,
    UNAUTHORIZED,
    UNREACHABLE,
    CallFailed,
    CertificateError,
    ConnectorBusy,
    ConnectorClientError,
    ConnectorUnreachable,
    FailureClass,
    InvalidTarget,
    ProtocolError,
    Unauthorized,
)
from host.protocol import PROTOCOL_VERSION, is_supported_version
from host.protocol import operations as ops
from host.protocol.operations import Operation
from host.protocol.scrub import Scrubber, secret_keys, secret_values
from host.tokens import TOKEN_RULE, token_problem

ConfigLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]
SecretLookup = Callable[[str], Awaitable[Sequence[str]]]

INFO_IDENTIFIERS = ("id", "protocol_version")
"""Info values the admin side uses as identifiers: checked, not scrubbed."""


class Paged(NamedTuple):
    """The payload of a search answer that carries a next_cursor (protocol v1.1)."""

    items: Any
    cursor: str


DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
__all__ = [
    "BUSY",
    "CERTIFICATE",
    "CONFIG_ERROR",
    "FAILURES",
    "INVALID_TARGET",
    "PROTOCOL",
    "REFUSED",
    "SYSTEM",
    "TRANSIENT",
    "UNAUTHORIZED",
    "UNREACHABLE",
    "CallFailed",
    "CertificateError",
    "ConnectorBusy",
    "ConnectorClient",
    "ConnectorClientError",
    "ConnectorUnreachable",
    "FailureClass",
    "InvalidTarget",
    "Paged",
    "ProtocolError",
    "Unauthorized",
]

BULK_PAGE_SIZE = 1000
"""Actors per page (or per stream position) when reading every change: the protocol's max."""


_TLS_CONTEXTS: dict[tuple[str | None, float], ssl.SSLContext] = {}


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The TLS context of a trust setting (httpx's default, or a private CA bundle), built
    once and shared by every client: building one loads a CA file, tens of milliseconds,
    which a web admin's per-test client paid each time. A bundle file changed on disk is
    read again (its modification time is part of the key)."""
    import os

    stamp = os.stat(ca_bundle).st_mtime if ca_bundle else 0.0
    key = (ca_bundle, stamp)
    context = _TLS_CONTEXTS.get(key)
    if context is None:
        if ca_bundle:
            context = ssl.create_default_context(cafile=ca_bundle)
        else:
            context = httpx.create_ssl_context()
        if len(_TLS_CONTEXTS) > 64:
            _TLS_CONTEXTS.clear()
        _TLS_CONTEXTS[key] = context
    return context


class ConnectorClient:
    """Async client of one connector URL; use as `async with ConnectorClient(url) as c:`.

    It is the admin side's only path to a connector, so it is where connector texts are
    scrubbed: every explanation, label, list text and error message it hands out has the
    token and the secret values in play for the call masked or withheld (host.protocol.scrub),
    whatever language the connector is written in.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        config_lookup: ConfigLookup | None = None,
        label: str | None = None,
        retries: int = 2,
        backoff: float = 0.25,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        ca_bundle: str | None = None,
        secrets: Sequence[str] = (),
        secret_lookup: SecretLookup | None = None,
    ) -> None:
        """`retries` re-tries transient failures of idempotent calls with doubling backoff;
        `ca_bundle` trusts a private CA (verification itself is never switched off).
        `secrets` are scrubbed from every answer besides the token; `secret_lookup(guid)`
        gives the secret values of a saved connection, scrubbed from answers about it."""
        self.url = url.rstrip("/")
        self.label = label or self.url
        self._config_lookup = config_lookup
        self._secret_lookup = secret_lookup
        self._base = Scrubber([token, *secrets])
        self._secret_keys: list[str] | None = None  # declared by config_fields(), once asked
        self._guid_secrets: dict[str, list[str]] = {}
        self._seen: set[str] = set()
        self.capabilities: dict[str, Any] | None = None
        """What the connector declared in info (v1.1), once info() was asked; None for 1.0."""
        self._asked_info = False
        self._stream_problem = ""
        self.next_since = ""
        """The stamp to ask from next time, as the last complete changes stream ended."""
        self._retries = max(0, retries)
        self._backoff = backoff
        self._max_bytes = max_response_bytes
        self._deadline = timeout * 2  # a body trickling in slowly must still end
        if token:
            problem = token_problem(token)
            if problem:
                raise InvalidTarget(f"{self.label}: the token {problem}; {TOKEN_RULE}")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers["User-Agent"] = f"erpsync-host (protocol {PROTOCOL_VERSION})"
        try:
            base_url = httpx.URL(self.url + ops.BASE_PATH)
            base_url.port  # noqa: B018 - a port out of range fails here, not mid-request
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise InvalidTarget(f"{self.label}: not a valid URL ({_reason(exc)})") from None
        # No redirects: a bearer token must never follow a redirect to another host.
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            verify=tls_context(ca_bundle),
        )

    async def __aenter__(self) -> ConnectorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing ----------------------------------------------------------------------

    async def _call(
        self,
        op: Operation,
        *path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        what: str = "",
        config: Mapping[str, Any] | None = None,
    ) -> tuple[Response, Any, Scrubber]:
        """One operation of the table (its method, its path filled in, its retry policy):
        (scrubbed envelope, raw payload, the call's scrubber for the payload's texts). The
        scrubber holds the token, `config`'s secrets and those of the GUID in the path; a
        ConnectorClientError raised has its message scrubbed too."""
        what = what or op.name.replace("_", " ")
        scrubber = await self._scrubber(path[0] if op.takes_guid else None, config)
        try:
            response, data = await self._unscrubbed(op, path, json=json, params=params, what=what)
        except ConnectorClientError as exc:
            exc.args = (self._scrub_message(str(exc), scrubber, what or "the call"),)
            raise
        return scrubber.response(response, what or "the call"), data, scrubber

    async def _unscrubbed(
        self,
        op: Operation,
        path: tuple[str, ...],
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        what: str = "",
    ) -> tuple[Response, Any]:
        url = op.url(*path)
        response, data = await self._send(
            op.method, url, json=json, params=params, idempotent=op.idempotent, what=what
        )
        if (
            response.error_code == "unknown_connection"
            and op.resends_config
            and self._config_lookup is not None
        ):
            # The connector forgot the GUID (restart, in-process host): re-send, retry once.
            guid = path[0]
            config = await self._config_lookup(guid)
            if config is not None:
                save = ops.SAVE_CONNECTION
                saved, _ = await self._send(
                    save.method,
                    save.url(guid),
                    json={"config": dict(config)},
                    params=None,
                    what="save connection",
                )
                if saved.ok:
                    response, data = await self._send(
                        op.method,
                        url,
                        json=json,
                        params=params,
                        idempotent=op.idempotent,
                        what=what,
                    )
        if isinstance(data, Paged) and not op.paged:
            data = data.items  # only searches page; a stray next_cursor means nothing
        return response, data

    # --- scrubbing ---------------------------------------------------------------------

    def secrets_of(self, config: Mapping[str, Any]) -> list[str]:
        """The secret values of a config: its password fields as the connector declared them
        (once config_fields() was asked), else the keys whose names say secret."""
        return secret_values(config, self._secret_keys)

    def scrubber(self) -> Scrubber:
        """The token, the given secrets and every secret value this client has sent so far:
        for a report that gathers texts from many calls (the conformance suite)."""
        return self._base.plus(self._seen)

    async def _scrubber(self, guid: str | None, config: Mapping[str, Any] | None) -> Scrubber:
        extra: list[str] = []
        if config is not None:
            extra += self.secrets_of(config)
        if guid is not None:
            if guid not in self._guid_secrets and self._secret_lookup is not None:
                self._guid_secrets[guid] = list(await self._secret_lookup(guid))
            extra += self._guid_secrets.get(guid, [])
        self._seen.update(extra)
        return self._base.plus(extra)

    def _scrub_message(self, text: str, scrubber: Scrubber, what: str) -> str:
        """A message of ours: the label (the admin's name and URL) stays, the rest, which
        may quote the connector, is scrubbed."""
        prefix = f"{self.label}: "
        rest = text.removeprefix(prefix)
        return (
            prefix + scrubber.text(rest, operation=what)
            if rest != text
            else (scrubber.text(text, operation=f"{prefix}{what}"))
        )

    def _remember(self, guid: str, config: Mapping[str, Any]) -> None:
        """The config just sent for `guid`: its secrets, and those it had before, are
        scrubbed from later answers about it."""
        before = self._guid_secrets.get(guid, [])
        self._guid_secrets[guid] = sorted({*before, *self.secrets_of(config)})

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        idempotent: bool = True,
        what: str = "",
    ) -> tuple[Response, Any]:
        attempt = 0
        while True:
            try:
                return await self._attempt(method, path, json=json, params=params, what=what)
            except ConnectorClientError as exc:
                overall = current_deadline()
                pause = self._backoff * 2**attempt
                if not exc.retry or not idempotent or attempt >= self._retries:
                    raise
                if overall is not None and overall.remaining() <= pause:
                    raise  # no time left for another try: the last error says why
            await asyncio.sleep(pause)
            attempt += 1

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        what: str = "",
    ) -> tuple[Response, Any]:
        what = what or f"{method} {path}"
        overall = current_deadline()
        limit = self._deadline
        if overall is not None:
            overall.activity = what
            limit = min(limit, overall.remaining())
        try:
            if limit <= 0:
                raise TimeoutError
            async with asyncio.timeout(limit):
                answer, raw = await self._fetch(method, path, json=json, params=params)
        except (httpx.TimeoutException, TimeoutError) as exc:
            if overall is not None and overall.expired:
                raise ConnectorUnreachable(
                    f"{self.label} did not answer {what!r} within {overall.seconds:g} s; "
                    "check that the connector is running, or allow more with --timeout"
                ) from exc
            raise ConnectorUnreachable(
                f"{self.label}: timed out ({type(exc).__name__}); check that the connector "
                "is running and not overloaded"
            ) from exc
        except (httpx.LocalProtocolError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            # httpx's text here can hold a header value, i.e. the token: never repeat it.
            raise InvalidTarget(
                f"{self.label}: the request could not be sent ({type(exc).__name__}: the URL "
                "or the token holds characters HTTP does not allow); check the connector's "
                "URL and token"
            ) from None
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise CertificateError(
                    f"{self.label}: its TLS certificate does not verify ({_reason(exc)}); "
                    "trust its private CA with --ca-bundle"
                ) from exc
            raise ConnectorUnreachable(
                f"{self.label}: cannot connect ({_reason(exc)}); check the URL and that the "
                "connector is running"
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectorUnreachable(
                f"{self.label}: the connection broke off ({_reason(exc)}); check the "
                "connector's log"
            ) from exc
        if answer.status_code in (502, 503, 504):
            raise ConnectorBusy(
                f"{self.label}: answered HTTP {answer.status_code} (temporarily unavailable); "
                "try again later"
            )
        if answer.status_code == 401:
            raise Unauthorized(f"{self.label}: the connector refused the token; check --token")
        if answer.is_redirect:
            raise ProtocolError(
                f"{self.label}: answered a redirect to {answer.headers.get('location', '?')}; "
                "register the final URL instead"
            )
        try:
            body = jsonlib.loads(raw)
        except ValueError:
            raise ProtocolError(
                f"{self.label}: answered HTTP {answer.status_code} without a JSON body; "
                "is this URL a connector?"
            ) from None
        if not (
            isinstance(body, dict)
            and isinstance(body.get("ok"), bool)
            and body.get("state") in {s.value for s in State}
        ):
            raise ProtocolError(
                f"{self.label}: answered HTTP {answer.status_code} with JSON that is not a "
                "protocol envelope; is this URL a connector?"
            )
        response = Response(
            State(body["state"]),
            str(body.get("user_explanation") or ""),
            str(body.get("tech_explanation") or ""),
            str(body.get("error_code") or ""),
        )
        if answer.status_code >= 500 and response.ok:
            raise ProtocolError(f"{self.label}: answered HTTP {answer.status_code}")
        cursor = body.get("next_cursor")
        if isinstance(cursor, str) and cursor:
            return response, Paged(body.get("data"), cursor)
        return response, body.get("data")

    async def _fetch(
        self, method: str, path: str, *, json: Any, params: Mapping[str, Any] | None
    ) -> tuple[httpx.Response, bytes]:
        """Send and read the body, refusing one larger than the cap before it fills memory."""
        request = self._http.build_request(method, path, json=json, params=params)
        answer = await self._http.send(request, stream=True)
        try:
            declared = answer.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise self._too_large()
            chunks, size = [], 0
            async for chunk in answer.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise self._too_large()
                chunks.append(chunk)
        finally:
            await answer.aclose()
        return answer, b"".join(chunks)

    def _too_large(self) -> ProtocolError:
        return ProtocolError(
            f"{self.label}: answer larger than the {_size(self._max_bytes)} cap; "
            "ask for fewer actors per call"
        )

    async def _data(self, op: Operation, what: str, *path: str, **kwargs: Any) -> Any:
        data, _ = await self._scrubbed_data(op, what, *path, **kwargs)
        return data

    def offers(self, name: str) -> bool:
        """Whether the connector declared the operation (always true before info() or for a
        1.0 connector, which declares nothing; required operations are always offered)."""
        op = ops.BY_NAME[name]
        declared = (self.capabilities or {}).get("operations")
        return not op.optional or not isinstance(declared, list) or name in declared

    def max_page_size(self, kind: str = "page_size") -> int:
        """The largest limit the connector declared (`page_size` or `search_page_size`)."""
        bounds = (self.capabilities or {}).get(kind)
        top = bounds.get("max") if isinstance(bounds, dict) else None
        return top if isinstance(top, int) and 1 <= top <= ops.MAX_PAGE_SIZE else ops.MAX_PAGE_SIZE

    async def _scrubbed_data(
        self, op: Operation, what: str, *path: str, **kwargs: Any
    ) -> tuple[Any, Scrubber]:
        """The payload of a successful call and the call's scrubber for its texts.

        An optional operation the connector did not declare fails here, unsent; one it
        declared and then answers not_supported to is a protocol error."""
        if not self.offers(op.name):
            raise CallFailed(
                f"{self.label}: {what} is not offered by this connector (info capabilities)",
                Response.error(f"The connector does not offer {what}.", "", "not_supported"),
            )
        response, data, scrubber = await self._call(op, *path, what=what, **kwargs)
        if response.error_code == "not_supported" and op.optional and self.capabilities:
            raise ProtocolError(
                f"{self.label}: declares {op.name} in its capabilities but answered not_supported"
            )
        if not response.ok:
            explanation = response.user_explanation or response.error_code
            raise CallFailed(f"{self.label}: {what} failed: {explanation}", response)
        return data, scrubber

    def _shape_error(
        self, what: str, exc: Exception, scrubber: Scrubber | None = None
    ) -> ProtocolError:
        text = f"{self.label}: {what} answer has the wrong shape ({exc})"
        return ProtocolError(self._scrub_message(text, scrubber or self.scrubber(), what))

    def _fields(self, data: Any, what: str, scrubber: Scrubber | None = None) -> list[Field]:
        scrubber = scrubber or self.scrubber()
        try:
            return [scrubber.field(Field.from_dict(item)) for item in data]
        except (TypeError, KeyError, ValueError) as exc:
            raise self._shape_error(what, exc, scrubber) from exc

    def _actors(self, data: Any, what: str) -> list[Actor]:
        try:
            return [Actor.from_dict(item) for item in data]
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise self._shape_error(what, exc) from exc

    def _strings(self, data: Any, what: str) -> list[str]:
        if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
            raise self._shape_error(what, TypeError("expected a list of strings"))
        return data

    # --- the contract ------------------------------------------------------------------

    async def info(self) -> dict[str, Any]:
        """The connector's info; its texts (name, vendor, description ...) scrubbed."""
        data, scrubber = await self._scrubbed_data(ops.INFO, "info")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise self._shape_error("info", TypeError("expected an object with an id"))
        version = data.get("protocol_version")
        if not is_supported_version(version):
            raise ProtocolError(
                self._scrub_message(
                    f"{self.label}: speaks protocol version {version!r}; this host speaks "
                    f"{PROTOCOL_VERSION}. Upgrade erpsync-host or use a matching connector.",
                    scrubber,
                    "info",
                )
            )
        scrubbed: dict[str, Any] = scrubber.data(data, keep=INFO_IDENTIFIERS)
        declared = data.get("capabilities")
        self.capabilities = declared if isinstance(declared, dict) else None
        return scrubbed

    async def config_fields(self) -> list[Field]:
        """The config fields; their password keys are remembered as the secrets of a config."""
        data, scrubber = await self._scrubbed_data(ops.CONFIG_FIELDS, "config fields")
        fields = self._fields(data, "fields", scrubber)
        self._secret_keys = secret_keys(fields)
        return fields

    async def test_config(self, config: Mapping[str, Any]) -> Response:
        response, _, _ = await self._call(
            ops.TEST_CONFIG, json={"config": dict(config)}, config=config
        )
        return response

    async def save_connection(self, guid: str, config: Mapping[str, Any]) -> Response:
        try:
            response, _, _ = await self._call(
                ops.SAVE_CONNECTION, guid, json={"config": dict(config)}, config=config
            )
        finally:
            self._remember(guid, config)
        return response

    async def test_connection(self, guid: str) -> Response:
        response, _, _ = await self._call(ops.TEST_CONNECTION, guid)
        return response

    async def held_connections(self) -> list[str]:
        """GUIDs the connector holds config for (ours; a connector may answer not_supported)."""
        data = await self._data(ops.HELD_CONNECTIONS, "held connections")
        return self._strings(data, "held connections")

    async def delete_connection(self, guid: str) -> Response:
        """Idempotent: a 1.0 connector's unknown_connection for a GUID it does not hold is
        taken as done, as a 1.1 connector answers it."""
        response, _, _ = await self._call(ops.DELETE_CONNECTION, guid)
        if response.error_code == "unknown_connection":
            return Response.success(f"Connection {guid} was not held; nothing to delete.")
        return response

    async def actor_types(self, guid: str) -> list[str]:
        data = await self._data(ops.ACTOR_TYPES, "actor types", guid)
        return self._strings(data, "actor types")

    async def actor_fields(self, guid: str, actor_type: str) -> list[Field]:
        data, scrubber = await self._scrubbed_data(
            ops.ACTOR_FIELDS, "actor fields", guid, actor_type
        )
        return self._fields(data, "fields", scrubber)

    async def searchable_fields(self, guid: str, actor_type: str) -> list[str]:
        data = await self._data(ops.SEARCHABLE_FIELDS, "searchable fields", guid, actor_type)
        return self._strings(data, "searchable fields")

    async def get_actors(
        self, guid: str, actor_type: str, erp_keys: Sequence[str], field_keys: Sequence[str] = ()
    ) -> list[Actor]:
        body = {"erp_keys": list(erp_keys), "field_keys": list(field_keys)}
        data = await self._data(ops.GET_ACTORS, "get actors", guid, actor_type, json=body)
        return self._actors(data, "get actors")

    async def search_actors(
        self, guid: str, actor_type: str, text: str = "", field_keys: Sequence[str] = ()
    ) -> list[Actor]:
        body = {"text": text, "field_keys": list(field_keys)}
        return await self._every_page(ops.SEARCH_ACTORS, "search", guid, actor_type, body)

    async def search_by_parent(
        self,
        guid: str,
        actor_type: str,
        parent_actor_type: str,
        parent_erp_key: str,
        text: str = "",
        field_keys: Sequence[str] = (),
    ) -> list[Actor]:
        body = {
            "text": text,
            "parent_actor_type": parent_actor_type,
            "parent_erp_key": parent_erp_key,
            "field_keys": list(field_keys),
        }
        return await self._every_page(
            ops.SEARCH_BY_PARENT, "search by parent", guid, actor_type, body
        )

    async def search_advanced(
        self,
        guid: str,
        actor_type: str,
        restrictions: Sequence[Restriction],
        field_keys: Sequence[str] = (),
    ) -> list[Actor]:
        body = {
            "restrictions": [
                {"field_key": r.field_key, "operator": r.operator, "values": list(r.values)}
                for r in restrictions
            ],
            "field_keys": list(field_keys),
        }
        return await self._every_page(
            ops.SEARCH_ADVANCED, "advanced search", guid, actor_type, body
        )

    async def search_page(
        self,
        name: str,
        guid: str,
        actor_type: str,
        body: Mapping[str, Any],
        *,
        limit: int | None = None,
        cursor: str = "",
    ) -> Page:
        """One page of a search (`name`: search_actors, search_by_parent, search_advanced):
        its actors and `next_cursor` (empty on the last page, always for a 1.0 connector)."""
        op = ops.BY_NAME[name]
        what = op.name.replace("_", " ")
        paged: dict[str, Any] = {**body, "cursor": cursor}
        if limit is not None:
            paged["limit"] = min(limit, self.max_page_size("search_page_size"))
        response, data, _ = await self._call(op, guid, actor_type, json=paged, what=what)
        if not response.ok:
            declared = op.optional and self.capabilities and self.offers(op.name)
            if response.error_code == "not_supported" and declared:
                raise ProtocolError(
                    f"{self.label}: declares {op.name} in its capabilities but answered "
                    "not_supported"
                )
            explanation = response.user_explanation or response.error_code
            raise CallFailed(f"{self.label}: {what} failed: {explanation}", response)
        if isinstance(data, Paged):
            return Page(self._actors(data.items, what), data.cursor)
        return Page(self._actors(data, what), "")

    async def _every_page(
        self, op: Operation, what: str, guid: str, actor_type: str, body: dict[str, Any]
    ) -> list[Actor]:
        """Every match of a search, following next_cursor (v1.1) to the last page."""
        if not self.offers(op.name):
            await self._scrubbed_data(op, what, guid, actor_type, json=body)  # raises
        found: list[Actor] = []
        cursor = ""
        seen: set[str] = set()
        while True:
            page = await self.search_page(op.name, guid, actor_type, body, cursor=cursor)
            found.extend(page.actors)
            if not page.cursor:
                return found
            if page.cursor in seen:
                raise ProtocolError(f"{self.label}: {what} handed out the same cursor twice")
            seen.add(page.cursor)
            cursor = page.cursor

    async def create_actor(self, guid: str, actor: Actor) -> Actor:
        data = await self._data(
            ops.CREATE_ACTOR,
            "create actor",
            guid,
            actor.actor_type,
            json={"actor": actor.to_dict()},
        )
        return self._actors([data], "create actor")[0]

    async def save_actors(
        self, guid: str, actors: Sequence[Actor], *, check_last_modified: bool = False
    ) -> list[Actor]:
        """Partial update; `check_last_modified` (v1.1) refuses stale actors with `conflict`."""
        body: dict[str, Any] = {"actors": [a.to_dict() for a in actors]}
        if check_last_modified:
            body["check_last_modified"] = True
        data = await self._data(ops.SAVE_ACTORS, "save actors", guid, json=body)
        return self._actors(data, "save actors")

    async def get_list(
        self, guid: str, list_name: str, keys: Sequence[str] | None = None
    ) -> dict[str, str]:
        params = {"keys": list(keys)} if keys is not None else None
        data, scrubber = await self._scrubbed_data(
            ops.GET_LIST, f"list {list_name}", guid, list_name, params=params
        )
        try:
            return {str(item["key"]): scrubber.value(str(item["text"])) for item in data}
        except (TypeError, KeyError) as exc:
            raise self._shape_error(f"list {list_name}", exc, scrubber) from exc

    async def changes_page(
        self,
        guid: str,
        actor_type: str,
        since: str = "",
        *,
        cursor: str = "",
        limit: int = 100,
        field_keys: Sequence[str] = (),
    ) -> Page:
        limit = min(limit, self.max_page_size())
        params = {"since": since, "cursor": cursor, "limit": limit, "fields": list(field_keys)}
        data = await self._data(ops.CHANGED_SINCE, "changed since", guid, actor_type, params=params)
        if not isinstance(data, dict):
            raise self._shape_error("changed since", TypeError("expected an object"))
        actors = self._actors(data.get("actors"), "changed since")
        return Page(actors, str(data.get("cursor") or ""))

    async def changed_since(
        self,
        guid: str,
        actor_type: str,
        since: str = "",
        *,
        field_keys: Sequence[str] = (),
        page_size: int = BULK_PAGE_SIZE,
    ) -> AsyncIterator[Actor]:
        """Every actor modified on or after `since`: the streamed feed where the connector
        declares it (one request), else page after page (see `changes`)."""
        async for page in self.changes(
            guid, actor_type, since, field_keys=field_keys, page_size=page_size
        ):
            for actor in page.actors:
                yield actor

    async def changes(
        self,
        guid: str,
        actor_type: str,
        since: str = "",
        *,
        cursor: str = "",
        field_keys: Sequence[str] = (),
        page_size: int = BULK_PAGE_SIZE,
    ) -> AsyncIterator[Page]:
        """The changes from `cursor` on, a page at a time; each page's `cursor` is where to
        resume after it (empty on the last), so a caller can checkpoint as it goes.

        Over the streamed feed (v1.1, `changes_stream`) when the connector declares it: one
        request, lines decoded straight into `Actor`s, a page per position line. A stream
        refused before it began, or cut off, goes on with plain pages from the last position,
        so nothing is read twice or skipped. Plain pages are fetched one ahead, so the
        caller's work and the connector's overlap; a caller that stops early cancels that.
        """
        page_size = min(page_size, self.max_page_size())
        if await self._stream_offered():
            streamed = self._streamed(guid, actor_type, since, cursor, field_keys, page_size)
            async with contextlib.aclosing(streamed):
                async for page in streamed:
                    if page is None:
                        break  # refused or cut off: go on with pages from the last position
                    cursor = page.cursor
                    yield page
                    if not cursor:
                        return
        async for page in self._paged(guid, actor_type, since, cursor, field_keys, page_size):
            yield page

    async def changes_stream(
        self,
        guid: str,
        actor_type: str,
        since: str = "",
        *,
        cursor: str = "",
        field_keys: Sequence[str] = (),
        page_size: int = BULK_PAGE_SIZE,
    ) -> AsyncIterator[Page]:
        """The streamed feed alone, pages at its position lines, with no fall-back to plain
        pages: a stream refused or cut off is a ProtocolError (the conformance suite compares
        the stream with the pages)."""
        streamed = self._streamed(guid, actor_type, since, cursor, field_keys, page_size)
        async with contextlib.aclosing(streamed):
            async for page in streamed:
                if page is None:
                    raise ProtocolError(f"{self.label}: changes stream {self._stream_problem}")
                yield page
                if not page.cursor:
                    return

    async def _stream_offered(self) -> bool:
        """Whether the connector declares the streamed feed (asks info once if not yet)."""
        if self.capabilities is None and not self._asked_info:
            self._asked_info = True
            with contextlib.suppress(ConnectorClientError):
                await self.info()
        return self.capabilities is not None and self.offers(ops.CHANGES_STREAM.name)

    async def _streamed(
        self,
        guid: str,
        actor_type: str,
        since: str,
        cursor: str,
        field_keys: Sequence[str],
        page_size: int,
    ) -> AsyncGenerator[Page | None, None]:
        """Pages of the streamed feed; a last None when it must go on with plain pages."""
        from host.protocol import stream

        op = ops.CHANGES_STREAM
        params: dict[str, Any] = {
            "since": since,
            "cursor": cursor,
            "limit": page_size,
            "fields": list(field_keys),
        }
        request = self._http.build_request(op.method, op.url(guid, actor_type), params=params)
        try:
            answer = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            self._stream_problem = f"could not be asked for ({type(exc).__name__})"
            yield None  # the page path connects again, and says why if it cannot
            return
        try:
            media = answer.headers.get("content-type", "").split(";")[0].strip()
            if answer.status_code != 200 or media != ops.STREAM_MEDIA_TYPE:
                self._stream_problem = f"was refused: HTTP {answer.status_code} {media}"
                yield None  # an error envelope: the page path reads it (and re-sends config)
                return
            lines = stream.Lines(self._max_bytes)
            batch: list[Actor] = []
            try:
                async for chunk in answer.aiter_bytes():
                    for raw in lines.feed(chunk):
                        line = stream.decode_line(raw)
                        if isinstance(line, Actor):
                            batch.append(line)
                        elif isinstance(line, stream.Position):
                            yield Page(batch, line.cursor)
                            batch = []
                        elif isinstance(line, stream.End):
                            self.next_since = line.next_since
                            yield Page(batch, "")
                            return
                        else:
                            raise await self._stream_failed(guid, line.envelope)
            except httpx.TransportError as exc:
                # cut off: the actors after the last position are read again as a page
                self._stream_problem = f"was cut off ({type(exc).__name__})"
            except ValueError as exc:
                raise self._shape_error("changes stream", exc) from None
            else:
                self._stream_problem = "ended without its end line"
            yield None
        finally:
            await answer.aclose()

    async def _stream_failed(self, guid: str, envelope: dict[str, Any]) -> ConnectorClientError:
        scrubber = await self._scrubber(guid, None)
        try:
            response = Response(
                State(envelope["state"]),
                str(envelope.get("user_explanation") or ""),
                str(envelope.get("tech_explanation") or ""),
                str(envelope.get("error_code") or "error"),
            )
        except (KeyError, ValueError):
            return self._shape_error("changes stream", ValueError("an error line without envelope"))
        response = scrubber.response(response, "changes stream")
        explanation = response.user_explanation or response.error_code
        return CallFailed(f"{self.label}: changes stream failed: {explanation}", response)

    async def _paged(
        self,
        guid: str,
        actor_type: str,
        since: str,
        cursor: str,
        field_keys: Sequence[str],
        page_size: int,
    ) -> AsyncIterator[Page]:
        """Plain pages from `cursor`, each next one asked for while this one is handed out."""

        def fetch(position: str) -> asyncio.Task[Page]:
            return asyncio.ensure_future(
                self.changes_page(
                    guid, actor_type, since, cursor=position, limit=page_size, field_keys=field_keys
                )
            )

        pending = fetch(cursor)
        try:
            while True:
                page = await pending
                if page.cursor:
                    pending = fetch(page.cursor)
                yield page
                if not page.cursor:
                    return
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectorClientError):
                    await pending


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):g} MiB" if count >= 1024 * 1024 else f"{count} bytes"


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
