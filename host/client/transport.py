"""The wire under ConnectorClient: one HTTP exchange, classified, bounded and retried.

Each attempt is held to the client's deadline and the overall one (host.deadline), its body
to the response cap; whatever goes wrong becomes one failure of host.failures, with a message
that says what to check and never repeats the token. Transient failures of idempotent calls
are retried with doubling backoff while the overall deadline leaves time.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
from collections.abc import Mapping
from typing import Any, NamedTuple

import httpx

from host.connector import Response, State
from host.deadline import current as current_deadline
from host.failures import (
    CertificateError,
    ConnectorBusy,
    ConnectorClientError,
    ConnectorUnreachable,
    InvalidTarget,
    ProtocolError,
    Unauthorized,
)
from host.protocol import PROTOCOL_VERSION
from host.protocol import operations as ops
from host.tokens import TOKEN_RULE, token_problem

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


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


class Paged(NamedTuple):
    """The payload of a search answer that carries a next_cursor (protocol v1.1)."""

    items: Any
    cursor: str


class Transport:
    """Sends a request and reads its protocol envelope; the base of ConnectorClient."""

    url: str
    label: str

    def _open_transport(
        self,
        *,
        token: str | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        retries: int,
        backoff: float,
        max_response_bytes: int,
        ca_bundle: str | None,
    ) -> None:
        """The HTTP client for `self.url`; a token or URL HTTP cannot carry fails here."""
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
        try:
            verify = tls_context(ca_bundle)
        except (OSError, ssl.SSLError) as exc:  # moved, unreadable or not PEM since it was set
            raise CertificateError(
                f"{self.label}: cannot use its CA bundle {ca_bundle} ({_reason(exc)}); set it "
                "again with erpsync connectors edit NAME --ca-bundle FILE"
            ) from None
        # No redirects: a bearer token must never follow a redirect to another host.
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            verify=verify,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

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


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):g} MiB" if count >= 1024 * 1024 else f"{count} bytes"


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
