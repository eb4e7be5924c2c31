"""Text that came from people or connectors, made fit to show on one line."""

from __future__ import annotations


def printable(text: str) -> str:
    """One printable line: a newline, escape code or other control character (C0, C1, DEL)
    and a format character (zero-width space, bidi override: Unicode category Cf) that came
    with a value (a name, a config key, a connector's explanation) is shown escaped, so an
    error can neither span lines, nor drive the terminal, nor hide or reorder what it says."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
