"""Names of connectors, connections, users, groups and admins: one rule for all of them."""

from __future__ import annotations

import unicodedata

from host.admin.errors import InvalidInput

MAX_NAME_LENGTH = 100
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format, surrogate, private-use and unassigned characters, line and paragraph
separators: none of them belongs in a name shown to people."""


def check_name(value: str, what: str) -> str:
    """A name, stripped and NFC-normalised; refused when empty, too long, or holding a control
    or format character.

    Names end up in tables, audit lines and access lists: a newline or escape code in one
    would forge or garble that output, and a zero-width or bidi character would make two
    names look the same. NFC makes "é" typed as one or two code points the same name.
    """
    name = unicodedata.normalize("NFC", value.strip())
    shown = repr(value if len(value) <= 60 else value[:60] + "...")
    if not name:
        raise InvalidInput(f"{what} name {shown} is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"{what} name {shown} is {len(name)} characters long; at most {MAX_NAME_LENGTH}"
        )
    bad = next((ch for ch in name if unicodedata.category(ch) in REFUSED_CATEGORIES), None)
    if bad is not None:
        if unicodedata.category(bad) == "Cf":  # invisible: name it by its code point
            raise InvalidInput(
                f"{what} name {shown} contains a format character (U+{ord(bad):04X})"
            )
        raise InvalidInput(f"{what} name {shown} contains a control character")
    return name
