"""ConnectorClient: the admin side's only way to talk to a connector, over protocol v1.

One code path, two transports: an `http(s)://` connector anywhere, or an installed app run
in-process through the same ASGI app (httpx's ASGI transport). Failures are classified the
way Airbyte does (config error, transient, system) so the CLI can say what to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from host.connector import Actor, Field, Page, Response, Restriction, State
from host.protocol import PROTOCOL_VERSION, is_supported_version
from host.tokens import TOKEN_RULE, token_problem

CONFIG_ERROR = "config_error"
TRANSIENT = "transient"
SYSTEM = "system"

ConfigLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]


class ConnectorClientError(Exception):
    """A call that did not get a protocol answer; `kind` says whose move it is."""

    kind = SYSTEM


class ConnectorUnreachable(ConnectorClientError):
    kind = TRANSIENT


class Unauthorized(ConnectorClientError):
    kind = CONFIG_ERROR


class ProtocolError(ConnectorClientError):
    kind = SYSTEM


class CertificateError(ConnectorClientError):
    """The connector's TLS certificate does not verify: the admin must fix trust, not retry."""

    kind = CONFIG_ERROR


class ConnectorBusy(ConnectorClientError):
    """HTTP 502/503/504: a proxy or the connector is temporarily unable to answer."""

    kind = TRANSIENT


class InvalidTarget(ConnectorClientError):
    """The URL or token cannot be sent at all (control characters, bad port): fix the input.

    Its message never holds the token: httpx's own "Illegal header value" text does.
    """

    kind = CONFIG_ERROR


TRANSIENT_ERRORS = (ConnectorUnreachable, ConnectorBusy)
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


class CallFailed(ConnectorClientError):
    """The connector answered with an error envelope where a payload was needed."""

    def __init__(self, message: str, response: Response):
        super().__init__(message)
        self.response = response

    @property
    def kind(self) -> str:  # type: ignore[override]
        return TRANSIENT if self.response.error_code == "timeout" else SYSTEM


