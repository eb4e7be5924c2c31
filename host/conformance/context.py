"""What the checks of one run share: the client, the connection values, and answers worth
asking for only once (config fields, actor types, a saved connection ...).

Each shared answer is fetched on first use and remembered with its outcome. The check that
owns an answer asks for it `strict` and fails with the connector's error; every other check
that merely needs it skips, naming what it needed and why that was not there, so one broken
operation is reported once, by name, instead of as a cascade.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from host.client import (
    CallFailed,
    ConnectorClient,
    ConnectorClientError,
    ConnectorUnreachable,
)
from host.conformance.model import (
    CheckFailed,
    CheckSkipped,
    Need,
    fail,
    not_applicable,
    skip,
)
from host.connector import Access, Actor, Field, FieldType, Response

if TYPE_CHECKING:
    import httpx

    from host.protocol.validation import ValidationReport

T = TypeVar("T")


def ends_run(exc: BaseException) -> bool:
    """A failure that makes every check meaningless (the connector cannot be reached or
    refuses the token, host.failures.FAILURES): the run stops and says so once."""
    return isinstance(exc, ConnectorClientError) and exc.ends_run


WRITE_PREFERENCE = ("customer", "supplier", "partner", "project", "person")
"""The actor type the write checks create in: a top-level one first (persons need a parent)."""

SAMPLE_TEXT = "erpsync conformance"


def fresh_guid() -> str:
    """A connection GUID nobody has used: every check that saves one starts from nothing."""
    return str(uuid.uuid4())


def describe(exc: BaseException) -> str:
    """One line about a failed call, as a check message shows it."""
    if isinstance(exc, CallFailed):
        return describe_response(exc.response)
    if isinstance(exc, CheckSkipped):
        return exc.reason
    if isinstance(exc, CheckFailed):
        return exc.message
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def describe_response(response: Response) -> str:
    """state, error_code and explanations of an envelope, never a config value."""
    parts = [response.state.value]
    if response.error_code:
        parts.append(f"error_code {response.error_code!r}")
    if response.user_explanation:
        parts.append(repr(response.user_explanation))
    if response.tech_explanation and not response.ok:
        parts.append(f"tech: {response.tech_explanation[:200]!r}")
    return ", ".join(parts)


def error_code_of(exc: BaseException) -> str:
    return exc.response.error_code if isinstance(exc, CallFailed) else ""


class Context:
    """State of one suite run against one connector URL."""

    def __init__(
        self,
        client: ConnectorClient,
        *,
        raw: httpx.AsyncClient | None = None,
        config: Mapping[str, Any] | None = None,
        write: bool = False,
    ) -> None:
        """`raw` sends deliberately malformed requests; by default the client's own HTTP
        client (same base URL, token and transport) is used."""
        self.client = client
        self.raw = raw if raw is not None else getattr(client, "_http", None)
        self.given: dict[str, Any] | None = dict(config) if config is not None else None
        self.write = write
        self.info: dict[str, Any] = {}
        self._memo: dict[Any, tuple[bool, Any]] = {}
        self._to_delete: list[str] = []
        self.last_request = ""
        """METHOD path of the request sent last: what a check that hangs was waiting for."""
        hooks = getattr(self.raw, "event_hooks", None)
        if isinstance(hooks, dict):
            hooks.setdefault("request", []).append(self._note_request)

    async def _note_request(self, request: httpx.Request) -> None:
        self.last_request = f"{request.method} {request.url.path}"

    # --- protocol 1.1 ----------------------------------------------------------------------

    @property
    def minor(self) -> int:
        """The connector's protocol minor version (0 for 1.0): 1.1 rules apply from 1."""
        from host.protocol import minor_version

        return minor_version(self.info.get("protocol_version"))

    @property
    def capabilities(self) -> dict[str, Any] | None:
        caps = self.info.get("capabilities")
        return caps if isinstance(caps, dict) else None

    def declares(self, name: str) -> bool | None:
        """Whether info's capabilities list the optional operation; None for 1.0."""
        caps = self.capabilities
        if caps is None or not isinstance(caps.get("operations"), list):
            return None
        return name in caps["operations"]

    def require_1_1(self, what: str) -> None:
        """Skip (naming `what`) for a 1.0 connector: the rule came with protocol 1.1."""
        if self.minor < 1:
            raise skip(f"{what} is a protocol 1.1 rule; the connector speaks 1.0")

    # --- remembering answers ---------------------------------------------------------------

    async def remember(self, key: Any, factory: Callable[[], Awaitable[T]], strict: bool) -> T:
        """`factory()`'s answer, asked once per run; `strict` re-raises its failure, otherwise a
        failure becomes a skip naming what was needed."""
        if key not in self._memo:
            try:
                self._memo[key] = (True, await factory())
            except Exception as exc:
                if ends_run(exc):
                    raise
                self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if ok:
            return value
        if strict or isinstance(value, CheckSkipped):
            raise value
        raise skip(f"needs {_what(key)}, which failed: {describe(value)}")

    # --- needs -------------------------------------------------------------------------------

    async def require(self, needs: frozenset[Need]) -> None:
        """Raise CheckSkipped naming the first need this run cannot meet."""
        if Need.WRITE in needs and not self.write:
            raise skip("read-only run: pass --write (or write = True) to create and save actors")
        if Need.CONFIG in needs or Need.CONNECTION in needs:
            await self.config()
        if Need.CONNECTION in needs:
            await self.connection()

    # --- config ------------------------------------------------------------------------------

    async def config_fields(self, *, strict: bool = False) -> list[Field]:
        return await self.remember("config_fields", self.client.config_fields, strict)

    async def config_report(self) -> ValidationReport:
        """The given values over the fields' defaults, checked as the host checks them."""
        from host.protocol.validation import validate_config
        from host.protocol.values import FieldValueError, default_value

        fields = await self.config_fields()
        merged: dict[str, Any] = {}
        for item in fields:
            if item.settable and item.default is not None:
                try:
                    merged[item.key] = default_value(item)
                except FieldValueError:
                    continue  # config_fields.defaults reports it
        merged.update(self.given or {})
        return validate_config(fields, merged)

    async def config(self) -> dict[str, Any]:
        """Complete, typed connection values, or a skip saying what is missing."""
        report = await self.config_report()
        if not report.ok:
            raise skip(
                "needs complete connection values (see config.complete): "
                + "; ".join(report.problems())
            )
        return report.values()

    async def connection(self) -> str:
        """The GUID of a connection saved with the run's values (deleted when the run ends)."""

        async def save() -> str:
            config = await self.config()
            guid = fresh_guid()
            response = await self.client.save_connection(guid, config)
            if not response.ok:
                raise skip(
                    f"needs a saved connection, but save connection answered "
                    f"{describe_response(response)}"
                )
            self._to_delete.append(guid)
            return guid

        return await self.remember("connection", save, strict=False)

    async def cleanup(self) -> None:
        """Delete the connections the run saved; best effort, the run's results stand."""
        for guid in self._to_delete:
            with contextlib.suppress(ConnectorClientError):
                await self.client.delete_connection(guid)
        self._to_delete.clear()

    # --- actor metadata ------------------------------------------------------------------------

    async def actor_types(self, *, strict: bool = False) -> list[str]:
        guid = await self.connection()
        return await self.remember("actor_types", lambda: self.client.actor_types(guid), strict)

    async def actor_fields(self, actor_type: str, *, strict: bool = False) -> list[Field]:
        guid = await self.connection()
        return await self.remember(
            ("actor_fields", actor_type),
            lambda: self.client.actor_fields(guid, actor_type),
            strict,
        )

    async def sample(self, actor_type: str) -> list[Actor]:
        """A few actors of the type, found with a blank search (blank text = all)."""
        guid = await self.connection()

        async def find() -> list[Actor]:
            return (await self.client.search_actors(guid, actor_type, ""))[:5]

        return await self.remember(("sample", actor_type), find, strict=False)

    # --- raw HTTP ------------------------------------------------------------------------------

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send on the raw client, bounded like the client's own calls (an in-process app has
        no network timeout): a hang raises ConnectorUnreachable caused by TimeoutError."""
        import asyncio

        import httpx

        assert self.raw is not None
        limit = float(getattr(self.client, "_deadline", 30.0))
        try:
            async with asyncio.timeout(limit):
                return await self.raw.send(request)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ConnectorUnreachable(
                f"no answer to {request.method} {request.url.path} within {limit:g} s"
            ) from exc

    async def raw_answer(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> tuple[int, Any, str]:
        """Send one request as it is: (HTTP status, JSON body or None, body text). `token`
        replaces the run's bearer token ("" sends none at all)."""
        if self.raw is None:
            raise skip("needs a raw HTTP client for this connector; none was given")
        request = self.raw.build_request(method, path, **kwargs)
        if token is not None:
            request.headers.pop("Authorization", None)
            if token:
                request.headers["Authorization"] = f"Bearer {token}"
        answer = await self._send(request)
        text = answer.text
        try:
            body = json.loads(answer.content)
        except ValueError:
            body = None
        return answer.status_code, body, text

    async def raw_json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """Send one request as it is, without the client's checks: (HTTP status, JSON body).

        A body that is not JSON fails the calling check.
        """
        if self.raw is None:
            raise skip("needs a raw HTTP client for this connector; none was given")
        if self.raw is None:
            raise skip("needs a raw HTTP client for this connector; none was given")
        answer = await self._send(self.raw.build_request(method, path, **kwargs))
        try:
            return answer.status_code, json.loads(answer.content)
        except ValueError:
            kind = answer.headers.get("content-type", "no content type")
            raise fail(
                f"{method} {path} answered HTTP {answer.status_code} with a body that is not JSON",
                expected="a JSON envelope",
                got=f"HTTP {answer.status_code}, {kind}: {answer.text[:80]!r}",
            ) from None

    # --- writing ---------------------------------------------------------------------------------

    async def created(self, *, strict: bool = False) -> tuple[Actor, Actor]:
        """(what was sent, what came back) of one actor created for the write checks."""

        async def create() -> tuple[Actor, Actor]:
            guid = await self.connection()
            types = await self.actor_types()
            actor_type = next((t for t in WRITE_PREFERENCE if t in types), None)
            if actor_type is None:
                raise skip("no actor type to create an actor in")
            fields = await self.actor_fields(actor_type)
            values: dict[str, Any] = {}
            for item in fields:
                if item.settable and item.access is Access.MANDATORY:
                    values[item.key] = await self.sample_value(guid, item)
            sent = Actor(actor_type, field_values=values)
            try:
                created = await self.client.create_actor(guid, sent)
            except CallFailed as exc:
                if exc.response.error_code == "not_supported":
                    if self.declares("create_actor") is False:
                        raise not_applicable(
                            "the connector declares no create actor (a read-only connector)"
                        ) from None
                    raise skip(
                        "the connector does not create actors (not_supported): a read-only "
                        "connector passes"
                    ) from None
                raise
            return sent, created

        return await self.remember("created", create, strict)

    async def sample_value(self, guid: str, item: Field) -> Any:
        """A plausible value for a field, to fill mandatory fields of a new actor."""
        kind = item.type
        if kind is FieldType.CHECKBOX:
            return True
        if kind is FieldType.INTEGER:
            return 1
        if kind is FieldType.DOUBLE:
            return 1.5
        if kind is FieldType.DATETIME:
            return "2026-01-31T12:00:00"
        if kind is FieldType.LIST:
            try:
                items = await self.client.get_list(guid, item.list_name)
            except CallFailed:
                return ""
            return next(iter(items), "")
        text = SAMPLE_TEXT
        return text[: item.max_length] if item.max_length else text


def _what(key: Any) -> str:
    names = {
        "config_fields": "the config fields",
        "connection": "a saved connection",
        "actor_types": "the actor types",
        "created": "an actor created by write.create",
    }
    if isinstance(key, tuple):
        kind, actor_type = key
        return {"actor_fields": f"the {actor_type} fields", "sample": f"{actor_type} actors"}.get(
            kind, f"{kind} of {actor_type}"
        )
    return names.get(key, str(key))
