"""Accounts of the web admin and their server-side sessions, kept in the registry.

A password is stored only as an argon2id hash (argon2-cffi, its default parameters). A session
is stored only as the SHA-256 of its id: a copy of the registry file signs nobody in. The CSRF
token of a session is derived from the session id, so it is not stored at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from host.registry import Conflict, NotFound, RegistryError, now

if TYPE_CHECKING:
    from host.registry import Registry

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024
"""Long enough to resist guessing; bounded so a megabyte 'password' cannot tie up argon2."""

SESSION_IDLE_SECONDS = 60 * 60
"""A session unused this long ends: an unattended browser does not stay signed in."""
SESSION_MAX_SECONDS = 12 * 60 * 60
"""A session ends this long after sign-in, however busy."""
TOUCH_EVERY_SECONDS = 60
"""`last_seen_at` is written at most this often, so reading a page rarely writes."""


class PasswordPolicyError(RegistryError):
    """The password given cannot be used; the message says why, never what it was."""


def check_password(password: str) -> str:
    """The password if it may be used, else PasswordPolicyError (the value is never shown)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise PasswordPolicyError(
            f"the password is {len(password)} characters long; at least {PASSWORD_MIN_LENGTH}"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise PasswordPolicyError(f"the password is longer than {PASSWORD_MAX_LENGTH} characters")
    if password != password.strip():
        raise PasswordPolicyError("the password starts or ends with white space")
    return password


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token_for(session_id: str) -> str:
    """The CSRF token of a session: an HMAC of the session id, so nothing more is stored."""
    return hmac.new(session_id.encode("utf-8"), b"erpsync-web-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Session:
    admin: str
    id_hash: str
    csrf_token: str
    expires_at: int


class AdminStore:
    """Admin accounts and sessions on an open registry; every change is audited."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.db = registry.db
        self._dummy_hash: str | None = None

    # --- accounts ----------------------------------------------------------------------

    def _row(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("admins").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def add(self, name: str, password: str) -> None:
        hashed = _hasher().hash(check_password(password))  # outside the write lock: ~50 ms
        stamp = now()
        with self.registry.transaction("admin.add", name):
            if self._row(name) is not None:
                raise Conflict(f"an admin named {name!r} already exists")
            self.db.table("admins").insert(
                {
                    "name": name,
                    "password_hash": hashed,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "last_login_at": None,
                }
            )

    def admins(self) -> list[dict[str, Any]]:
        """Names and times, never a hash."""
        return list(
            self.db.query(
                "select name, created_at, updated_at, last_login_at from admins order by name"
            )
        )

    def require(self, name: str) -> None:
        if self._row(name) is None:
            known = ", ".join(a["name"] for a in self.admins()[:10]) or "none yet"
            raise NotFound(f"no admin named {name!r} (known: {known})")

    def remove(self, name: str) -> None:
        """Remove an admin and end every session of theirs."""
        with self.registry.transaction("admin.remove", name):
            self.require(name)
            self.db.execute("delete from admin_sessions where admin = ?", [name])
            self.db.table("admins").delete(name)

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of this admin ends (signed in elsewhere too)."""
        hashed = _hasher().hash(check_password(password))
        with self.registry.transaction("admin.passwd", name):
            self.require(name)
            self.db.execute("delete from admin_sessions where admin = ?", [name])
            self.db.table("admins").update(name, {"password_hash": hashed, "updated_at": now()})

    def verify(self, name: str, password: str) -> bool:
        """True when `password` is `name`'s; an unknown name costs the same hashing time."""
        from argon2.exceptions import InvalidHashError, VerificationError

        hasher = _hasher()
        row = self._row(name)
        if row is None or len(password) > PASSWORD_MAX_LENGTH:
            if self._dummy_hash is None:
                self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))
            with contextlib.suppress(VerificationError):
                hasher.verify(self._dummy_hash, password[:PASSWORD_MAX_LENGTH])
            return False
        try:
            hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return False
        if hasher.check_needs_rehash(row["password_hash"]):
            with self.registry.transaction():
                self.db.table("admins").update(name, {"password_hash": hasher.hash(password)})
        return True

    # --- sessions ----------------------------------------------------------------------

    def start_session(self, name: str, client: str = "") -> str:
        """A new session for a verified admin; returns its id, which is stored nowhere."""
        session_id = secrets.token_urlsafe(32)
        stamp = int(time.time())
        with self.registry.transaction():
            self.require(name)
            self.db.execute("delete from admin_sessions where expires_at <= ?", [stamp])
            self.db.table("admin_sessions").insert(
                {
                    "id_hash": session_hash(session_id),
                    "admin": name,
                    "client": client[:100],
                    "created_at": stamp,
                    "last_seen_at": stamp,
                    "expires_at": stamp + SESSION_MAX_SECONDS,
                }
            )
            self.db.table("admins").update(name, {"last_login_at": now()})
            self.registry.audit("admin.login", name, f"from {client[:100]}" if client else "")
        return session_id

    def session(self, session_id: str) -> Session | None:
        """The live session of this id, or None (unknown, idle too long or expired)."""
        if not session_id or len(session_id) > 200:
            return None
        id_hash = session_hash(session_id)
        rows = list(self.db.table("admin_sessions").rows_where("id_hash = ?", [id_hash]))
        if not rows:
            return None
        row = rows[0]
        stamp = int(time.time())
        if stamp >= row["expires_at"] or stamp - row["last_seen_at"] >= SESSION_IDLE_SECONDS:
            with self.registry.transaction():
                self.db.execute("delete from admin_sessions where id_hash = ?", [id_hash])
            return None
        if stamp - row["last_seen_at"] >= TOUCH_EVERY_SECONDS:
            with self.registry.transaction():
                self.db.table("admin_sessions").update(id_hash, {"last_seen_at": stamp})
        return Session(row["admin"], id_hash, csrf_token_for(session_id), row["expires_at"])

    def end_session(self, session_id: str) -> None:
        """Sign out: the session row goes; audited under the admin's own name."""
        id_hash = session_hash(session_id)
        rows = list(self.db.table("admin_sessions").rows_where("id_hash = ?", [id_hash]))
        if not rows:
            return
        with self.registry.transaction():
            self.db.execute("delete from admin_sessions where id_hash = ?", [id_hash])
            self.registry.audit("admin.logout", rows[0]["admin"])

    def session_count(self, name: str) -> int:
        return int(self.db.table("admin_sessions").count_where("admin = ?", [name]))
