"""One operation of the contract as a call: sent, the config re-sent if the connector forgot
it, checked against what the connector declared, scrubbed, and its payload decoded.

The contract's methods (host.client.contract, host.client.changes) are each a line or two
over these.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from host.connector import Actor, Field, Response
from host.failures import CallFailed, ConnectorClientError, ProtocolError
from host.protocol import operations as ops
from host.protocol.operations import Operation
from host.protocol.scrub import Scrubber

from .scrubbing import Scrubbing
from .transport import Paged, Transport

ConfigLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]


class Calls(Scrubbing, Transport):
    """The call plumbing shared by every operation; a base of ConnectorClient."""

    _config_lookup: ConfigLookup | None
    capabilities: dict[str, Any] | None

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
            exc.args = (self._scrub_message(str(exc), scrubber, what),)
            raise
        return scrubber.response(response, what), data, scrubber

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
