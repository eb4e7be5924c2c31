"""The contract's operations as ConnectorClient methods: info, config and connections,
actor types and fields, reads, searches (every page, or one) and writes, lists.

The changes feed, paged or streamed, is host.client.changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from host.connector import Actor, Field, Page, Response, Restriction
from host.failures import CallFailed, ProtocolError
from host.protocol import PROTOCOL_VERSION, is_supported_version
from host.protocol import operations as ops
from host.protocol.operations import Operation
from host.protocol.scrub import secret_keys

from .calls import Calls
from .transport import Paged

INFO_IDENTIFIERS = ("id", "protocol_version")
"""Info values the admin side uses as identifiers: checked, not scrubbed."""


class Contract(Calls):
    """One method per operation of protocol v1 but the changes feed."""

    async def info(self) -> dict[str, Any]:
        """The connector's info; its texts (name, vendor, description ...) scrubbed."""
        data, scrubber = await self._scrubbed_data(ops.INFO, "info")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise self._shape_error("info", TypeError("expected an object with an id"))
        version = data.get("protocol_version")
        if not is_supported_version(version):
            error = ProtocolError(
                self._scrub_message(
                    f"{self.label}: speaks protocol version {version!r}; this host speaks "
                    f"{PROTOCOL_VERSION}. Upgrade erpsync-host or use a matching connector.",
                    scrubber,
                    "info",
                )
            )
            if isinstance(version, str):
                error.spoken_version = "".join(c for c in version[:32] if c.isprintable())
            raise error
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
