"""Proof that a config passed its test: a signed digest of exactly the values tested.

*OK* in the connection dialog saves only values whose *Test ERP connection* passed in this
session. When a test passes, the server signs the canonical form of what was tested (the
connector, the connection edited, every config value after the local check, stored secrets
merged in) with a key of this process, bound to the session's CSRF token, and the page keeps
the signature in a hidden input. OK sends it back; the server signs the values posted the
same way and compares. A crafted POST of values that were never tested, or changed after the
test, or tested in another session, has no matching signature and is refused. The browser
never sees the values signed (the signature reveals nothing of a password in it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def canonical(connector: str, editing: str | None, config: Mapping[str, Any]) -> bytes:
    """The tested values as bytes that are the same however they were typed or ordered."""
    return json.dumps(
        {"connector": connector, "editing": editing, "config": dict(config)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    ).encode("utf-8")


def sign(key: bytes, session_token: str, values: bytes) -> str:
    """The signature the page keeps after a passed test."""
    return hmac.new(key, session_token.encode() + b"\x00" + values, hashlib.sha256).hexdigest()


def verify(key: bytes, session_token: str, values: bytes, signature: str) -> bool:
    """Whether `signature` is this session's signature of exactly `values`."""
    if not signature or len(signature) != 64:
        return False
    return hmac.compare_digest(sign(key, session_token, values), signature)
