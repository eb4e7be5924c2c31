"""The admin side's registry: connectors, ERP connections, users and groups, in SQLite.

It knows nothing of HTTP. Every change runs in one `BEGIN IMMEDIATE` transaction together
with its audit record, so a failed or interrupted command leaves the old state or the new
one, never half, and two admins at once never lose an update.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from host.home import default_db_path, make_private_dir
from host.protocol.scrub import MASK
from host.registry.secrets import SecretBox

EVERYONE = "everyone"
RESTRICTED = "restricted"
UNCHANGED: Any = object()
"""Marks an argument of an update that keeps the stored value."""


class RegistryError(Exception):
    """An expected failure: the message is one line for the admin."""


class NotFound(RegistryError):
    pass


class RegistryMissing(RegistryError):
    """`Registry.open(create=False)` on a file that does not exist (a typo in --db?)."""


class Conflict(RegistryError):
    pass


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


_acting_admin: ContextVar[str | None] = ContextVar("erpsync_acting_admin", default=None)


@contextmanager
def acting_admin(who: str) -> Iterator[None]:
    """Changes made inside are audited as `who` (the web admin's signed-in admin), whatever
    ERPSYNC_ADMIN or the OS user say; a context variable, so concurrent requests never mix."""
    token = _acting_admin.set(who)
    try:
        yield
    finally:
        _acting_admin.reset(token)


def current_admin() -> str:
    """Who is acting, for the audit log: `acting_admin`, else ERPSYNC_ADMIN, else the OS user."""
    acting = _acting_admin.get()
    if acting:
        return acting
    explicit = os.environ.get("ERPSYNC_ADMIN")
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass
class ConnectorRecord:
    name: str
    url: str
    has_token: bool
    created_at: str
    updated_at: str = ""
    ca_bundle: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "token": MASK if self.has_token else None,
            "ca_bundle": self.ca_bundle,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class ConnectionRecord:
    guid: str
    name: str
    connector: str
    scope: str
    description: str
    config: dict[str, Any]
    secret_keys: list[str]
    active: bool
    last_test_state: str | None
    last_test_message: str | None
    last_tested_at: str | None
    created_at: str = ""
    updated_at: str = ""
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def last_test_passed(self) -> bool:
        return self.last_test_state in ("ok", "ok_with_info", "warning")

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape; secrets appear only as ****."""
        return {
            "guid": self.guid,
            "name": self.name,
            "connector": self.connector,
            "scope": self.scope,
            "users": list(self.users),
            "groups": list(self.groups),
            "description": self.description,
            "config": {**self.config, **{k: MASK for k in self.secret_keys}},
            "active": self.active,
            "last_test": {
                "state": self.last_test_state,
                "message": self.last_test_message,
                "at": self.last_tested_at,
            },
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class Registry:
    """Open with `Registry.open()`; the database and its schema are created on first use."""

    def __init__(
        self, path: Path, secret_box: SecretBox | None = None, *, in_memory: bool = False
    ) -> None:
        """`in_memory`: an empty registry that stands in for `path`, which is not created."""
        from sqlite_utils import Database

        from host.registry.migrations import migrations

        self.path = path
        self.in_memory = in_memory
        if not in_memory:
            make_private_dir(path.parent)
        if not in_memory and not path.exists():
            # Owner-only from the start; SQLite gives the -wal and -shm files the same mode.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = sqlite3.connect(":memory:" if in_memory else str(path), timeout=30.0)
        self.db = Database(conn)
        self.db.execute("PRAGMA busy_timeout=30000")
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        if migrations.pending(self.db):
            # Under the write lock, so two first-time commands never both create the schema.
            with self._immediate():
                migrations.apply(self.db)
        self.secrets = secret_box or SecretBox(path.parent, holds_secrets=self.holds_secrets)
        self._tokens: dict[str, str] = {}  # sealed token -> token, for scrubbing messages

    @classmethod
    def open(cls, db_path: str | Path | None = None, *, create: bool = True) -> Registry:
        """The registry at `db_path` (default: in the erpsync home), created on first use;
        with `create=False` a missing file raises RegistryMissing instead."""
        path = Path(db_path) if db_path else default_db_path()
        if not create and not path.exists():
            raise RegistryMissing(f"no registry at {path}")
        return cls(path)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        # IMMEDIATE takes the write lock up front: a reader never has to upgrade (and fail
        # with "database is locked") halfway through a change.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    @contextmanager
    def transaction(self, action: str | None = None, target: str = "") -> Iterator[None]:
        """One atomic change; with `action`, its audit record is part of the same change."""
        with self._immediate():
            yield
            if action:
                self.audit(action, target)

    # --- audit -------------------------------------------------------------------------

    def audit(self, action: str, target: str, detail: str = "") -> None:
        self.db.table("audit").insert(
            {
                "at": now(),
                "who": current_admin(),
                "action": action,
                "target": target,
                "detail": detail,
            }
        )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.query(
            "select at, who, action, target, detail from audit order by id desc limit ?", [limit]
        )
        return list(rows)

    # --- connectors --------------------------------------------------------------------

    def _connector_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("connectors").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    @staticmethod
    def _connector_record(row: Mapping[str, Any]) -> ConnectorRecord:
        return ConnectorRecord(
            row["name"],
            row["url"],
            bool(row["token"]),
            row["created_at"],
            row["updated_at"],
            row.get("ca_bundle"),
        )

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
        return [
            self._connector_record(r)
            for r in self.db.table("connectors").rows_where(order_by="name")
        ]

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

    def add_user(self, name: str) -> None:
        with self.transaction("user.add", name):
            if self.db.table("users").count_where("name = ?", [name]):
                raise Conflict(f"a user named {name!r} already exists")
            self.db.table("users").insert({"name": name, "created_at": now()})

    def remove_user(self, name: str) -> None:
        with self.transaction("user.remove", name):
            self._require("users", name, "user")
            self.db.execute("delete from memberships where user_name = ?", [name])
            self.db.execute(
                "delete from connection_access where kind = 'user' and principal = ?", [name]
            )
            self.db.table("users").delete(name)

    def users(self) -> list[dict[str, Any]]:
        rows = list(self.db.table("users").rows_where(order_by="name"))
        groups = self._groups_by_user()
        return [{**r, "groups": groups.get(r["name"], [])} for r in rows]

    def add_group(self, name: str) -> None:
        with self.transaction("group.add", name):
            if self.db.table("groups").count_where("name = ?", [name]):
                raise Conflict(f"a group named {name!r} already exists")
            self.db.table("groups").insert({"name": name, "created_at": now()})

    def remove_group(self, name: str) -> None:
        with self.transaction("group.remove", name):
            self._require("groups", name, "group")
            self.db.execute("delete from memberships where group_name = ?", [name])
            self.db.execute(
                "delete from connection_access where kind = 'group' and principal = ?", [name]
            )
            self.db.table("groups").delete(name)

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
        result: dict[str, list[str]] = {}
        for m in self.db.table("memberships").rows_where(order_by="group_name"):
            result.setdefault(m["user_name"], []).append(m["group_name"])
        return result

    def _require(self, table: str, name: str, what: str) -> None:
        if not self.db.table(table).count_where("name = ?", [name]):
            known = [r["name"] for r in self.db.table(table).rows_where(order_by="name")]
            shown = ", ".join(known[:10]) or "none yet"
            raise NotFound(f"no {what} named {name!r} (known: {shown})")

    # --- connections -------------------------------------------------------------------

    def add_connection(
        self,
        *,
        guid: str,
        name: str,
        connector: str,
        config: Mapping[str, Any],
        secret_keys: Iterable[str],
        description: str = "",
        users: Iterable[str] = (),
        groups: Iterable[str] = (),
        test_state: str | None = None,
        test_message: str | None = None,
    ) -> ConnectionRecord:
        """Insert a tested connection and its access list in one transaction."""
        user_names, group_names = sorted(set(users)), sorted(set(groups))
        plain, sealed, kept = self._seal(config, secret_keys)
        stamp = now()
        with self.transaction("connection.add", name):
            self.connector(connector)
            test_message = self._scrubbed_message(
                test_message, connector, [str(config[k]) for k in kept]
            )
            self.check_principals(user_names, group_names)
            if self._connection_row(name) is not None:
                raise Conflict(f"a connection named {name!r} already exists")
            self.db.table("connections").insert(
                {
                    "guid": guid,
                    "name": name,
                    "connector": connector,
                    "scope": RESTRICTED if user_names or group_names else EVERYONE,
                    "description": description,
                    "config": json.dumps(plain, sort_keys=True),
                    "secrets": sealed,
                    "secret_keys": json.dumps(kept),
                    "active": 0,
                    "last_test_state": test_state,
                    "last_test_message": test_message,
                    "last_tested_at": stamp if test_state else None,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            self._write_access(guid, user_names, group_names)
            self._journal(guid, connector, "registered")
        return self.connection(name)

    def check_principals(self, users: Iterable[str], groups: Iterable[str]) -> None:
        for user in users:
            self._require("users", user, "user")
        for group in groups:
            self._require("groups", group, "group")

    def _write_access(self, guid: str, users: list[str], groups: list[str]) -> None:
        self.db.execute("delete from connection_access where connection = ?", [guid])
        access = [{"connection": guid, "kind": "user", "principal": u} for u in users]
        access += [{"connection": guid, "kind": "group", "principal": g} for g in groups]
        if access:
            self.db.table("connection_access").insert_all(access)

    def _seal(
        self, config: Mapping[str, Any], secret_keys: Iterable[str]
    ) -> tuple[dict[str, Any], str | None, list[str]]:
        """Split config into plain JSON and one encrypted blob of the filled secret values."""
        secret = set(secret_keys)
        plain = {k: v for k, v in config.items() if k not in secret}
        hidden = {k: v for k, v in config.items() if k in secret and v not in (None, "")}
        sealed = self.secrets.encrypt(json.dumps(hidden, sort_keys=True)) if hidden else None
        return plain, sealed, sorted(hidden)

    def _connection_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("connections").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def _record(
        self, row: Mapping[str, Any], access: list[Mapping[str, Any]] | None = None
    ) -> ConnectionRecord:
        """A connection from its row; `access` is its access rows when already fetched."""
        if access is None:
            access = [
                {"kind": kind, "principal": principal}
                for kind, principal in self.db.execute(
                    "select kind, principal from connection_access where connection = ?",
                    [row["guid"]],
                )
            ]
        return ConnectionRecord(
            guid=row["guid"],
            name=row["name"],
            connector=row["connector"],
            scope=row["scope"],
            description=row["description"] or "",
            config=json.loads(row["config"]),
            secret_keys=json.loads(row["secret_keys"] or "[]"),
            active=bool(row["active"]),
            last_test_state=row["last_test_state"],
            last_test_message=row["last_test_message"],
            last_tested_at=row["last_tested_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            users=sorted(a["principal"] for a in access if a["kind"] == "user"),
            groups=sorted(a["principal"] for a in access if a["kind"] == "group"),
        )

    def connection(self, name: str) -> ConnectionRecord:
        row = self._connection_row(name)
        if row is None:
            raise NotFound(f"no connection named {name!r}")
        return self._record(row)

    def connection_by_guid(self, guid: str) -> ConnectionRecord | None:
        rows = list(self.db.table("connections").rows_where("guid = ?", [guid]))
        return self._record(rows[0]) if rows else None

    def connections(self, visible_to: str | None = None) -> list[ConnectionRecord]:
        """All connections, or those a user may use: everyone-scoped, named, or via a group."""
        # Two queries in all, not one per connection: 10,000 connections list in one go.
        access: dict[str, list[Mapping[str, Any]]] = {}
        for guid, kind, principal in self.db.execute(
            "select connection, kind, principal from connection_access"
        ).fetchall():
            access.setdefault(guid, []).append({"kind": kind, "principal": principal})
        records = [
            self._record(r, access.get(r["guid"], []))
            for r in self.db.table("connections").rows_where(order_by="name")
        ]
        if visible_to is None:
            return records
        self._require("users", visible_to, "user")
        groups = set(self._groups_by_user().get(visible_to, []))
        return [
            r
            for r in records
            if r.scope == EVERYONE or visible_to in r.users or groups.intersection(r.groups)
        ]

    def connection_config(self, guid: str, *, without_lost: bool = False) -> dict[str, Any] | None:
        """The full config, secrets decrypted: only ever sent to the connector itself.

        `without_lost` leaves out secrets the key cannot decrypt instead of raising
        SecretKeyError, so an edit can replace them (the admin re-enters them); a missing
        key still raises, as no new secret could be stored either."""
        from host.registry.secrets import MissingKeyError, SecretKeyError

        rows = list(self.db.table("connections").rows_where("guid = ?", [guid]))
        if not rows:
            return None
        config = json.loads(rows[0]["config"])
        if rows[0]["secrets"]:
            try:
                config.update(json.loads(self.secrets.decrypt(rows[0]["secrets"])))
            except SecretKeyError as exc:
                if not without_lost or isinstance(exc, MissingKeyError):
                    raise
        return dict(config)

    def connection_secrets(self, guid: str) -> list[str]:
        """The decrypted secret values of a connection: what its connector's answers about
        it are scrubbed of. (The connection's `secrets` column holds exactly those.)"""
        from host.registry.secrets import MissingKeyError, SecretKeyError

        rows = list(self.db.table("connections").rows_where("guid = ?", [guid]))
        if not rows or not rows[0]["secrets"]:
            return []
        try:
            hidden = json.loads(self.secrets.decrypt(rows[0]["secrets"]))
        except SecretKeyError as exc:
            if isinstance(exc, MissingKeyError):
                raise
            return []  # written with another key: unknown here, so nothing of it can be shown
        return [str(v) for v in hidden.values() if v not in (None, "")]

    def _scrubbed_message(
        self, message: str | None, connector: str, secrets: Iterable[str]
    ) -> str | None:
        """A last-test message as it may be stored: scrubbed of the connection's secrets and
        its connector's token, whoever composed it (defence in depth behind the client)."""
        if not message:
            return message
        from host.protocol.scrub import Scrubber

        row = self._connector_row(connector)
        sealed = row["token"] if row is not None else None
        if sealed and sealed not in self._tokens:
            self._tokens[sealed] = self.secrets.decrypt(sealed)
        scrubber = Scrubber([*secrets, self._tokens.get(sealed or "")])
        return scrubber.text(message, operation="the last test")

    def update_connection(
        self,
        guid: str,
        *,
        expected_updated_at: str | None = None,
        name: str = UNCHANGED,
        description: str = UNCHANGED,
        config: Mapping[str, Any] = UNCHANGED,
        secret_keys: Iterable[str] = (),
        users: Iterable[str] = UNCHANGED,
        groups: Iterable[str] = UNCHANGED,
        test_state: str | None = UNCHANGED,
        test_message: str | None = None,
    ) -> ConnectionRecord:
        """Change a connection atomically; `expected_updated_at` refuses a lost update."""
        with self.transaction():
            current = self.connection_by_guid(guid)
            if current is None:
                raise NotFound(f"no connection with GUID {guid}")
            if expected_updated_at is not None and current.updated_at != expected_updated_at:
                raise Conflict(
                    f"connection {current.name!r} was changed by someone else meanwhile; "
                    "run the command again"
                )
            changes: dict[str, Any] = {"updated_at": now()}
            if name is not UNCHANGED and name != current.name:
                if self._connection_row(name) is not None:
                    raise Conflict(f"a connection named {name!r} already exists")
                changes["name"] = name
            if description is not UNCHANGED:
                changes["description"] = description
            if config is not UNCHANGED:
                plain, sealed, kept = self._seal(config, secret_keys)
                changes.update(
                    config=json.dumps(plain, sort_keys=True),
                    secrets=sealed,
                    secret_keys=json.dumps(kept),
                )
            if test_state is not UNCHANGED:
                secrets = (
                    self.connection_secrets(guid)
                    if config is UNCHANGED
                    else [str(config[k]) for k in secret_keys if config.get(k) not in (None, "")]
                )
                changes.update(
                    last_test_state=test_state,
                    last_test_message=self._scrubbed_message(
                        test_message, current.connector, secrets
                    ),
                    last_tested_at=now() if test_state else None,
                )
            if users is not UNCHANGED or groups is not UNCHANGED:
                new_users = sorted(set(current.users if users is UNCHANGED else users))
                new_groups = sorted(set(current.groups if groups is UNCHANGED else groups))
                self.check_principals(new_users, new_groups)
                self._write_access(guid, new_users, new_groups)
                changes["scope"] = RESTRICTED if new_users or new_groups else EVERYONE
            self.db.table("connections").update(guid, changes)
            self.audit("connection.edit", current.name, ", ".join(sorted(changes)))
        record = self.connection_by_guid(guid)
        assert record is not None
        return record

    def set_active(self, guid: str, active: bool) -> None:
        with self.transaction():
            record = self.connection_by_guid(guid)
            if record is None:
                raise NotFound(f"no connection with GUID {guid}")
            self.db.table("connections").update(guid, {"active": int(active), "updated_at": now()})
            self.audit("connection.activate" if active else "connection.deactivate", record.name)

    def remove_connection(self, guid: str) -> None:
        with self.transaction():
            record = self.connection_by_guid(guid)
            if record is None:
                raise NotFound(f"no connection with GUID {guid}")
            self.db.execute("delete from connection_access where connection = ?", [guid])
            self.db.execute("delete from actor_type_cache where connection = ?", [guid])
            self.db.table("connections").delete(guid)
            self._journal(guid, record.connector, "removed")
            self.audit("connection.remove", record.name)

    def record_test(self, guid: str, state: str, message: str) -> None:
        with self.transaction():
            found = self.db.execute(
                "select connector from connections where guid = ?", [guid]
            ).fetchone()
            if found is not None and message:
                secrets = self.connection_secrets(guid)
                message = self._scrubbed_message(message, found[0], secrets) or ""
            self.db.table("connections").update(
                guid,
                {"last_test_state": state, "last_test_message": message, "last_tested_at": now()},
            )

    # --- cached actor types ------------------------------------------------------------

    def cache_actor_types(
        self, guid: str, types: Mapping[str, tuple[list[dict[str, Any]], list[str]]]
    ) -> None:
        """Replace the cache of what the connector offers: type -> (fields, searchable keys)."""
        stamp = now()
        with self.transaction():
            self.db.execute("delete from actor_type_cache where connection = ?", [guid])
            rows = [
                {
                    "connection": guid,
                    "actor_type": actor_type,
                    "fields": json.dumps(fields),
                    "searchable": json.dumps(searchable),
                    "fetched_at": stamp,
                }
                for actor_type, (fields, searchable) in types.items()
            ]
            if rows:
                self.db.table("actor_type_cache").insert_all(rows)

    def actor_types(self, guid: str) -> dict[str, dict[str, Any]]:
        rows = self.db.table("actor_type_cache").rows_where(
            "connection = ?", [guid], order_by="actor_type"
        )
        return {
            r["actor_type"]: {
                "fields": json.loads(r["fields"]),
                "searchable": json.loads(r["searchable"]),
                "fetched_at": r["fetched_at"],
            }
            for r in rows
        }

    # --- secrets -----------------------------------------------------------------------

    def holds_secrets(self) -> bool:
        """Whether any encrypted value is stored: then a missing key is never replaced."""
        return bool(
            self.db.execute(
                "select exists(select 1 from connectors where token is not null) "
                "or exists(select 1 from connections where secrets is not null)"
            ).fetchone()[0]
        )

    def undecryptable_secrets(self) -> list[tuple[str, str, str]]:
        """(kind, name, reason) of each record whose secret the key cannot decrypt."""
        from host.registry.secrets import SecretKeyError

        found = []
        for kind, column in (("connector", "token"), ("connection", "secrets")):
            for row in self.db.table(f"{kind}s").rows_where(
                f"{column} is not null", order_by="name"
            ):
                try:
                    self.secrets.decrypt(row[column])
                except SecretKeyError as exc:
                    found.append((kind, row["name"], str(exc)))
        return found

    def reset_secrets(self, kind: str | None = None, name: str | None = None) -> list[str]:
        """Drop the secrets the key cannot decrypt (of one connector or connection, or all),
        in one audited transaction, so the admin can re-enter them with `edit`.

        A connection that lost its secrets is deactivated and marked not tested: it must
        pass a new test before it is activated again. Returns what was dropped."""
        from host.registry.secrets import SecretKeyError

        dropped: list[str] = []
        with self.transaction():
            if kind == "connector" and name is not None:
                self.connector(name)
            if kind == "connection" and name is not None:
                self.connection(name)
            for table, column in (("connector", "token"), ("connection", "secrets")):
                if kind not in (None, table):
                    continue
                where, args = f"{column} is not null", []
                if name is not None:
                    where, args = where + " and name = ?", [name]
                for row in list(self.db.table(f"{table}s").rows_where(where, args)):
                    try:
                        self.secrets.decrypt(row[column])
                        continue
                    except SecretKeyError:
                        pass
                    if table == "connector":
                        self.db.table("connectors").update(
                            row["name"], {"token": None, "updated_at": now()}
                        )
                        detail = "token"
                    else:
                        keys = json.loads(row["secret_keys"] or "[]")
                        self.db.table("connections").update(
                            row["guid"],
                            {
                                "secrets": None,
                                "secret_keys": "[]",
                                "active": 0,
                                "last_test_state": None,
                                "last_test_message": None,
                                "last_tested_at": None,
                                "updated_at": now(),
                            },
                        )
                        detail = ", ".join(keys) + "; deactivated, not tested"
                    self.audit("secrets.reset", f"{table} {row['name']}", detail)
                    dropped.append(f"{table} {row['name']}")
        return dropped

    # --- GUID journal ------------------------------------------------------------------

    def journal_guid(self, guid: str, connector: ConnectorRecord) -> None:
        """Record, and commit, that this registry is about to hand `guid` to `connector`.

        Called before the connector's save: whatever happens next, `doctor` can tell a GUID
        this registry created and lost from one it never created (never to be deleted)."""
        import socket

        stamp = now()
        with self._immediate():
            self.db.table("guid_journal").insert(
                {
                    "guid": guid,
                    "connector": connector.name,
                    "url": connector.url,
                    "state": "handed",
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "created_at": stamp,
                    "updated_at": stamp,
                },
                replace=True,
            )

    def _journal(self, guid: str, connector: str, state: str) -> None:
        """Set a journal row's state (inside the caller's transaction), creating it if none."""
        stamp = now()
        updated = self.db.execute(
            "update guid_journal set state = ?, updated_at = ? where guid = ?", [state, stamp, guid]
        ).rowcount
        if not updated:
            row = self._connector_row(connector)
            self.db.table("guid_journal").insert(
                {
                    "guid": guid,
                    "connector": connector,
                    "url": row["url"] if row else "",
                    "state": state,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )

    def journal(self) -> dict[str, dict[str, Any]]:
        """Every journalled GUID -> its row."""
        return {r["guid"]: r for r in self.db.table("guid_journal").rows}

    def mark_journal(self, guid: str, state: str, action: str, target: str, detail: str) -> None:
        """Set a journal row's state together with an audit record (doctor's repairs)."""
        with self.transaction():
            self.db.execute(
                "update guid_journal set state = ?, updated_at = ? where guid = ?",
                [state, now(), guid],
            )
            self.audit(action, target, detail)

    def rotate_secrets(self, new_box: SecretBox) -> int:
        """Re-encrypt every secret with `new_box`'s key in one transaction; returns the count."""
        count = 0
        with self.transaction("secrets.rotate-key", "registry"):
            for row in list(self.db.table("connectors").rows_where("token is not null")):
                token = new_box.encrypt(self.secrets.decrypt(row["token"]))
                self.db.table("connectors").update(row["name"], {"token": token})
                count += 1
            for row in list(self.db.table("connections").rows_where("secrets is not null")):
                sealed = new_box.encrypt(self.secrets.decrypt(row["secrets"]))
                self.db.table("connections").update(row["guid"], {"secrets": sealed})
                count += 1
        return count


def normalise_url(url: str) -> str:
    """A URL as a connector is reached: scheme and host in lower case, no default port,
    no trailing slash. `app:` URLs are compared as they are."""
    from urllib.parse import urlsplit

    if url.startswith("app:"):
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}.get(scheme):
        host += f":{port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{host}{parts.path.rstrip('/')}{query}"