class ConnectorClient:
    """Async client of one connector URL; use as `async with ConnectorClient(url) as c:`."""

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
    ) -> None:
        """`retries` re-tries transient failures of idempotent calls with doubling backoff;
        `ca_bundle` trusts a private CA (verification itself is never switched off)."""
        self.url = url.rstrip("/")
        self.label = label or self.url
        self._config_lookup = config_lookup
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
            base_url = httpx.URL(self.url + "/v1")
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
            verify=ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True,
        )

    async def __aenter__(self) -> ConnectorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing ----------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        guid: str | None = None,
        idempotent: bool = True,
    ) -> tuple[Response, Any]:
        response, data = await self._send(
            method, path, json=json, params=params, idempotent=idempotent
        )
        if (
            response.error_code == "unknown_connection"
            and guid is not None
            and self._config_lookup is not None
        ):
            # The connector forgot the GUID (restart, in-process host): re-send, retry once.
            config = await self._config_lookup(guid)
            if config is not None:
                saved, _ = await self._send(
                    "PUT", f"/connections/{guid}", json={"config": dict(config)}, params=None
                )
                if saved.ok:
                    response, data = await self._send(
                        method, path, json=json, params=params, idempotent=idempotent
                    )
        return response, data

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        idempotent: bool = True,
    ) -> tuple[Response, Any]:
        attempt = 0
        while True:
            try:
                return await self._attempt(method, path, json=json, params=params)
            except TRANSIENT_ERRORS:
                if not idempotent or attempt >= self._retries:
                    raise
            await asyncio.sleep(self._backoff * 2**attempt)
            attempt += 1

    async def _attempt(
        self, method: str, path: str, *, json: Any, params: Mapping[str, Any] | None
    ) -> tuple[Response, Any]:
        try:
            async with asyncio.timeout(self._deadline):
                answer, raw = await self._fetch(method, path, json=json, params=params)
        except (httpx.TimeoutException, TimeoutError) as exc:
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

    async def _data(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response, data = await self._request(method, path, **kwargs)
        if not response.ok:
            explanation = response.user_explanation or response.error_code
            raise CallFailed(f"{self.label}: {what} failed: {explanation}", response)
        return data

    def _shape_error(self, what: str, exc: Exception) -> ProtocolError:
        return ProtocolError(f"{self.label}: {what} answer has the wrong shape ({exc})")

    def _fields(self, data: Any, what: str) -> list[Field]:
        try:
            return [Field.from_dict(item) for item in data]
        except (TypeError, KeyError, ValueError) as exc:
            raise self._shape_error(what, exc) from exc

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
        data = await self._data("GET", "/info", "info")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise self._shape_error("info", TypeError("expected an object with an id"))
        version = data.get("protocol_version")
        if not is_supported_version(version):
            raise ProtocolError(
                f"{self.label}: speaks protocol version {version!r}; this host speaks "
                f"{PROTOCOL_VERSION}. Upgrade erpsync-host or use a matching connector."
            )
        return data

    async def config_fields(self) -> list[Field]:
        return self._fields(await self._data("GET", "/config-fields", "config fields"), "fields")

    async def test_config(self, config: Mapping[str, Any]) -> Response:
        response, _ = await self._request("POST", "/config/test", json={"config": dict(config)})
        return response

    async def save_connection(self, guid: str, config: Mapping[str, Any]) -> Response:
        response, _ = await self._request(
            "PUT", f"/connections/{guid}", json={"config": dict(config)}
        )
        return response

    async def test_connection(self, guid: str) -> Response:
        response, _ = await self._request("POST", f"/connections/{guid}/test", guid=guid)
        return response

    async def held_connections(self) -> list[str]:
        """GUIDs the connector holds config for (ours; a connector may answer not_supported)."""
        data = await self._data("GET", "/connections", "held connections")
        return self._strings(data, "held connections")

    async def delete_connection(self, guid: str) -> Response:
        response, _ = await self._request("DELETE", f"/connections/{guid}")
        return response

    async def actor_types(self, guid: str) -> list[str]:
        data = await self._data("GET", f"/connections/{guid}/actor-types", "actor types", guid=guid)
        return self._strings(data, "actor types")

    async def actor_fields(self, guid: str, actor_type: str) -> list[Field]:
        path = f"/connections/{guid}/actor-types/{actor_type}/fields"
        return self._fields(await self._data("GET", path, "actor fields", guid=guid), "fields")

    async def searchable_fields(self, guid: str, actor_type: str) -> list[str]:
        path = f"/connections/{guid}/actor-types/{actor_type}/searchable-fields"
        data = await self._data("GET", path, "searchable fields", guid=guid)
        return self._strings(data, "searchable fields")

    async def get_actors(
        self, guid: str, actor_type: str, erp_keys: Sequence[str], field_keys: Sequence[str] = ()
    ) -> list[Actor]:
        body = {"erp_keys": list(erp_keys), "field_keys": list(field_keys)}
        path = f"/connections/{guid}/actors/{actor_type}/get"
        data = await self._data("POST", path, "get actors", json=body, guid=guid)
        return self._actors(data, "get actors")

    async def search_actors(
        self, guid: str, actor_type: str, text: str = "", field_keys: Sequence[str] = ()
    ) -> list[Actor]:
        body = {"text": text, "field_keys": list(field_keys)}
        path = f"/connections/{guid}/actors/{actor_type}/search"
        data = await self._data("POST", path, "search", json=body, guid=guid)
        return self._actors(data, "search")

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
        path = f"/connections/{guid}/actors/{actor_type}/search-by-parent"
        data = await self._data("POST", path, "search by parent", json=body, guid=guid)
        return self._actors(data, "search by parent")

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
        path = f"/connections/{guid}/actors/{actor_type}/search-advanced"
        data = await self._data("POST", path, "advanced search", json=body, guid=guid)
        return self._actors(data, "advanced search")

    async def create_actor(self, guid: str, actor: Actor) -> Actor:
        path = f"/connections/{guid}/actors/{actor.actor_type}"
        data = await self._data(
            "POST",
            path,
            "create actor",
            json={"actor": actor.to_dict()},
            guid=guid,
            idempotent=False,  # a retry could create the actor twice
        )
        return self._actors([data], "create actor")[0]

    async def save_actors(self, guid: str, actors: Sequence[Actor]) -> list[Actor]:
        body = {"actors": [a.to_dict() for a in actors]}
        data = await self._data(
            "PUT", f"/connections/{guid}/actors", "save actors", json=body, guid=guid
        )
        return self._actors(data, "save actors")

    async def get_list(
        self, guid: str, list_name: str, keys: Sequence[str] | None = None
    ) -> dict[str, str]:
        params = {"keys": list(keys)} if keys is not None else None
        path = f"/connections/{guid}/lists/{list_name}"
        data = await self._data("GET", path, f"list {list_name}", params=params, guid=guid)
        try:
            return {str(item["key"]): str(item["text"]) for item in data}
        except (TypeError, KeyError) as exc:
            raise self._shape_error(f"list {list_name}", exc) from exc

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
        params = {"since": since, "cursor": cursor, "limit": limit, "fields": list(field_keys)}
        path = f"/connections/{guid}/actors/{actor_type}/changes"
        data = await self._data("GET", path, "changed since", params=params, guid=guid)
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
        page_size: int = 100,
    ) -> AsyncIterator[Actor]:
        """Every actor modified on or after `since`, following the cursor to the last page.

        The next page is asked for while this one is handed out, so the caller's work and
        the connector's overlap; a caller that stops early cancels that request.
        """

        def fetch(cursor: str) -> asyncio.Task[Page]:
            return asyncio.ensure_future(
                self.changes_page(
                    guid, actor_type, since, cursor=cursor, limit=page_size, field_keys=field_keys
                )
            )

        pending = fetch("")
        try:
            while True:
                page = await pending
                if page.cursor:
                    pending = fetch(page.cursor)
                for actor in page.actors:
                    yield actor
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
