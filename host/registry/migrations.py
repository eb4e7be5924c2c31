"""The registry schema, as named, ordered sqlite-utils migrations. Never edit one that shipped."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("erpsync")


@migrations()
def m001_connectors_and_connections(db: Database) -> None:
    db.table("connectors").create(
        {
            "name": str,
            "url": str,
            "token": str,  # Fernet token of the bearer token, or null
            "created_at": str,
            "updated_at": str,
        },
        pk="name",
        not_null={"url", "created_at", "updated_at"},
    )
    db.table("connections").create(
        {
            "guid": str,
            "name": str,
            "connector": str,
            "scope": str,  # everyone | restricted
            "description": str,
            "config": str,  # JSON of non-secret values
            "secrets": str,  # Fernet token of the JSON of password values, or null
            "secret_keys": str,  # JSON list of the keys held in secrets (names are not secret)
            "active": int,
            "last_test_state": str,
            "last_test_message": str,
            "last_tested_at": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="guid",
        not_null={"name", "connector", "scope", "config", "active", "created_at", "updated_at"},
        defaults={"active": 0, "scope": "everyone", "description": ""},
        foreign_keys=[("connector", "connectors", "name")],
    )
    db.table("connections").create_index(["name"], unique=True)
    db.table("connection_access").create(
        {"connection": str, "kind": str, "principal": str},  # kind: user | group
        pk=("connection", "kind", "principal"),
        foreign_keys=[("connection", "connections", "guid")],
    )


@migrations()
def m002_users_groups_cache_audit(db: Database) -> None:
    db.table("users").create({"name": str, "created_at": str}, pk="name", not_null={"created_at"})
    db.table("groups").create({"name": str, "created_at": str}, pk="name", not_null={"created_at"})
    db.table("memberships").create(
        {"group_name": str, "user_name": str},
        pk=("group_name", "user_name"),
        foreign_keys=[("group_name", "groups", "name"), ("user_name", "users", "name")],
    )
    # What the connector said on the last save: actor types, their fields and searchable ones.
    db.table("actor_type_cache").create(
        {
            "connection": str,
            "actor_type": str,
            "fields": str,  # JSON list of field metadata
            "searchable": str,  # JSON list of field keys
            "fetched_at": str,
        },
        pk=("connection", "actor_type"),
        foreign_keys=[("connection", "connections", "guid")],
    )
    # Who did what, when; never a secret value.
    db.table("audit").create(
        {"id": int, "at": str, "who": str, "action": str, "target": str, "detail": str},
        pk="id",
        not_null={"at", "who", "action", "target"},
    )


@migrations()
def m003_connector_ca_bundle(db: Database) -> None:
    # A private CA to trust for this connector's TLS certificate (verification stays on).
    db.table("connectors").add_column("ca_bundle", str)


@migrations()
def m004_guid_journal(db: Database) -> None:
    # Every GUID this registry hands to a connector, written (and committed) before the
    # connector's save: `doctor --repair` deletes on a connector only GUIDs listed here and
    # not registered, never a GUID another registry (or another connector record) owns.
    # state: handed (sent, not yet registered) | registered | removed | deleted
    db.table("guid_journal").create(
        {
            "guid": str,
            "connector": str,  # the connector record's name when handed (names are not FKs:
            "url": str,  # the record may be renamed or removed later)
            "state": str,
            "pid": int,  # the process that handed it, to tell a running add from a crash
            "host": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="guid",
        not_null={"connector", "url", "state", "created_at", "updated_at"},
    )
    db.execute(
        "insert into guid_journal (guid, connector, url, state, created_at, updated_at) "
        "select c.guid, c.connector, k.url, 'registered', c.created_at, c.created_at "
        "from connections c join connectors k on k.name = c.connector"
    )


@migrations()
def sync_001_settings(db: Database) -> None:
    # Sync settings per connection and actor type (host/sync/settings.py); removing a
    # connection removes them (triggers, so the registry's own code needs no change).
    db.execute(
        "CREATE TABLE sync_types (connection TEXT NOT NULL, actor_type TEXT NOT NULL, "
        "enabled INTEGER NOT NULL DEFAULT 0, entity TEXT NOT NULL, create_in_erp INTEGER NOT "
        "NULL DEFAULT 0, PRIMARY KEY (connection, actor_type))"
    )
    db.execute(
        "CREATE TABLE sync_fields (connection TEXT NOT NULL, actor_type TEXT NOT NULL, "
        "erp_field TEXT NOT NULL, crm_field TEXT, direction TEXT NOT NULL DEFAULT '', "
        "in_search INTEGER NOT NULL DEFAULT 0, on_tab INTEGER NOT NULL DEFAULT 1, rank INTEGER "
        "NOT NULL DEFAULT 0, PRIMARY KEY (connection, actor_type, erp_field))"
    )
    db.execute(
        "CREATE TABLE sync_list_items (connection TEXT NOT NULL, erp_list TEXT NOT NULL, "
        "erp_item TEXT NOT NULL, crm_list TEXT NOT NULL, crm_item TEXT NOT NULL, "
        "PRIMARY KEY (connection, erp_list, erp_item))"
    )
    db.execute(
        "CREATE UNIQUE INDEX sync_list_items_one_to_one ON sync_list_items "
        "(connection, erp_list, crm_list, crm_item)"
    )
    db.execute(
        "CREATE TABLE sync_defaults (connection TEXT NOT NULL, actor_type TEXT NOT NULL, "
        "erp_field TEXT NOT NULL, value TEXT, ask INTEGER NOT NULL DEFAULT 0, mandatory INTEGER "
        "NOT NULL DEFAULT 0, PRIMARY KEY (connection, actor_type, erp_field))"
    )
    db.execute(
        "CREATE TABLE sync_schedule (connection TEXT PRIMARY KEY, priority INTEGER, "
        "interval_seconds INTEGER NOT NULL DEFAULT 300)"
    )
    tables = ("sync_types", "sync_fields", "sync_list_items", "sync_defaults", "sync_schedule")
    deletes = " ".join(f"DELETE FROM {t} WHERE connection = old.guid;" for t in tables)
    db.execute(
        f"CREATE TRIGGER sync_settings_follow AFTER DELETE ON connections BEGIN {deletes} END"
    )


@migrations()
def m_web_admins_and_sessions(db: Database) -> None:
    # Accounts of the web admin (`erpsync admins`): argon2id hashes, never a password.
    db.table("admins").create(
        {
            "name": str,
            "password_hash": str,
            "created_at": str,
            "updated_at": str,
            "last_login_at": str,
        },
        pk="name",
        not_null={"password_hash", "created_at", "updated_at"},
    )
    # Server-side sessions of `erpsync web`: only the SHA-256 of a session id is stored, so a
    # copy of this file signs nobody in. Times are Unix seconds.
    db.table("admin_sessions").create(
        {
            "id_hash": str,
            "admin": str,
            "client": str,
            "created_at": int,
            "last_seen_at": int,
            "expires_at": int,
        },
        pk="id_hash",
        not_null={"admin", "created_at", "last_seen_at", "expires_at"},
        foreign_keys=[("admin", "admins", "name")],
    )
    db.table("admin_sessions").create_index(["admin"])


@migrations()
def m_connection_secret_fields(db: Database) -> None:
    # The config keys a connection seals (its connector's password fields, JSON list), so a
    # later config is sealed by the connection's own schema, not by what a caller passes.
    # Older rows start from the keys they hold sealed.
    db.table("connections").add_column("secret_fields", str)
    db.execute("update connections set secret_fields = coalesce(secret_keys, '[]')")


@migrations()
def m005_app_versions(db: Database) -> None:
    # What a connection's config is known to fit (host/admin/upgrades.py): the app, its
    # distribution version, the connector and protocol versions and the config-field
    # declaration (JSON of the fields' to_dict, and a fingerprint of their semantic parts),
    # recorded when it passes its test and is saved, carried forward when an upgrade check
    # finds it unaffected. `config_version`: the connector version its stored values are in
    # (a partner's migrate_config runs once per step). `attention`: JSON list of the reasons
    # an upgrade broke it, or null. Connector records keep what was last seen, so a command
    # can tell cheaply that the installed app changed.
    versions = {
        "app": str,
        "app_distribution": str,
        "app_version": str,
        "connector_version": str,
        "protocol_version": str,
        "fields_fingerprint": str,
    }
    for column, kind in {
        **versions,
        "config_fields": str,
        "config_version": str,
        "attention": str,
    }.items():
        db.table("connections").add_column(column, kind)
    for column, kind in {**versions, "versions_seen_at": str}.items():
        db.table("connectors").add_column(column, kind)


@migrations()
def m006_secret_refs(db: Database) -> None:
    # Where `erpsync apply` took each secret from (host/admin/ascode): `{"env": NAME}` or
    # `{"file": PATH}` as the applied file wrote it, never a value. `erpsync export` writes
    # these back, so a file that names its own variables or files survives a round trip.
    # owner: "connector:<name>" (key "token") or "connection:<guid>" (key = the field).
    # Removing the owner removes its references (a connector's rename moves them: Registry).
    db.execute(
        "CREATE TABLE secret_refs (owner TEXT NOT NULL, key TEXT NOT NULL, ref TEXT NOT NULL, "
        "PRIMARY KEY (owner, key))"
    )
    db.execute(
        "CREATE TRIGGER secret_refs_connection_removed AFTER DELETE ON connections BEGIN "
        "DELETE FROM secret_refs WHERE owner = 'connection:' || old.guid; END"
    )
    db.execute(
        "CREATE TRIGGER secret_refs_connector_removed AFTER DELETE ON connectors BEGIN "
        "DELETE FROM secret_refs WHERE owner = 'connector:' || old.name; END"
    )
