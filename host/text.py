"""Text from connectors and admins made safe to show, for every face (CLI and web).

A value shown to a human (a name, a connector's explanation, an audit line) becomes one
printable, bounded line: a newline, terminal escape or bidi override cannot span lines, drive
a terminal, or hide or reorder what an admin reads, and a long value cannot flood the screen
or push a page apart. Standard library only, so both `erpsync --help` and the web stay light.
Secrets are a separate concern: host.protocol.scrub.
"""

from __future__ import annotations

MAX_SHOWN_LENGTH = 200
"""A value printed for a human (a cell, a name, a connector's text) is cut after this many
characters, with a marker saying how many were left out."""


def printable(text: str) -> str:
    """One printable line: a newline, escape code or other control character (C0, C1, DEL)
    and a format character (zero-width space, bidi override: Unicode category Cf) that came
    with a value (a name, a config key, a connector's explanation) is shown escaped, so an
    error can neither span lines, nor drive the terminal, nor hide or reorder what it says."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def safe(value: object, limit: int = MAX_SHOWN_LENGTH) -> str:
    """`value` as it may be shown: cut after `limit` characters with a marker such as
    `…[+123 chars]`, then made one printable line (see `printable`).

    Every human output of a text that came from a connector or was typed by an admin (names,
    descriptions, explanations, labels, audit lines) goes through here; JSON output does not
    (json.dumps escapes control characters itself). `None` is shown as nothing, and a value
    already marked safe for HTML (Jinja's Markup, e.g. from `join`) as its plain text, so
    autoescape escapes it exactly once.
    """
    if value is None:
        return ""
    unescape = getattr(value, "unescape", None)
    text = str(unescape()) if callable(unescape) else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}…[+{len(text) - limit} chars]"
    return printable(text)
