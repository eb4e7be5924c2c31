"""Text from connectors and admins, made safe to show: printable, bounded, secret-free.

Jinja2's autoescape makes any text inert HTML; these helpers make it honest too: a control or
bidi-override character cannot reorder or hide what an admin reads, a long value cannot push
the page apart, and a connector that repeats a secret does not get it shown.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

ELLIPSIS = "…"
SECRET_REPEATED = "(message hidden: it repeated a password or token)"


def shown(value: Any, limit: int = 200) -> str:
    """`value` as one printable line of at most `limit` characters (cut with an ellipsis).

    Control and format characters (newlines, ESC, zero-width and bidi controls) are shown as
    escapes such as \\n or \\u202e.
    """
    if hasattr(value, "unescape"):  # Markup (from a filter such as join): back to plain text
        value = value.unescape()
    text = "" if value is None else str(value)
    if not text.isprintable():
        text = "".join(_escape(ch) for ch in text)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    return text


def _escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    if unicodedata.category(ch) == "Zs":  # no-break and other spaces read as spaces
        return " "
    return repr(ch)[1:-1] if ch in "\n\r\t" else f"\\u{ord(ch):04x}"


def without_secrets(text: str | None, secrets: Iterable[str | None]) -> str:
    """`text`, or a generic line when it holds any of `secrets` (of any length).

    Masking a secret inside the text would hint at it (or garble ordinary words when it is
    short); the whole text is replaced instead.
    """
    if not text:
        return ""
    for secret in secrets:
        if secret and secret in text:
            return SECRET_REPEATED
    return text
