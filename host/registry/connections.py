"""ERP connections: their config (secret values sealed by the connector's declaration),
access lists, last test and the cache of what their connector offers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from host.registry import reader
from host.registry.directory import Directory
from host.registry.records import (
    EVERYONE,
    RESTRICTED,
    UNCHANGED,
    Conflict,
    ConnectionRecord,
    NotFound,
    now,
)


class Connections(Directory):
    """The connections of the registry and their access lists."""

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
        """Insert a tested connection and its access list in one transaction.

        `secret_keys` are the keys the connector declares secret (`host.protocol.scrub.
        secret_keys` of its fields): stored with the connection, they seal every later config
        of it too."""
        user_names, group_names = sorted(set(users)), sorted(set(groups))
        declared = sorted(set(secret_keys))
        plain, sealed, kept = self._seal(config, declared)
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
                    "secret_fields": json.dumps(declared),
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

    def _secret_fields(self, guid: str) -> set[str]:
        """The keys this connection seals: its connector's declaration when it was stored,
        and every key a stored config held sealed (rows older than that column)."""
        row = self.db.execute(
            "select secret_fields, secret_keys from connections where guid = ?", [guid]
        ).fetchone()
        if row is None:
            return set()
        return {str(k) for column in row for k in json.loads(column or "[]")}

    def _connection_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("connections").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def _record(
        self, row: Mapping[str, Any], access: list[Mapping[str, Any]] | None = None
    ) -> ConnectionRecord:
        """A connection from its row; `access` is its access rows when already fetched."""
        if access is None:
            access = list(reader.access_of(self.db.conn, row["guid"]))
        return reader.connection_record(row, access)

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
        return reader.connection_records(self.db.conn, visible_to)

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
        """Change a connection atomically; `expected_updated_at` refuses a lost update.

        A new `config` is sealed by the secret keys stored with the connection, plus any
        `secret_keys` given (a connector that declares a new password field): a key once
        secret is never written in clear, whatever the caller passes."""
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
                declared = sorted(self._secret_fields(guid).union(secret_keys))
                plain, sealed, kept = self._seal(config, declared)
                changes.update(
                    config=json.dumps(plain, sort_keys=True),
                    secrets=sealed,
                    secret_keys=json.dumps(kept),
                    secret_fields=json.dumps(declared),
                )
            if test_state is not UNCHANGED:
                secrets = (
                    self.connection_secrets(guid)
                    if config is UNCHANGED
                    else [str(config[k]) for k in kept]
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
