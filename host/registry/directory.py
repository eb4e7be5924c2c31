"""Connectors (name, URL, token) and the users and groups a connection is shared with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from host.registry import reader
from host.registry.base import RegistryBase
from host.registry.records import (
    UNCHANGED,
    Conflict,
    ConnectorRecord,
    NotFound,
    normalise_url,
    now,
)


class Directory(RegistryBase):
    """Who and what connections refer to: connector records, users, groups, memberships."""

    # --- connectors --------------------------------------------------------------------
    @staticmethod
    def _connector_record(row: Mapping[str, Any]) -> ConnectorRecord:
        return reader.connector_record(row)

    def add_connector(
        self, name: str, url: str, token: str | None = None, ca_bundle: str | None = None
    ) -> ConnectorRecord:
        stamp = now()
        sealed = self.secrets.encrypt(token) if token else None
        with self.transaction("connector.add", name):
            if self._connector_row(name) is not None:
                raise Conflict(f"a connector named {name!r} already exists")
            self.db.table("connectors").insert(
                {
                    "name": name,
                    "url": url,
                    "token": sealed,
                    "ca_bundle": ca_bundle,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
        return self.connector(name)

    def connector(self, name: str) -> ConnectorRecord:
        row = self._connector_row(name)
        if row is None:
            known = ", ".join(c.name for c in self.connectors()) or "none yet"
            raise NotFound(f"no connector named {name!r} (known: {known})")
        return self._connector_record(row)

    def connector_token(self, name: str) -> str | None:
        row = self._connector_row(name)
        if row is None or not row["token"]:
            return None
        return self.secrets.decrypt(row["token"])

    def connectors(self) -> list[ConnectorRecord]:
        return reader.connector_records(self.db.conn)

    def connection_names_using(self, connector: str) -> list[str]:
        rows = self.db.table("connections").rows_where(
            "connector = ?", [connector], order_by="name", select="name"
        )
        return [r["name"] for r in rows]

    def update_connector(
        self,
        name: str,
        *,
        new_name: str = UNCHANGED,
        url: str = UNCHANGED,
        token: str | None = UNCHANGED,
        ca_bundle: str | None = UNCHANGED,
    ) -> ConnectorRecord:
        """Rename, move or re-token a connector; its connections follow a rename.

        The audit record names the columns that changed (never a value) and a rename."""
        with self.transaction():
            row = self._connector_row(name)
            if row is None:
                raise NotFound(f"no connector named {name!r}")
            changes: dict[str, Any] = {"updated_at": now()}
            changed: list[str] = []
            if url is not UNCHANGED:
                changes["url"] = url
            if token is not UNCHANGED:
                changes["token"] = self.secrets.encrypt(token) if token else None
                if token or row["token"]:  # a new token, or a cleared one
                    changed.append("token")
            if ca_bundle is not UNCHANGED:
                changes["ca_bundle"] = ca_bundle
            changed += [c for c in ("url", "ca_bundle") if c in changes and changes[c] != row[c]]
            detail = ", ".join(sorted(changed))
            target = name
            if new_name is not UNCHANGED and new_name != name:
                if self._connector_row(new_name) is not None:
                    raise Conflict(f"a connector named {new_name!r} already exists")
                self.db.table("connectors").insert({**row, **changes, "name": new_name})
                self.db.execute(
                    "update connections set connector = ? where connector = ?", [new_name, name]
                )
                self.db.execute(  # where `erpsync apply` took its token from (m006)
                    "update secret_refs set owner = ? where owner = ?",
                    [f"connector:{new_name}", f"connector:{name}"],
                )
                self.db.table("connectors").delete(name)
                target = new_name
                detail = "; ".join(filter(None, [detail, f"renamed {name} -> {new_name}"]))
            else:
                self.db.table("connectors").update(name, changes)
            self.audit("connector.edit", target, detail)
        return self.connector(target)

    def connectors_at(self, url: str, excluding: str | None = None) -> list[str]:
        """Names of the connector records whose URL is `url` once normalised: two records
        for one connector see each other's connections there."""
        wanted = normalise_url(url)
        return [
            c.name
            for c in self.connectors()
            if c.name != excluding and normalise_url(c.url) == wanted
        ]

    def remove_connector(self, name: str) -> None:
        with self.transaction("connector.remove", name):
            self.connector(name)
            using = self.connection_names_using(name)
            if using:
                raise Conflict(
                    f"connector {name!r} is used by connection{'s' if len(using) > 1 else ''} "
                    f"{', '.join(using)}; remove {'them' if len(using) > 1 else 'it'} first"
                )
            self.db.table("connectors").delete(name)

    # --- users and groups --------------------------------------------------------------

    def _add_principal(self, kind: str, name: str) -> None:
        """Add a user or group (`kind`), audited; a taken name is a Conflict."""
        with self.transaction(f"{kind}.add", name):
            if self.db.table(f"{kind}s").count_where("name = ?", [name]):
                raise Conflict(f"a {kind} named {name!r} already exists")
            self.db.table(f"{kind}s").insert({"name": name, "created_at": now()})

    def _remove_principal(self, kind: str, name: str) -> None:
        """Remove a user or group (`kind`) with its memberships and connection access."""
        with self.transaction(f"{kind}.remove", name):
            self._require(f"{kind}s", name, kind)
            self.db.execute(f"delete from memberships where {kind}_name = ?", [name])
            self.db.execute(
                "delete from connection_access where kind = ? and principal = ?", [kind, name]
            )
            self.db.table(f"{kind}s").delete(name)

    def add_user(self, name: str) -> None:
        self._add_principal("user", name)

    def remove_user(self, name: str) -> None:
        self._remove_principal("user", name)

    def users(self) -> list[dict[str, Any]]:
        rows = list(self.db.table("users").rows_where(order_by="name"))
        groups = self._groups_by_user()
        return [{**r, "groups": groups.get(r["name"], [])} for r in rows]

    def add_group(self, name: str) -> None:
        self._add_principal("group", name)

    def remove_group(self, name: str) -> None:
        self._remove_principal("group", name)

    def groups(self) -> list[dict[str, Any]]:
        rows = list(self.db.table("groups").rows_where(order_by="name"))
        members: dict[str, list[str]] = {}
        for m in self.db.table("memberships").rows_where(order_by="user_name"):
            members.setdefault(m["group_name"], []).append(m["user_name"])
        return [{**r, "members": members.get(r["name"], [])} for r in rows]

    def add_member(self, group: str, user: str) -> None:
        with self.transaction("group.add-member", f"{group}/{user}"):
            self._require("groups", group, "group")
            self._require("users", user, "user")
            self.db.table("memberships").insert(
                {"group_name": group, "user_name": user}, ignore=True
            )

    def remove_member(self, group: str, user: str) -> None:
        with self.transaction("group.remove-member", f"{group}/{user}"):
            self._require("groups", group, "group")
            count = self.db.table("memberships").count_where(
                "group_name = ? and user_name = ?", [group, user]
            )
            if not count:
                raise NotFound(f"user {user!r} is not a member of group {group!r}")
            self.db.execute(
                "delete from memberships where group_name = ? and user_name = ?", [group, user]
            )

    def _groups_by_user(self) -> dict[str, list[str]]:
        return reader.groups_by_user(self.db.conn)

    def check_principals(self, users: Iterable[str], groups: Iterable[str]) -> None:
        for user in users:
            self._require("users", user, "user")
        for group in groups:
            self._require("groups", group, "group")
